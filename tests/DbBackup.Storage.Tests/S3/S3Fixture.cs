using Amazon.Runtime;
using Amazon.S3;
using DbBackup.Engine;
using DbBackup.Engine.Storage;
using DbBackup.Engine.Storage.S3;
using DbBackup.Storage.Tests.Conformance;
using DbBackup.TestSupport;

namespace DbBackup.Storage.Tests.S3;

/// <summary>
/// S3 on the fauxqs emulator started by tests/servers/start-fauxqs.sh. One bucket per fixture, a fresh prefix per
/// <see cref="Open(Uri?, StorageOptions?)"/>; 5 MiB parts (the S3 minimum) so "several parts" is cheap.
/// </summary>
public sealed class S3Fixture : IStorageFixture, IDisposable
{
    public S3Fixture()
    {
        Endpoint = new Uri(TestServers.Require("DBBACKUP_TEST_S3_ENDPOINT"));
        AccessKey = TestServers.Require("DBBACKUP_TEST_S3_ACCESS_KEY");
        SecretKey = TestServers.Require("DBBACKUP_TEST_S3_SECRET_KEY");
        Region = Environment.GetEnvironmentVariable("DBBACKUP_TEST_S3_REGION") ?? "us-east-1";
        Bucket = CreateBucket("dbbackup-conf");
    }

    public Uri Endpoint { get; }

    public string AccessKey { get; }

    public string SecretKey { get; }

    public string Region { get; }

    public string Bucket { get; }

    public int PartSize => 5 << 20;

    public int ListPageSize => 7;

    public Uri? ServiceEndpoint => Endpoint;

    /// <summary>A plain SDK client for test setup (bucket creation, inspecting what the adapter left behind).</summary>
    public AmazonS3Client Sdk(Uri? endpoint = null) => new(new BasicAWSCredentials(AccessKey, SecretKey), new AmazonS3Config
    {
        ServiceURL = (endpoint ?? Endpoint).ToString().TrimEnd('/'),
        AuthenticationRegion = Region,
        ForcePathStyle = true,
        RequestChecksumCalculation = RequestChecksumCalculation.WHEN_REQUIRED,
        ResponseChecksumValidation = ResponseChecksumValidation.WHEN_REQUIRED,
    });

    /// <summary>Creates a uniquely named bucket and returns its name.</summary>
    public string CreateBucket(string prefix)
    {
        var name = $"{prefix}-{Guid.NewGuid():N}"[..Math.Min(63, prefix.Length + 13)];
        using var s3 = Sdk();
        s3.PutBucketAsync(name).GetAwaiter().GetResult();
        return name;
    }

    /// <summary>The emulator's credentials as explicit settings.</summary>
    public S3Settings Settings => new() { AccessKeyId = AccessKey, SecretAccessKey = new SecretValue(SecretKey) };

    /// <summary>The location of a fresh prefix in the fixture's bucket, reached through <paramref name="endpoint"/>.</summary>
    public string NewLocation(Uri? endpoint = null, string? bucket = null)
        => $"s3://{bucket ?? Bucket}/t-{Guid.NewGuid():N}?endpoint={Uri.EscapeDataString((endpoint ?? Endpoint).ToString().TrimEnd('/'))}&region={Region}";

    /// <summary>Options with no environment (nothing leaks in from the machine's AWS_* variables or ~/.aws).</summary>
    public StorageOptions Options(S3Settings? settings = null, Func<string, string?>? environment = null) => new()
    {
        Environment = environment ?? (_ => null),
        PartSize = PartSize,
        ListPageSize = ListPageSize,
        MaxRetries = 2,
        RetryBaseDelay = TimeSpan.FromMilliseconds(50),
        RequestTimeout = TimeSpan.FromSeconds(30),
        S3 = settings ?? Settings,
    };

    public IBackupStorage Open(Uri? endpoint, StorageOptions? options)
    {
        var o = options is null ? Options() : WithEmulatorCredentials(options);
        return StorageRegistry.Open(NewLocation(endpoint), o);
    }

    private StorageOptions WithEmulatorCredentials(StorageOptions o) => new()
    {
        Environment = o.Environment,
        PartSize = o.PartSize ?? PartSize,
        MaxConcurrentParts = o.MaxConcurrentParts,
        ListPageSize = o.ListPageSize ?? ListPageSize,
        MaxRetries = o.MaxRetries,
        RetryBaseDelay = o.RetryBaseDelay,
        RequestTimeout = o.RequestTimeout,
        Azure = o.Azure,
        Gcs = o.Gcs,
        S3 = o.S3.AccessKeyId is not null ? o.S3 : new S3Settings
        {
            AccessKeyId = AccessKey,
            SecretAccessKey = new SecretValue(SecretKey),
            Region = o.S3.Region,
            Profile = o.S3.Profile,
            Endpoint = o.S3.Endpoint,
            ForcePathStyle = o.S3.ForcePathStyle,
        },
    };

    public void Dispose()
    {
        // Buckets live in the emulator's memory and go with it (tests/stop-test-servers.sh).
    }
}

public sealed class S3StorageConformanceTests(S3Fixture f) : StorageConformanceTests<S3Fixture>(f);

public sealed class S3FaultTests(S3Fixture f) : StorageFaultTests<S3Fixture>(f);
