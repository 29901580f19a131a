using DbBackup.Engine;
using DbBackup.Engine.Storage;
using DbBackup.Engine.Storage.ObjectStore;
using DbBackup.Engine.Storage.S3;
using DbBackup.TestSupport;
using Xunit;

namespace DbBackup.Storage.Tests.S3;

/// <summary>Connection failures below HTTP (refused, hanging server): transient, retried, then a clear StorageError.</summary>
public sealed class S3TransportFailureTests
{
    private static StorageOptions Options(int maxRetries, TimeSpan? timeout = null) => new()
    {
        Environment = _ => null,
        S3 = new S3Settings { AccessKeyId = "AKIATRANSPORT", SecretAccessKey = new SecretValue("transport-secret") },
        MaxRetries = maxRetries,
        RetryBaseDelay = TimeSpan.FromMilliseconds(10),
        RequestTimeout = timeout ?? TimeSpan.FromSeconds(30),
    };

    [Fact]
    public async Task A_refused_connection_is_transient_and_reported_after_the_retries()
    {
        var location = new Uri($"s3://bkt/p?endpoint=http://127.0.0.1:{LocalEndpoints.ClosedPort()}&region=us-east-1");
        var raw = await Assert.ThrowsAnyAsync<Exception>(() => S3ObjectStoreClient.Create(location, Options(0)).ListPageAsync("", null, CancellationToken.None));
        Assert.True(RetryingObjectStoreClient.IsTransient(raw, CancellationToken.None), raw.GetType() + ": " + raw.Message);

        var storage = (ObjectStoreStorage)StorageRegistry.Open(location.ToString(), Options(2));
        var e = await Assert.ThrowsAsync<StorageRequestException>(() => storage.StatAsync("k", CancellationToken.None));
        Assert.True(e.IsTransient);
        Assert.Equal(2, ((RetryingObjectStoreClient)storage.Client).Retries);
        Assert.DoesNotContain("transport-secret", e.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_server_that_never_answers_times_out_per_request()
    {
        using var silent = new SilentListener();
        var storage = StorageRegistry.Open($"s3://bkt/p?endpoint=http://127.0.0.1:{silent.Port}&region=us-east-1", Options(1, TimeSpan.FromMilliseconds(500)));
        var started = DateTime.UtcNow;
        var e = await Assert.ThrowsAsync<StorageRequestException>(() => storage.StatAsync("k", CancellationToken.None));
        Assert.True(e.IsTransient);
        Assert.Contains("timed out", e.Message, StringComparison.Ordinal);
        Assert.InRange(DateTime.UtcNow - started, TimeSpan.Zero, TimeSpan.FromSeconds(20));
    }
}
