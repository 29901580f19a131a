using DbBackup.Engine.Errors;
using DbBackup.Engine.Storage;
using DbBackup.Engine.Storage.ObjectStore;
using Xunit;
using static DbBackup.Storage.Tests.Conformance.StorageIO;

namespace DbBackup.Storage.Tests.ObjectStore;

/// <summary>The retry/timeout decorator over a FAKE in-process client.</summary>
public sealed class RetryingObjectStoreClientWithFakeClientTests
{
    private static StorageOptions Options(int maxRetries = 3, TimeSpan? timeout = null) => new()
    {
        MaxRetries = maxRetries,
        RetryBaseDelay = TimeSpan.FromMilliseconds(1),
        RequestTimeout = timeout ?? TimeSpan.FromSeconds(30),
    };

    /// <summary>Fails the first <paramref name="failures"/> calls named <paramref name="name"/> with what <paramref name="error"/> makes.</summary>
    private static void FailFirst(FakeObjectStoreClient client, string name, int failures, Func<Exception> error)
    {
        var failed = 0;
        client.Before = (call, _) => call == name && Interlocked.Increment(ref failed) <= failures ? throw error() : Task.CompletedTask;
    }

    private static StorageRequestException Http(int status) => new($"HTTP {status}", StorageRequestException.IsTransientStatus(status), status);

    [Fact]
    public async Task A_transient_503_is_retried_and_counted()
    {
        var fake = new FakeObjectStoreClient();
        FailFirst(fake, "put", 2, () => Http(503));
        var client = new RetryingObjectStoreClient(fake, Options());
        await client.PutObjectAsync("k", new byte[] { 1, 2, 3 }, CancellationToken.None);
        Assert.Equal(3, fake.Calls("put"));
        Assert.Equal(2, client.Retries);
        Assert.Equal([1, 2, 3], fake.Objects["k"]);
    }

    [Theory]
    [InlineData(400)]
    [InlineData(403)]
    [InlineData(404)]
    public async Task A_non_transient_status_is_not_retried(int status)
    {
        var fake = new FakeObjectStoreClient();
        FailFirst(fake, "stat", 1, () => Http(status));
        var client = new RetryingObjectStoreClient(fake, Options());
        var e = await Assert.ThrowsAsync<StorageRequestException>(() => client.StatAsync("k", CancellationToken.None));
        Assert.Equal(status, e.StatusCode);
        Assert.Equal(1, fake.Calls("stat"));
        Assert.Equal(0, client.Retries);
    }

    [Fact]
    public async Task Other_engine_errors_such_as_access_denied_are_not_retried()
    {
        var fake = new FakeObjectStoreClient();
        FailFirst(fake, "list", 5, () => new DbBackupException(ErrorIds.StorageAccessDenied, ErrorKind.PermissionDenied, "denied"));
        var client = new RetryingObjectStoreClient(fake, Options());
        var e = await Assert.ThrowsAsync<DbBackupException>(() => client.ListPageAsync("", null, CancellationToken.None));
        Assert.Equal(ErrorIds.StorageAccessDenied, e.ErrorId);
        Assert.Equal(1, fake.Calls("list"));
    }

    [Fact]
    public async Task Broken_connections_are_retried_and_after_the_last_attempt_reported_as_a_storage_error_naming_the_location()
    {
        var fake = new FakeObjectStoreClient();
        FailFirst(fake, "delete", int.MaxValue, () => new HttpRequestException("Connection refused (127.0.0.1:9)"));
        var client = new RetryingObjectStoreClient(fake, Options(maxRetries: 2));
        var e = await Assert.ThrowsAsync<StorageRequestException>(() => client.DeleteAsync("k", CancellationToken.None));
        Assert.Equal(3, fake.Calls("delete"));
        Assert.Equal(2, client.Retries);
        Assert.Equal(ErrorIds.StorageError, e.ErrorId);
        Assert.Contains(fake.DisplayLocation, e.Message, StringComparison.Ordinal);
        Assert.Contains("3 attempts", e.Message, StringComparison.Ordinal);
        Assert.IsType<HttpRequestException>(e.InnerException);
        Assert.NotNull(e.RecommendedAction);
    }

    [Fact]
    public async Task An_IOException_is_transient()
    {
        var fake = new FakeObjectStoreClient();
        FailFirst(fake, "start", 1, () => new IOException("reset"));
        var client = new RetryingObjectStoreClient(fake, Options());
        Assert.NotEmpty(await client.StartMultipartAsync("k", CancellationToken.None));
        Assert.Equal(2, fake.Calls("start"));
    }

    [Fact]
    public async Task A_request_slower_than_the_request_timeout_is_cancelled_and_retried()
    {
        var fake = new FakeObjectStoreClient();
        var calls = 0;
        var firstCancelled = false;
        fake.Before = async (call, ct) =>
        {
            if (call != "put" || Interlocked.Increment(ref calls) > 1) return;
            try { await Task.Delay(Timeout.Infinite, ct); }
            catch (OperationCanceledException) { firstCancelled = true; throw; }
        };
        var client = new RetryingObjectStoreClient(fake, Options(timeout: TimeSpan.FromMilliseconds(300)));
        await client.PutObjectAsync("k", new byte[] { 9 }, CancellationToken.None);
        Assert.True(firstCancelled, "the slow request should have been cancelled by the timeout");
        Assert.Equal(2, fake.Calls("put"));
        Assert.Equal(1, client.Retries);
    }

    [Fact]
    public async Task Timeouts_on_every_attempt_end_in_a_storage_error_that_says_so()
    {
        var fake = new FakeObjectStoreClient();
        fake.Before = (_, ct) => Task.Delay(Timeout.Infinite, ct);
        var client = new RetryingObjectStoreClient(fake, Options(maxRetries: 1, timeout: TimeSpan.FromMilliseconds(100)));
        var e = await Assert.ThrowsAsync<StorageRequestException>(() => client.StatAsync("k", CancellationToken.None));
        Assert.Contains("timed out", e.Message, StringComparison.Ordinal);
        Assert.Equal(2, fake.Calls("stat"));
    }

    [Fact]
    public async Task The_callers_cancellation_is_never_retried()
    {
        var fake = new FakeObjectStoreClient();
        using var cts = new CancellationTokenSource();
        fake.Before = async (_, ct) =>
        {
            await cts.CancelAsync();
            ct.ThrowIfCancellationRequested();
        };
        var client = new RetryingObjectStoreClient(fake, Options());
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => client.AbortMultipartAsync("k", "u", cts.Token));
        Assert.Equal(1, fake.Calls("abort"));
        Assert.Equal(0, client.Retries);
    }

    [Fact]
    public async Task With_MaxRetries_zero_a_transient_failure_fails_at_once()
    {
        var fake = new FakeObjectStoreClient();
        FailFirst(fake, "complete", 1, () => Http(500));
        var client = new RetryingObjectStoreClient(fake, Options(maxRetries: 0));
        await Assert.ThrowsAsync<StorageRequestException>(() => client.CompleteMultipartAsync("k", "u", [], 0, CancellationToken.None));
        Assert.Equal(1, fake.Calls("complete"));
    }

    [Fact]
    public async Task Every_primitive_is_retried()
    {
        var fake = new FakeObjectStoreClient();
        var seen = new HashSet<string>();
        fake.Before = (call, _) =>
        {
            lock (seen) if (seen.Add(call)) throw Http(503); // the first call of each kind fails
            return Task.CompletedTask;
        };
        var client = new RetryingObjectStoreClient(fake, Options());
        await client.PutObjectAsync("a", new byte[] { 1 }, CancellationToken.None);
        var id = await client.StartMultipartAsync("b", CancellationToken.None);
        var tag = await client.UploadPartAsync(new UploadPart("b", id, 1, 0, new byte[] { 2 }), CancellationToken.None);
        await client.CompleteMultipartAsync("b", id, [tag], 1, CancellationToken.None);
        Assert.Equal(2, (await client.ListPageAsync("", null, CancellationToken.None)).Items.Count);
        Assert.Equal(1, (await client.StatAsync("b", CancellationToken.None))!.Size);
        await using (var read = await client.OpenReadAsync("b", 0, null, CancellationToken.None)) Assert.Equal(2, read.ReadByte());
        await client.AbortMultipartAsync("b", "gone", CancellationToken.None);
        await client.AbortIncompleteUploadsAsync("", CancellationToken.None);
        await client.DeleteAsync("a", CancellationToken.None);
        Assert.Equal(10, client.Retries);
        Assert.All(new[] { "put", "start", "part", "complete", "list", "stat", "read", "abort", "abort-incomplete", "delete" }, c => Assert.Equal(2, fake.Calls(c)));
    }

    [Fact]
    public async Task A_read_broken_mid_stream_reopens_at_the_byte_it_reached()
    {
        var fake = new FakeObjectStoreClient();
        var data = RandomBytes(100_000, 1);
        await fake.PutObjectAsync("v", data, CancellationToken.None);
        fake.WrapRead = (stream, n) => n <= 2 ? new BreakingStream(stream, 30_000) : stream; // the first two opens break after 30 000 bytes
        var client = new RetryingObjectStoreClient(fake, Options());
        var got = await GetAsync(new ObjectStoreStorage(client), "v");
        Assert.Equal(data, got);
        Assert.Equal([(0L, (long?)null), (30_000L, null), (60_000L, null)], fake.Reads);
        Assert.Equal(2, client.Retries);
    }

    [Fact]
    public async Task A_broken_range_read_resumes_inside_the_range()
    {
        var fake = new FakeObjectStoreClient();
        var data = RandomBytes(50_000, 2);
        await fake.PutObjectAsync("v", data, CancellationToken.None);
        fake.WrapRead = (stream, n) => n == 1 ? new BreakingStream(stream, 7_000) : stream;
        var client = new RetryingObjectStoreClient(fake, Options());
        var got = await GetAsync(new ObjectStoreStorage(client), "v", 1_000, 20_000);
        Assert.Equal(data.AsSpan(1_000, 20_000).ToArray(), got);
        Assert.Equal([(1_000L, (long?)20_000), (8_000L, 13_000)], fake.Reads);
    }

    [Fact]
    public async Task A_read_that_keeps_breaking_gives_up_after_MaxRetries_resumes()
    {
        var fake = new FakeObjectStoreClient();
        await fake.PutObjectAsync("v", RandomBytes(100_000, 3), CancellationToken.None);
        fake.WrapRead = (stream, _) => new BreakingStream(stream, 1_000);
        var client = new RetryingObjectStoreClient(fake, Options(maxRetries: 2));
        await Assert.ThrowsAsync<IOException>(() => GetAsync(new ObjectStoreStorage(client), "v"));
        Assert.Equal(3, fake.Reads.Count);
    }

    [Fact]
    public async Task A_missing_object_is_BackupNotFound_at_once()
    {
        var client = new RetryingObjectStoreClient(new FakeObjectStoreClient(), Options());
        await Assert.ThrowsAsync<BackupNotFoundException>(() => client.OpenReadAsync("missing", 0, null, CancellationToken.None));
        Assert.Equal(0, client.Retries);
    }
}
