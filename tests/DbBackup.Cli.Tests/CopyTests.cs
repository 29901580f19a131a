using System.Text.Json;
using DbBackup.Cli.Tests.Support;
using DbBackup.TestSupport;
using Xunit;

namespace DbBackup.Cli.Tests;

/// <summary>
/// Several targets per backup and <c>dbbackup copy</c>, end to end through the child process with SQLite databases and
/// local repositories (the cloud adapters are further targets of the same operation).
/// </summary>
[Trait("Engine", "Sqlite")]
public sealed class CopyTests : IDisposable
{
    private readonly Workspace _workspace = new();

    public void Dispose() => _workspace.Dispose();

    private async Task<string> CreateSourceAsync()
    {
        var path = _workspace.PathOf("source.db");
        await Fixtures.CreateSqliteAsync(path);
        return path;
    }

    private static string[] Source(string path) => ["--engine", "sqlite", "--database", path];

    private static List<JsonElement> Copies(JsonElement json) => json.GetProperty("copies").EnumerateArray().ToList();

    [Fact]
    public async Task Backup_with_two_copy_targets_then_history_refresh_and_restore_from_a_copy()
    {
        var source = await CreateSourceAsync();
        var (b, c) = (_workspace.PathOf("copy-b"), _workspace.PathOf("copy-c"));

        var run = await _workspace.Cli.RunAsync(["backup", .. Source(source), "--repository", _workspace.Repository, "--copy-to", b, "--copy-to", c, "--output", "json"]);

        var json = run.EnsureSuccess().Json();
        var id = json.GetProperty("backup").Str("backupId");
        Assert.True(json.GetProperty("allSucceeded").GetBoolean());
        var copies = Copies(json);
        Assert.Equal([b, c], copies.Select(x => x.Str("target")));
        Assert.All(copies, x =>
        {
            Assert.True(x.GetProperty("succeeded").GetBoolean(), run.ToString());
            Assert.True(x.GetProperty("verified").GetBoolean());
            Assert.Equal(id, x.Str("backupId"));
        });

        var history = (await _workspace.Cli.RunAsync(["history", "--repository", c, "--refresh", "--catalog", _workspace.FreshCatalog(), "--output", "json"])).EnsureSuccess().Json();
        Assert.Equal(id, Assert.Single(history.EnumerateArray()).Str("backupId"));

        var target = _workspace.PathOf("restored.db");
        var restore = await _workspace.Cli.RunAsync(["restore", "--repository", c, "--backup-id", id, "--target-database", target, "--catalog", _workspace.FreshCatalog(), "--output", "json"]);
        restore.EnsureSuccess();
        DumpComparer.AssertEquivalent(DatabaseEngine.Sqlite, await NativeDumps.SqliteAsync(source), await NativeDumps.SqliteAsync(target));
    }

    [Fact]
    public async Task An_unwritable_target_gives_the_partial_success_exit_code_and_the_other_target_is_fine()
    {
        var source = await CreateSourceAsync();
        var unwritable = _workspace.PathOf("a-file");
        await File.WriteAllTextAsync(unwritable, "not a repository");
        var good = _workspace.PathOf("good");

        var run = await _workspace.Cli.RunAsync(["backup", .. Source(source), "--repository", _workspace.Repository, "--copy-to", unwritable, "--copy-to", good, "--output", "json"]);

        Assert.True(run.ExitCode == ExitCodes.PartialSuccess, run.ToString());
        var json = run.Json();
        Assert.False(json.GetProperty("allSucceeded").GetBoolean());
        var copies = Copies(json);
        Assert.False(copies[0].GetProperty("succeeded").GetBoolean());
        Assert.False(string.IsNullOrEmpty(copies[0].Str("errorId")));
        Assert.True(copies[1].GetProperty("succeeded").GetBoolean(), run.ToString());
        var error = Assert.Single(run.ErrorLines, l => l.StartsWith("dbbackup: error ", StringComparison.Ordinal));
        Assert.Contains(unwritable, error, StringComparison.Ordinal);

        var id = json.GetProperty("backup").Str("backupId");
        var verify = await _workspace.Cli.RunAsync(["verify", "--repository", good, "--backup-id", id, "--output", "json"]);
        Assert.True(Assert.Single(verify.EnsureSuccess().Json().EnumerateArray()).GetProperty("isValid").GetBoolean());
    }

    [Fact]
    public async Task Copy_command_copies_once_and_a_second_run_sends_nothing_again()
    {
        var source = await CreateSourceAsync();
        var id = (await Steps.BackupAsync(_workspace, Source(source))).Str("backupId");
        var target = _workspace.PathOf("later");

        var first = Assert.Single((await _workspace.Cli.RunAsync(["copy", "--backup-id", id, "--from", _workspace.Repository, "--to", target, "--output", "json"])).EnsureSuccess().Json().EnumerateArray());
        Assert.True(first.GetProperty("succeeded").GetBoolean());
        Assert.True(first.GetProperty("objectsCopied").GetInt32() >= 2);

        var second = await _workspace.Cli.RunAsync(["copy", "--backup-id", id, "--from", _workspace.Repository, "--to", target, "--no-verify", "--output", "table"]);
        second.EnsureSuccess();
        var row = second.StandardOutput.Split('\n').Single(l => l.StartsWith(target, StringComparison.Ordinal));
        Assert.Matches(@"copied\s+no\s+0\s+[1-9]", row); // Status, Verified, Copied 0, Skipped n
    }

    [Fact]
    public async Task Copying_a_damaged_backup_fails_with_the_integrity_exit_code_and_leaves_the_target_without_it()
    {
        var source = await CreateSourceAsync();
        var id = (await Steps.BackupAsync(_workspace, Source(source))).Str("backupId");
        Steps.FlipByte(_workspace.DataVolumes(id)[0]);
        var target = _workspace.PathOf("from-damaged");

        var run = await _workspace.Cli.RunAsync(["copy", "--backup-id", id, "--from", _workspace.Repository, "--to", target, "--output", "json"]);

        Steps.AssertFailed(run, ExitCodes.Integrity, "BackupCorrupted");
        Assert.False(Assert.Single(run.Json().EnumerateArray()).GetProperty("succeeded").GetBoolean());
        Assert.Empty(Directory.Exists(target) ? Directory.GetFiles(target, "manifest.json", SearchOption.AllDirectories) : []);
    }

    [Fact]
    public async Task Copy_of_an_unknown_backup_id_is_not_found()
    {
        var source = await CreateSourceAsync();
        await Steps.BackupAsync(_workspace, Source(source));
        var run = await _workspace.Cli.RunAsync(["copy", "--backup-id", "20200101T000000Z-000000", "--from", _workspace.Repository, "--to", _workspace.PathOf("x"), "--output", "json"]);
        Steps.AssertFailed(run, ExitCodes.NotFound, "BackupNotFound");
    }
}
