using System.Text.Json;
using DbBackup.Cli.Tests.Support;
using DbBackup.TestSupport;
using Xunit;

namespace DbBackup.Cli.Tests.Cloud;

/// <summary>
/// <c>dbbackup</c> end to end with a <c>gs://</c> repository on the firebase-tools storage emulator
/// (tests/servers/start-gcs-emulator.sh): backup, <c>history --refresh</c> on a fresh catalog, verify, restore into a new
/// name, compare dumps. The credential (an access token; the emulator accepts any) reaches the child only through
/// GOOGLE_OAUTH_ACCESS_TOKEN and must never appear in its argv or output.
/// </summary>
[Trait("Storage", "Gcs")]
public sealed class GcsEndToEndTests : IAsyncLifetime
{
    private readonly Workspace _workspace = new();
    private readonly List<string> _databases = [];
    private readonly string _token = "ya29.e2e-secret-" + Guid.NewGuid().ToString("N");
    private readonly string _prefix = "e2e-" + Guid.NewGuid().ToString("N")[..12];

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        foreach (var name in _databases) await TestDatabases.DropPostgresAsync(name);
        _workspace.Dispose();
    }

    private static string Endpoint => TestServers.Require("DBBACKUP_TEST_GCS_ENDPOINT");

    private string Repository => $"gs://dbbackup-e2e/{_prefix}?endpoint={Endpoint}";

    private Dictionary<string, string?> Env(Dictionary<string, string?>? more = null)
    {
        var env = new Dictionary<string, string?>(more ?? []) { ["GOOGLE_OAUTH_ACCESS_TOKEN"] = _token, ["GOOGLE_APPLICATION_CREDENTIALS"] = null };
        return env;
    }

    private async Task<CliRun> RunAsync(string[] args, Dictionary<string, string?>? more = null)
    {
        await using var child = _workspace.Cli.Start(args, Env(more));
        var cmdline = await child.CommandLineAsync();
        Assert.DoesNotContain(_token, cmdline, StringComparison.Ordinal);
        child.Process.StandardInput.Close();
        var run = await child.WaitAsync(DbBackupCli.DefaultTimeout);
        Assert.DoesNotContain(_token, run.StandardOutput + run.StandardError, StringComparison.Ordinal);
        return run;
    }

    private async Task<string> BackupHistoryVerifyAsync(string[] source, Dictionary<string, string?>? env = null, params string[] historyFilter)
    {
        var backup = (await RunAsync(["backup", .. source, "--repository", Repository, "--output", "json"], env)).EnsureSuccess().Json();
        var id = backup.Str("backupId");
        Assert.True(backup.Long("size") > 0);

        var objects = await ListEmulatorAsync();
        Assert.Contains(objects, o => o.Contains(id, StringComparison.Ordinal) && o.Contains("/data.", StringComparison.Ordinal));

        var history = (await RunAsync(["history", "--repository", Repository, "--refresh", "--catalog", _workspace.FreshCatalog(), "--output", "json", .. historyFilter]))
            .EnsureSuccess().Json();
        Assert.Equal(id, Assert.Single(history.EnumerateArray()).Str("backupId"));

        var verify = (await RunAsync(["verify", "--repository", Repository, "--backup-id", id, "--output", "json"], env)).EnsureSuccess().Json();
        Assert.True(Assert.Single(verify.EnumerateArray()).GetProperty("isValid").GetBoolean());
        return id;
    }

    /// <summary>Object names under this test's prefix, straight from the emulator.</summary>
    private async Task<List<string>> ListEmulatorAsync()
    {
        using var http = new HttpClient();
        var json = await http.GetStringAsync($"{Endpoint}/storage/v1/b/dbbackup-e2e/o?prefix={_prefix}/&maxResults=1000");
        using var doc = JsonDocument.Parse(json);
        return doc.RootElement.TryGetProperty("items", out var items) ? items.EnumerateArray().Select(i => i.GetProperty("name").GetString()!).ToList() : [];
    }

    [Fact]
    public async Task Sqlite_backup_to_gs_history_refresh_verify_restore_dump_equal()
    {
        var source = _workspace.PathOf("source.db");
        await Fixtures.CreateSqliteAsync(source);
        var id = await BackupHistoryVerifyAsync(["--engine", "sqlite", "--database", source]);

        var target = _workspace.PathOf("restored.db");
        (await RunAsync(["restore", "--repository", Repository, "--backup-id", id, "--engine", "sqlite", "--target-database", target, "--output", "json"])).EnsureSuccess();
        var expected = await NativeDumps.SqliteAsync(source);
        DumpComparer.AssertEquivalent(DatabaseEngine.Sqlite, expected, await NativeDumps.SqliteAsync(target));
        (await ToolRunner.RunAsync("sqlite3", [target, "UPDATE customers SET balance = balance + 1 WHERE id = 42;"])).EnsureSuccess("sqlite3");
        Assert.False(DumpComparer.Compare(DatabaseEngine.Sqlite, expected, await NativeDumps.SqliteAsync(target)).Equal, "negative control");
    }

    [Fact]
    public async Task PostgreSql_backup_to_gs_history_refresh_restore_into_a_new_name_dump_equal()
    {
        var source = TestDatabases.UniqueName();
        _databases.Add(source);
        await TestDatabases.PgExecuteAsync("postgres", $"CREATE DATABASE \"{source}\"");
        await Fixtures.LoadPostgresAsync(source);
        var id = await BackupHistoryVerifyAsync(Servers.PgArgs(source), Servers.PgEnv(), "--database", source);

        var target = TestDatabases.UniqueName();
        _databases.Add(target);
        (await RunAsync(["restore", "--repository", Repository, "--backup-id", id, .. Servers.PgTargetArgs(target), "--output", "json"], Servers.PgEnv())).EnsureSuccess();
        var expected = await NativeDumps.PostgresAsync(source);
        DumpComparer.AssertEquivalent(DatabaseEngine.PostgreSql, expected, await NativeDumps.PostgresAsync(target));
        await TestDatabases.PgExecuteAsync(target, "UPDATE sales.orders SET ratio = -12345.678 WHERE id = (SELECT min(id) FROM sales.orders)");
        Assert.False(DumpComparer.Compare(DatabaseEngine.PostgreSql, expected, await NativeDumps.PostgresAsync(target)).Equal, "negative control");
    }

    [Fact]
    public async Task Missing_credentials_against_Google_Cloud_Storage_name_the_sources_tried()
    {
        var source = _workspace.PathOf("source.db");
        await Fixtures.CreateSqliteAsync(source);
        var closed = LocalEndpoints.ClosedPort();
        var run = await _workspace.Cli.RunAsync(["backup", "--engine", "sqlite", "--database", source, "--repository", $"gs://dbbackup-e2e/x?endpoint=https://127.0.0.1:{closed}", "--output", "json"],
            new Dictionary<string, string?>
            {
                ["GOOGLE_OAUTH_ACCESS_TOKEN"] = null, ["GOOGLE_APPLICATION_CREDENTIALS"] = null, ["STORAGE_EMULATOR_HOST"] = null,
                ["HOME"] = _workspace.PathOf("empty-home"), ["CLOUDSDK_CONFIG"] = null, ["GCE_METADATA_HOST"] = $"127.0.0.1:{closed}",
            });
        Steps.AssertFailed(run, run.ExitCode, "StorageCredentialsMissing");
        Assert.NotEqual(0, run.ExitCode);
        Assert.Contains("GOOGLE_APPLICATION_CREDENTIALS", run.StandardError, StringComparison.Ordinal);
    }
}
