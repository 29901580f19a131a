using Amazon.Runtime;
using Amazon.S3;
using Amazon.S3.Model;
using DbBackup.Cli.Tests.Support;
using DbBackup.TestSupport;
using Xunit;

namespace DbBackup.Cli.Tests.Cloud;

/// <summary>
/// End to end through the dbbackup child process with the repository in S3 (fauxqs, started by tests/run-tests.sh):
/// backup, history --refresh on a fresh catalog, verify, restore into a new name, compare. The credentials reach the
/// child only as AWS_* environment variables and never appear in its argv or output.
/// </summary>
[Trait("Storage", "S3")]
public sealed class S3EndToEndTests : IAsyncLifetime
{
    private readonly Workspace _workspace = new();
    private readonly List<string> _databases = [];
    private readonly string _endpoint = TestServers.Require("DBBACKUP_TEST_S3_ENDPOINT");
    private readonly string _accessKey = TestServers.Require("DBBACKUP_TEST_S3_ACCESS_KEY");
    private readonly string _secretKey = TestServers.Require("DBBACKUP_TEST_S3_SECRET_KEY");
    private readonly string _sessionToken = "e2e-session-token-" + Guid.NewGuid().ToString("N");
    private readonly string _bucket = "dbbackup-e2e-" + Guid.NewGuid().ToString("N")[..12];
    private readonly string _prefix = "repo-" + Guid.NewGuid().ToString("N")[..8];

    private string Repository => $"s3://{_bucket}/{_prefix}?endpoint={_endpoint}&region=us-east-1";

    private AmazonS3Client Sdk() => new(new BasicAWSCredentials(_accessKey, _secretKey), new AmazonS3Config
    {
        ServiceURL = _endpoint,
        AuthenticationRegion = "us-east-1",
        ForcePathStyle = true,
        RequestChecksumCalculation = RequestChecksumCalculation.WHEN_REQUIRED,
        ResponseChecksumValidation = ResponseChecksumValidation.WHEN_REQUIRED,
    });

    /// <summary>The only way the credentials reach the child. HOME is empty and IMDS disabled so nothing else is found.</summary>
    private Dictionary<string, string?> AwsEnv() => new()
    {
        ["AWS_ACCESS_KEY_ID"] = _accessKey,
        ["AWS_SECRET_ACCESS_KEY"] = _secretKey,
        ["AWS_SESSION_TOKEN"] = _sessionToken,
        ["AWS_PROFILE"] = null,
        ["AWS_EC2_METADATA_DISABLED"] = "true",
        ["HOME"] = _workspace.Root,
    };

    public async Task InitializeAsync()
    {
        using var s3 = Sdk();
        await s3.PutBucketAsync(_bucket);
    }

    public async Task DisposeAsync()
    {
        foreach (var name in _databases) await TestDatabases.DropPostgresAsync(name);
        _workspace.Dispose();
    }

    private async Task<List<string>> ObjectKeysAsync()
    {
        using var s3 = Sdk();
        var response = await s3.ListObjectsV2Async(new ListObjectsV2Request { BucketName = _bucket, Prefix = _prefix + "/" });
        return (response.S3Objects ?? []).Select(o => o.Key[(_prefix.Length + 1)..]).ToList();
    }

    private void AssertNoSecret(CliRun run)
    {
        var output = run.StandardOutput + run.StandardError;
        Assert.DoesNotContain(_secretKey, output, StringComparison.Ordinal);
        Assert.DoesNotContain(_sessionToken, output, StringComparison.Ordinal);
    }

    /// <summary>backup, with the child's argv checked for secrets while it runs.</summary>
    private async Task<string> BackupAsync(string[] source, Dictionary<string, string?> env)
    {
        await using var child = _workspace.Cli.Start(["backup", .. source, "--repository", Repository, "--output", "json"], env);
        var cmdline = await child.CommandLineAsync();
        Assert.DoesNotContain(_secretKey, cmdline, StringComparison.Ordinal);
        Assert.DoesNotContain(_sessionToken, cmdline, StringComparison.Ordinal);
        child.Process.StandardInput.Close();
        var run = (await child.WaitAsync(DbBackupCli.DefaultTimeout)).EnsureSuccess();
        AssertNoSecret(run);
        var record = run.Json();
        Assert.StartsWith($"s3://{_bucket}/{_prefix}", record.Str("repository"), StringComparison.Ordinal);
        return record.Str("backupId");
    }

    private async Task<CliRun> RunAsync(string[] args, Dictionary<string, string?> env)
    {
        var run = (await _workspace.Cli.RunAsync(args, env)).EnsureSuccess();
        AssertNoSecret(run);
        return run;
    }

    private async Task HistoryVerifyAsync(string id, Dictionary<string, string?> env)
    {
        var history = (await RunAsync(["history", "--repository", Repository, "--refresh", "--catalog", _workspace.FreshCatalog(), "--output", "json"], env)).Json();
        Assert.Equal(id, Assert.Single(history.EnumerateArray()).Str("backupId"));
        var verify = (await RunAsync(["verify", "--repository", Repository, "--backup-id", id, "--output", "json"], env)).Json();
        var result = Assert.Single(verify.EnumerateArray());
        Assert.True(result.GetProperty("isValid").GetBoolean());
        Assert.Equal(result.GetProperty("frameCount").GetInt32(), result.GetProperty("framesChecked").GetInt32());
    }

    [Fact]
    public async Task Sqlite_backup_to_S3_history_refresh_verify_restore_dump_equal()
    {
        var source = _workspace.PathOf("source.db");
        await Fixtures.CreateSqliteAsync(source);
        var env = AwsEnv();
        var id = await BackupAsync(["--engine", "sqlite", "--database", source], env);
        var keys = await ObjectKeysAsync();
        Assert.Contains(keys, k => k.Contains(id, StringComparison.Ordinal) && k.Contains("data.", StringComparison.Ordinal));
        Assert.Empty(_workspace.RepositoryFiles()); // nothing went to the local default

        await HistoryVerifyAsync(id, env);
        var target = _workspace.PathOf("restored.db");
        await RunAsync(["restore", "--repository", Repository, "--backup-id", id, "--engine", "sqlite", "--target-database", target, "--output", "json"], env);
        var expected = await NativeDumps.SqliteAsync(source);
        DumpComparer.AssertEquivalent(DatabaseEngine.Sqlite, expected, await NativeDumps.SqliteAsync(target));
        (await ToolRunner.RunAsync("sqlite3", [target, "UPDATE customers SET balance = balance + 1 WHERE id = 42;"])).EnsureSuccess("sqlite3");
        Assert.False(DumpComparer.Compare(DatabaseEngine.Sqlite, expected, await NativeDumps.SqliteAsync(target)).Equal, "negative control");
    }

    [Fact]
    [Trait("Engine", "PostgreSql")]
    public async Task PostgreSql_backup_to_S3_history_refresh_verify_restore_dump_equal()
    {
        var source = TestDatabases.UniqueName();
        _databases.Add(source);
        await TestDatabases.PgExecuteAsync("postgres", $"CREATE DATABASE \"{source}\"");
        await Fixtures.LoadPostgresAsync(source);
        var env = Servers.Merge(Servers.PgEnv(), AwsEnv());
        var id = await BackupAsync(Servers.PgArgs(source), env);

        await HistoryVerifyAsync(id, env);
        var target = TestDatabases.UniqueName();
        _databases.Add(target);
        await RunAsync(["restore", "--repository", Repository, "--backup-id", id, .. Servers.PgTargetArgs(target), "--output", "json"], env);
        var expected = await NativeDumps.PostgresAsync(source);
        DumpComparer.AssertEquivalent(DatabaseEngine.PostgreSql, expected, await NativeDumps.PostgresAsync(target));
        await TestDatabases.PgExecuteAsync(target, "UPDATE sales.orders SET ratio = -12345.678 WHERE id = (SELECT min(id) FROM sales.orders)");
        Assert.False(DumpComparer.Compare(DatabaseEngine.PostgreSql, expected, await NativeDumps.PostgresAsync(target)).Equal, "negative control");
    }

    [Fact]
    public async Task Without_credentials_the_backup_fails_with_StorageCredentialsMissing_and_writes_nothing()
    {
        var source = _workspace.PathOf("source.db");
        await Fixtures.CreateSqliteAsync(source);
        var env = new Dictionary<string, string?>
        {
            ["AWS_ACCESS_KEY_ID"] = null, ["AWS_SECRET_ACCESS_KEY"] = null, ["AWS_SESSION_TOKEN"] = null, ["AWS_PROFILE"] = null,
            ["AWS_SHARED_CREDENTIALS_FILE"] = null, ["AWS_CONFIG_FILE"] = null,
            ["AWS_CONTAINER_CREDENTIALS_FULL_URI"] = null, ["AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"] = null,
            ["AWS_EC2_METADATA_DISABLED"] = "true", ["HOME"] = _workspace.Root,
        };
        var run = await _workspace.Cli.RunAsync(["backup", "--engine", "sqlite", "--database", source, "--repository", Repository, "--output", "json"], env);
        Steps.AssertFailed(run, 3, "StorageCredentialsMissing");
        Assert.Contains("AWS_ACCESS_KEY_ID", run.StandardError, StringComparison.Ordinal);
        Assert.Empty(await ObjectKeysAsync());
    }
}
