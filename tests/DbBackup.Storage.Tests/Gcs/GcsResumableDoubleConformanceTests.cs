using DbBackup.Engine;
using DbBackup.Engine.Storage;
using DbBackup.Engine.Storage.Gcs;
using DbBackup.Storage.Tests.Conformance;
using Xunit;

namespace DbBackup.Storage.Tests.Gcs;

/// <summary>
/// The whole conformance suite once more, against <see cref="GcsResumableDouble"/> with 256 KiB parts, so every
/// "several parts" case really goes through multi-chunk resumable uploads (which the emulator cannot take).
/// </summary>
public sealed class GcsResumableDoubleFixture : IStorageFixture, IAsyncLifetime
{
    private GcsResumableDouble _double = null!;

    public int PartSize => GcsClient.ChunkGranularity;

    public int ListPageSize => 7;

    public Uri? ServiceEndpoint => _double.Endpoint;

    public async Task InitializeAsync() => _double = await GcsResumableDouble.StartAsync();

    public async Task DisposeAsync() => await _double.DisposeAsync();

    public IBackupStorage Open(Uri? endpoint, StorageOptions? options)
    {
        var target = (endpoint ?? _double.Endpoint).GetLeftPart(UriPartial.Authority);
        var defaults = GcsFixture.WithTestDefaults(options, ListPageSize);
        return StorageRegistry.Open($"gs://bucket/t-{Guid.NewGuid():N}?endpoint={target}", new StorageOptions
        {
            Environment = defaults.Environment,
            PartSize = PartSize,
            ListPageSize = defaults.ListPageSize,
            MaxRetries = defaults.MaxRetries,
            RetryBaseDelay = defaults.RetryBaseDelay,
            RequestTimeout = defaults.RequestTimeout,
            Gcs = new GcsSettings { AccessToken = new SecretValue("double-token") },
        });
    }
}

public sealed class GcsResumableDoubleStorageConformanceTests(GcsResumableDoubleFixture f) : StorageConformanceTests<GcsResumableDoubleFixture>(f);

/// <summary>The fault suite through the proxy against the resumable-protocol double: faults in the middle of multi-chunk uploads.</summary>
public sealed class GcsResumableDoubleFaultTests(GcsResumableDoubleFixture f) : StorageFaultTests<GcsResumableDoubleFixture>(f);
