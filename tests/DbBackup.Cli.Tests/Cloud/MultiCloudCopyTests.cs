using System.Text.Json;
using Amazon.Runtime;
using Amazon.S3;
using DbBackup.Cli.Tests.Support;
using DbBackup.Engine;
using DbBackup.Engine.Storage;
using DbBackup.Engine.Storage.Azure;
using DbBackup.TestSupport;
using Xunit;

namespace DbBackup.Cli.Tests.Cloud;

/// <summary>
/// "Local, then cloud": one backup written once to a local repository and copied by <c>backup --copy-to</c> to S3
/// (fauxqs), Azure Blob (Azurite) and GCS (firebase-tools emulator) — all started by tests/run-tests.sh — each copy
/// verified in its target; then a cloud-to-cloud <c>dbbackup copy</c>, and a partial success where one cloud target
/// is missing. Every credential reaches the child only through environment variables and never appears in its output.
/// </summary>
[Trait("Engine", "Sqlite")]
[Trait("Storage", "MultiCloud")]
public sealed class MultiCloudCopyTests : IAsyncLifetime
{
    private readonly Workspace _workspace = new();
    private readonly string _run = Guid.NewGuid().ToString("N")[..10];

    private readonly string _s3Endpoint = TestServers.Require("DBBACKUP_TEST_S3_ENDPOINT");
    private readonly string _s3AccessKey = TestServers.Require("DBBACKUP_TEST_S3_ACCESS_KEY");
    private readonly string _s3SecretKey = TestServers.Require("DBBACKUP_TEST_S3_SECRET_KEY");
    private readonly string _azureEndpoint = TestServers.Require("DBBACKUP_TEST_AZURE_ENDPOINT");
    private readonly string _azureAccount = TestServers.Require("DBBACKUP_TEST_AZURE_ACCOUNT");
    private readonly string _azureKey = TestServers.Require("DBBACKUP_TEST_AZURE_KEY");
    private readonly string _gcsEndpoint = TestServers.Require("DBBACKUP_TEST_GCS_ENDPOINT");
    private readonly string _gcsToken = "ya29.multi-cloud-secret-" + Guid.NewGuid().ToString("N");

    private string Bucket => "dbbackup-multi-" + _run;

    private string Container => "multi-" + _run;

    private string S3(string prefix, string? bucket = null) => $"s3://{bucket ?? Bucket}/{prefix}?endpoint={_s3Endpoint}&region=us-east-1";

    private string Az(string prefix) => $"az://{_azureAccount}/{Container}/{prefix}?endpoint={_azureEndpoint}";

    private string Gs(string prefix) => $"gs://dbbackup-multi/{_run}/{prefix}?endpoint={_gcsEndpoint}";

    private AmazonS3Client S3Admin() => new(new BasicAWSCredentials(_s3AccessKey, _s3SecretKey), new AmazonS3Config
    {
        ServiceURL = _s3Endpoint,
        AuthenticationRegion = "us-east-1",
        ForcePathStyle = true,
        RequestChecksumCalculation = RequestChecksumCalculation.WHEN_REQUIRED,
        ResponseChecksumValidation = ResponseChecksumValidation.WHEN_REQUIRED,
    });

    private AzureBlobClient AzureAdmin() => AzureBlobClient.Create(AzureBlobLocation.Parse(new Uri($"az://{_azureAccount}/{Container}?endpoint={_azureEndpoint}")),
        new StorageOptions { Environment = _ => null, Azure = new AzureBlobSettings { AccountKey = new SecretValue(_azureKey), UseImds = false } });

    /// <summary>The credentials of all three clouds, the only way they reach the child; nothing else can be found.</summary>
    private Dictionary<string, string?> CloudEnv() => new()
    {
        ["AWS_ACCESS_KEY_ID"] = _s3AccessKey,
        ["AWS_SECRET_ACCESS_KEY"] = _s3SecretKey,
        ["AWS_SESSION_TOKEN"] = null,
        ["AWS_PROFILE"] = null,
        ["AWS_EC2_METADATA_DISABLED"] = "true",
        ["HOME"] = _workspace.Root,
        ["AZURE_STORAGE_KEY"] = _azureKey,
        ["AZURE_STORAGE_CONNECTION_STRING"] = null,
        ["AZURE_STORAGE_SAS_TOKEN"] = null,
        ["AZURE_CLIENT_SECRET"] = null,
        ["IDENTITY_ENDPOINT"] = null,
        ["GOOGLE_OAUTH_ACCESS_TOKEN"] = _gcsToken,
        ["GOOGLE_APPLICATION_CREDENTIALS"] = null,
    };

    public async Task InitializeAsync()
    {
        using var s3 = S3Admin();
        await s3.PutBucketAsync(Bucket);
        await AzureAdmin().CreateContainerAsync(CancellationToken.None);
    }

    public async Task DisposeAsync()
    {
        await AzureAdmin().DeleteContainerAsync(CancellationToken.None);
        _workspace.Dispose();
    }

    private async Task<CliRun> RunAsync(string[] arguments)
    {
        await using var child = _workspace.Cli.Start(arguments, CloudEnv());
        var cmdline = await child.CommandLineAsync();
        child.Process.StandardInput.Close();
        var run = await child.WaitAsync(DbBackupCli.DefaultTimeout);
        foreach (var secret in new[] { _s3SecretKey, _azureKey, _gcsToken })
        {
            Assert.DoesNotContain(secret, cmdline, StringComparison.Ordinal);
            Assert.DoesNotContain(secret, run.StandardOutput + run.StandardError, StringComparison.Ordinal);
        }
        return run;
    }

    private async Task<string> CreateSourceAsync()
    {
        var path = _workspace.PathOf("source.db");
        await Fixtures.CreateSqliteAsync(path);
        return path;
    }

    private async Task AssertFoundByFreshCatalogAsync(string repository, string id)
    {
        var history = (await RunAsync(["history", "--repository", repository, "--refresh", "--catalog", _workspace.FreshCatalog(), "--output", "json"])).EnsureSuccess().Json();
        Assert.Equal(id, Assert.Single(history.EnumerateArray()).Str("backupId"));
    }

    [Fact]
    public async Task Local_backup_copied_to_S3_Azure_and_GCS_each_verified_then_cloud_to_cloud_copy_and_restore()
    {
        var source = await CreateSourceAsync();
        string[] clouds = [S3("first"), Az("first"), Gs("first")];

        var run = await RunAsync(["backup", "--engine", "sqlite", "--database", source, "--repository", _workspace.Repository,
            "--copy-to", clouds[0], "--copy-to", clouds[1], "--copy-to", clouds[2], "--output", "json"]);

        var json = run.EnsureSuccess().Json();
        Assert.True(json.GetProperty("allSucceeded").GetBoolean(), run.ToString());
        var id = json.GetProperty("backup").Str("backupId");
        var copies = json.GetProperty("copies").EnumerateArray().ToList();
        Assert.Equal(3, copies.Count);
        Assert.All(copies, copy =>
        {
            Assert.True(copy.GetProperty("succeeded").GetBoolean(), run.ToString());
            Assert.True(copy.GetProperty("verified").GetBoolean(), run.ToString());
            Assert.Equal(id, copy.Str("backupId"));
        });
        // Printed targets are display locations: scheme and bucket/container, never a key.
        Assert.StartsWith("s3://" + Bucket, copies[0].Str("target"), StringComparison.Ordinal);
        Assert.StartsWith($"az://{_azureAccount}/{Container}", copies[1].Str("target"), StringComparison.Ordinal);
        Assert.StartsWith("gs://dbbackup-multi/", copies[2].Str("target"), StringComparison.Ordinal);

        foreach (var cloud in clouds) await AssertFoundByFreshCatalogAsync(cloud, id);

        // Cloud to cloud: S3 -> GCS (another prefix), verified there, then restored from it on a fresh catalog.
        var second = Gs("second");
        var copy = (await RunAsync(["copy", "--backup-id", id, "--from", clouds[0], "--to", second, "--output", "json"])).EnsureSuccess().Json();
        var result = Assert.Single(copy.EnumerateArray());
        Assert.True(result.GetProperty("succeeded").GetBoolean() && result.GetProperty("verified").GetBoolean(), copy.ToString());
        await AssertFoundByFreshCatalogAsync(second, id);

        var target = _workspace.PathOf("restored.db");
        (await RunAsync(["restore", "--repository", second, "--backup-id", id, "--engine", "sqlite", "--target-database", target,
            "--catalog", _workspace.FreshCatalog(), "--output", "json"])).EnsureSuccess();
        var expected = await NativeDumps.SqliteAsync(source);
        DumpComparer.AssertEquivalent(DatabaseEngine.Sqlite, expected, await NativeDumps.SqliteAsync(target));
        (await ToolRunner.RunAsync("sqlite3", [target, "UPDATE customers SET balance = balance + 1 WHERE id = 42;"])).EnsureSuccess("sqlite3");
        Assert.False(DumpComparer.Compare(DatabaseEngine.Sqlite, expected, await NativeDumps.SqliteAsync(target)).Equal, "negative control");
    }

    [Fact]
    public async Task A_missing_bucket_is_reported_for_its_target_alone_with_the_partial_success_exit_code()
    {
        var source = await CreateSourceAsync();
        var missing = S3("p", bucket: "dbbackup-missing-" + _run);
        var good = Az("good");

        var run = await RunAsync(["backup", "--engine", "sqlite", "--database", source, "--repository", _workspace.Repository,
            "--copy-to", missing, "--copy-to", good, "--output", "json"]);

        Assert.True(run.ExitCode == ExitCodes.PartialSuccess, run.ToString());
        var json = run.Json();
        Assert.False(json.GetProperty("allSucceeded").GetBoolean());
        var copies = json.GetProperty("copies").EnumerateArray().ToList();
        Assert.False(copies[0].GetProperty("succeeded").GetBoolean());
        Assert.Equal("StorageContainerNotFound", copies[0].Str("errorId"));
        Assert.True(copies[1].GetProperty("succeeded").GetBoolean(), run.ToString());
        Assert.True(copies[1].GetProperty("verified").GetBoolean(), run.ToString());

        var id = json.GetProperty("backup").Str("backupId");
        await AssertFoundByFreshCatalogAsync(good, id);
        await AssertFoundByFreshCatalogAsync(_workspace.Repository, id);
    }
}
