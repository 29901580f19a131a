using System.Text.Json;
using Xunit;

namespace DbBackup.Cli.Tests.Support;

/// <summary>The CLI steps every end-to-end test repeats, each asserting its own success and JSON result.</summary>
public static class Steps
{
    /// <summary>Runs <c>backup ... --output json</c> and returns the BackupRecord JSON.</summary>
    public static async Task<JsonElement> BackupAsync(Workspace workspace, string[] source, IReadOnlyDictionary<string, string?>? env = null, params string[] extra)
    {
        var run = await workspace.Cli.RunAsync(
            ["backup", .. source, "--repository", workspace.Repository, "--output", "json", .. extra], env);
        var record = run.EnsureSuccess().Json();
        Assert.False(string.IsNullOrEmpty(record.Str("backupId")), run.ToString());
        Assert.True(record.Long("size") > 0, run.ToString());
        return record;
    }

    /// <summary><c>history --refresh</c> against a catalog that has never been used; returns the records.</summary>
    public static async Task<IReadOnlyList<JsonElement>> HistoryFreshAsync(Workspace workspace, params string[] extra)
    {
        var run = await workspace.Cli.RunAsync(
            ["history", "--repository", workspace.Repository, "--refresh", "--catalog", workspace.FreshCatalog(), "--output", "json", .. extra]);
        var json = run.EnsureSuccess().Json();
        Assert.Equal(JsonValueKind.Array, json.ValueKind);
        return json.EnumerateArray().ToList();
    }

    /// <summary><c>verify --backup-id</c>; asserts exit 0 and one valid result with every frame checked.</summary>
    public static async Task VerifyValidAsync(Workspace workspace, string backupId, IReadOnlyDictionary<string, string?>? env = null, params string[] extra)
    {
        var run = await workspace.Cli.RunAsync(
            ["verify", "--repository", workspace.Repository, "--backup-id", backupId, "--output", "json", .. extra], env);
        var result = Assert.Single(run.EnsureSuccess().Json().EnumerateArray());
        Assert.True(result.GetProperty("isValid").GetBoolean(), run.ToString());
        Assert.Equal(result.GetProperty("frameCount").GetInt32(), result.GetProperty("framesChecked").GetInt32());
    }

    /// <summary>Runs <c>restore</c> and returns the run (not asserted).</summary>
    public static Task<CliRun> RestoreAsync(Workspace workspace, string backupId, string[] target, IReadOnlyDictionary<string, string?>? env = null, params string[] extra)
        => workspace.Cli.RunAsync(["restore", "--repository", workspace.Repository, "--backup-id", backupId, .. target, "--output", "json", .. extra], env);

    /// <summary>Asserts a failed run: exit code, exactly one error line with the error id.</summary>
    public static void AssertFailed(CliRun run, int exitCode, params string[] errorIds)
    {
        Assert.True(run.ExitCode == exitCode, $"expected exit {exitCode} ({string.Join('|', errorIds)}): {run}");
        var line = Assert.Single(run.ErrorLines);
        Assert.True(errorIds.Any(id => line.StartsWith($"dbbackup: error {id}: ", StringComparison.Ordinal)),
            $"expected error {string.Join('|', errorIds)}: {line}");
    }

    /// <summary>
    /// What a modified volume of an encrypted backup is reported as: the stored-bytes hash in the (authenticated)
    /// frame index catches it first (BackupCorrupted); AES-GCM authentication would report BackupTampered.
    /// </summary>
    public static readonly string[] EncryptedIntegrityIds = ["BackupCorrupted", "BackupTampered"];

    public static void FlipByte(string path, long? offset = null)
    {
        using var file = new FileStream(path, FileMode.Open, FileAccess.ReadWrite);
        file.Position = offset ?? file.Length / 2;
        var value = file.ReadByte();
        file.Position--;
        file.WriteByte((byte)(value ^ 0x40));
    }
}
