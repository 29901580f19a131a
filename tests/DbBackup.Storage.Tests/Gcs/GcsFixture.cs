using DbBackup.Engine.Storage;
using DbBackup.Storage.Tests.Conformance;
using DbBackup.TestSupport;

namespace DbBackup.Storage.Tests.Gcs;

/// <summary>
/// Google Cloud Storage on the firebase-tools storage emulator (tests/servers/start-gcs-emulator.sh), a fresh key
/// prefix per <see cref="Open(Uri?, StorageOptions?)"/>. The emulator finalizes a resumable upload on its first
/// chunk, so the opened storage keeps the adapter's emulator part size (100 MiB): every object of the suite goes up
/// in one request here, and <see cref="PartSize"/> only sizes the suite's objects. The multi-chunk resumable path is
/// proven against <c>GcsResumableDouble</c> (GcsResumableUploadDoubleTests).
/// </summary>
public sealed class GcsFixture : IStorageFixture
{
    public const string Bucket = "dbbackup-conformance";
    public const string EndpointVariable = "DBBACKUP_TEST_GCS_ENDPOINT";

    public int PartSize => 256 * 1024;

    public int ListPageSize => 7;

    /// <summary>Every object goes up in one request on the emulator (see the class summary); GcsResumableDoubleFaultTests cover parts.</summary>
    public bool UploadsInParts => false;

    public Uri? ServiceEndpoint => new(TestServers.Require(EndpointVariable));

    /// <summary>An environment with nothing set: the developer's own GOOGLE_* variables never reach the tests.</summary>
    public static string? EmptyEnvironment(string name) => null;

    public IBackupStorage Open(Uri? endpoint, StorageOptions? options)
    {
        var target = endpoint ?? ServiceEndpoint!;
        var location = $"gs://{Bucket}/t-{Guid.NewGuid():N}?endpoint={Uri.EscapeDataString(target.GetLeftPart(UriPartial.Authority))}";
        return StorageRegistry.Open(location, WithTestDefaults(options, ListPageSize));
    }

    /// <summary>
    /// The caller's options (retries, timeouts) with an empty environment unless the caller injected one. A part size
    /// from the caller is not passed on: the emulator cannot take multi-chunk resumable uploads, so objects keep going up
    /// in one request (the adapter's plain-http default).
    /// </summary>
    public static StorageOptions WithTestDefaults(StorageOptions? options, int listPageSize)
    {
        if (options is null) return new StorageOptions { Environment = EmptyEnvironment, ListPageSize = listPageSize, RetryBaseDelay = TimeSpan.FromMilliseconds(50) };
        var environment = options.Environment == StorageOptions.Default.Environment ? EmptyEnvironment : options.Environment;
        return new StorageOptions
        {
            Environment = environment,
            MaxConcurrentParts = options.MaxConcurrentParts,
            ListPageSize = options.ListPageSize ?? listPageSize,
            MaxRetries = options.MaxRetries,
            RetryBaseDelay = options.RetryBaseDelay,
            RequestTimeout = options.RequestTimeout,
            S3 = options.S3,
            Azure = options.Azure,
            Gcs = options.Gcs,
        };
    }
}

public sealed class GcsStorageConformanceTests(GcsFixture f) : StorageConformanceTests<GcsFixture>(f);

public sealed class GcsFaultTests(GcsFixture f) : StorageFaultTests<GcsFixture>(f);
