using DbBackup.Cli.Tests.Support;
using DbBackup.Engine;
using DbBackup.Engine.Storage;
using DbBackup.Engine.Storage.Azure;
using DbBackup.TestSupport;
using Xunit;

namespace DbBackup.Cli.Tests.Cloud;

/// <summary>
/// `dbbackup` with an az:// repository on the Azurite of tests/run-tests.sh: backup, history --refresh on a fresh
/// catalog, verify, restore into a new name, compare. The account key reaches the child only as AZURE_STORAGE_KEY.
/// </summary>
[Trait("Storage", "Azure")]
public sealed class AzureEndToEndTests : IAsyncLifetime
{
    private readonly Workspace _workspace = new();
    private readonly List<string> _databases = [];
    private readonly string _key = TestServers.Require("DBBACKUP_TEST_AZURE_KEY");
    private readonly string _account = TestServers.Require("DBBACKUP_TEST_AZURE_ACCOUNT");
    private readonly string _endpoint = TestServers.Require("DBBACKUP_TEST_AZURE_ENDPOINT");
    private readonly string _container = "e2e-" + Guid.NewGuid().ToString("N")[..20];

    private string Repository(string container) => $"az://{_account}/{container}/cli-{Guid.NewGuid().ToString("N")[..8]}?endpoint={_endpoint}";

    private Dictionary<string, string?> AzureEnv(string key) => new()
    {
        ["AZURE_STORAGE_KEY"] = key,
        ["AZURE_STORAGE_CONNECTION_STRING"] = null,
        ["AZURE_STORAGE_SAS_TOKEN"] = null,
        ["AZURE_CLIENT_SECRET"] = null,
        ["IDENTITY_ENDPOINT"] = null,
    };

    private AzureBlobClient Admin() => AzureBlobClient.Create(AzureBlobLocation.Parse(new Uri($"az://{_account}/{_container}?endpoint={_endpoint}")),
        new StorageOptions { Environment = _ => null, Azure = new AzureBlobSettings { AccountKey = new SecretValue(_key), UseImds = false } });

    public Task InitializeAsync() => Admin().CreateContainerAsync(CancellationToken.None);

    public async Task DisposeAsync()
    {
        await Admin().DeleteContainerAsync(CancellationToken.None);
        foreach (var name in _databases) await TestDatabases.DropPostgresAsync(name);
        _workspace.Dispose();
    }

    private async Task<CliRun> RunAsync(string[] arguments, Dictionary<string, string?> env)
    {
        await using var child = _workspace.Cli.Start(arguments, env);
        var cmdline = await child.CommandLineAsync();
        Assert.DoesNotContain(_key, cmdline, StringComparison.Ordinal);
        child.Process.StandardInput.Close();
        var run = await child.WaitAsync(DbBackupCli.DefaultTimeout);
        Assert.DoesNotContain(_key, run.StandardOutput + run.StandardError, StringComparison.Ordinal);
        return run;
    }

    private async Task<string> BackupAndFindAsync(string repository, string[] source, Dictionary<string, string?> env)
    {
        var backup = (await RunAsync(["backup", .. source, "--repository", repository, "--output", "json"], env)).EnsureSuccess().Json();
        var id = backup.Str("backupId");
        Assert.StartsWith($"az://{_account}/", backup.Str("repository"));

        // A catalog that has never seen this repository finds the backup in the container.
        var history = (await RunAsync(["history", "--repository", repository, "--refresh", "--catalog", _workspace.FreshCatalog(), "--output", "json"], env)).EnsureSuccess().Json();
        Assert.Equal(id, Assert.Single(history.EnumerateArray()).Str("backupId"));

        var verify = (await RunAsync(["verify", "--repository", repository, "--backup-id", id, "--output", "json"], env)).EnsureSuccess().Json();
        Assert.True(Assert.Single(verify.EnumerateArray()).GetProperty("isValid").GetBoolean());
        return id;
    }

    [Fact]
    public async Task Sqlite_backup_to_az_repository_restores_equal()
    {
        var source = _workspace.PathOf("source.db");
        await Fixtures.CreateSqliteAsync(source);
        var repository = Repository(_container);
        var env = AzureEnv(_key);
        var id = await BackupAndFindAsync(repository, ["--engine", "sqlite", "--database", source], env);

        var target = _workspace.PathOf("restored.db");
        (await RunAsync(["restore", "--repository", repository, "--backup-id", id, "--engine", "sqlite", "--target-database", target, "--output", "json"], env)).EnsureSuccess();
        var expected = await NativeDumps.SqliteAsync(source);
        DumpComparer.AssertEquivalent(DatabaseEngine.Sqlite, expected, await NativeDumps.SqliteAsync(target));
        (await ToolRunner.RunAsync("sqlite3", [target, "UPDATE customers SET balance = balance + 1 WHERE id = 42;"])).EnsureSuccess("sqlite3");
        Assert.False(DumpComparer.Compare(DatabaseEngine.Sqlite, expected, await NativeDumps.SqliteAsync(target)).Equal, "negative control");
    }

    [Fact]
    public async Task PostgreSql_backup_to_az_repository_restores_equal()
    {
        var source = TestDatabases.UniqueName();
        _databases.Add(source);
        await TestDatabases.PgExecuteAsync("postgres", $"CREATE DATABASE \"{source}\"");
        await Fixtures.LoadPostgresAsync(source);
        var repository = Repository(_container);
        var env = AzureEnv(_key);
        foreach (var (k, v) in Servers.PgEnv()) env[k] = v;
        var id = await BackupAndFindAsync(repository, Servers.PgArgs(source), env);

        var target = TestDatabases.UniqueName();
        _databases.Add(target);
        (await RunAsync(["restore", "--repository", repository, "--backup-id", id, .. Servers.PgTargetArgs(target), "--output", "json"], env)).EnsureSuccess();
        var expected = await NativeDumps.PostgresAsync(source);
        DumpComparer.AssertEquivalent(DatabaseEngine.PostgreSql, expected, await NativeDumps.PostgresAsync(target));
        await TestDatabases.PgExecuteAsync(target, "UPDATE sales.orders SET ratio = -12345.678 WHERE id = (SELECT min(id) FROM sales.orders)");
        Assert.False(DumpComparer.Compare(DatabaseEngine.PostgreSql, expected, await NativeDumps.PostgresAsync(target)).Equal, "negative control");
    }

    [Fact]
    public async Task A_wrong_account_key_fails_with_StorageAuthenticationFailed_and_leaves_no_secret_in_output()
    {
        var source = _workspace.PathOf("source.db");
        await Fixtures.CreateSqliteAsync(source);
        const string wrongKey = "V3JvbmdLZXlXcm9uZ0tleVdyb25nS2V5V3JvbmdLZXlXcm9uZ0tleVdyb25nS2V5V3Jvbmc=";
        var run = await RunAsync(["backup", "--engine", "sqlite", "--database", source, "--repository", Repository(_container), "--output", "json"], AzureEnv(wrongKey));
        Steps.AssertFailed(run, 3, "StorageAuthenticationFailed");
        Assert.DoesNotContain(wrongKey, run.StandardOutput + run.StandardError);
        Assert.Contains("AZURE_STORAGE_KEY", run.StandardError);
    }

    [Fact]
    public async Task A_missing_container_or_missing_credentials_fail_with_their_error_ids()
    {
        var source = _workspace.PathOf("source.db");
        await Fixtures.CreateSqliteAsync(source);
        var missing = await RunAsync(["backup", "--engine", "sqlite", "--database", source, "--repository", Repository("no-such-container-" + Guid.NewGuid().ToString("N")[..6]), "--output", "json"], AzureEnv(_key));
        Steps.AssertFailed(missing, 4, "StorageContainerNotFound");

        // No key: the chain ends at IMDS, pointed at a closed local port (tests only ever talk to 127.0.0.1).
        var env = AzureEnv(_key);
        env["AZURE_STORAGE_KEY"] = null;
        env["AZURE_POD_IDENTITY_AUTHORITY_HOST"] = $"http://127.0.0.1:{LocalEndpoints.ClosedPort()}/";
        var https = $"az://{_account}/{_container}/p?endpoint=https://127.0.0.1:{LocalEndpoints.ClosedPort()}/{_account}";
        var none = await RunAsync(["backup", "--engine", "sqlite", "--database", source, "--repository", https, "--output", "json"], env);
        Steps.AssertFailed(none, 3, "StorageCredentialsMissing");
        Assert.Contains("AZURE_STORAGE_KEY", none.StandardError);
    }
}
