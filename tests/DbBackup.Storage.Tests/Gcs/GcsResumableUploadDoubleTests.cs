using DbBackup.Engine;
using DbBackup.Engine.Errors;
using DbBackup.Engine.Storage;
using DbBackup.Engine.Storage.Gcs;
using DbBackup.Engine.Storage.ObjectStore;
using Xunit;

namespace DbBackup.Storage.Tests.Gcs;

/// <summary>
/// The multi-chunk resumable upload path, which the firebase-tools emulator cannot exercise (it finalizes on the first
/// chunk), against <see cref="GcsResumableDouble"/> speaking the documented protocol.
/// </summary>
public sealed class GcsResumableUploadDoubleTests : IAsyncLifetime
{
    private const int Part = GcsClient.ChunkGranularity; // 256 KiB: the smallest chunk GCS allows
    private GcsResumableDouble _double = null!;

    public async Task InitializeAsync() => _double = await GcsResumableDouble.StartAsync();

    public async Task DisposeAsync() => await _double.DisposeAsync();

    private IBackupStorage Open(int partSize = Part) => StorageRegistry.Open($"gs://bucket/pre?endpoint={_double.Endpoint.GetLeftPart(UriPartial.Authority)}", new StorageOptions
    {
        Environment = _ => null,
        PartSize = partSize,
        RetryBaseDelay = TimeSpan.FromMilliseconds(10),
        Gcs = new GcsSettings { AccessToken = new SecretValue("double-token") },
    });

    private static byte[] Bytes(int length, int seed)
    {
        var data = new byte[length];
        new Random(seed).NextBytes(data);
        return data;
    }

    private static async Task PutAsync(IBackupStorage storage, string key, byte[] data)
    {
        await using var writer = await storage.OpenWriteAsync(key, CancellationToken.None);
        for (var i = 0; i < data.Length; i += 10_000) await writer.Stream.WriteAsync(data.AsMemory(i, Math.Min(10_000, data.Length - i)));
        await writer.CommitAsync(CancellationToken.None);
    }

    private static async Task<byte[]> GetAsync(IBackupStorage storage, string key, long offset = 0, long? length = null)
    {
        await using var stream = await storage.OpenReadAsync(key, offset, length, CancellationToken.None);
        using var copy = new MemoryStream();
        await stream.CopyToAsync(copy);
        return copy.ToArray();
    }

    private List<string?> ChunkRanges() => _double.Requests.Where(r => r.Method == "PUT").Select(r => r.ContentRange).ToList();

    [Fact]
    public async Task GcsResumableDouble_chunks_go_up_in_order_and_the_last_one_carries_the_total_size()
    {
        var storage = Open();
        var data = Bytes(Part * 3 + Part / 2 + 17, 1);
        await PutAsync(storage, "vol/0001", data);
        var total = data.Length;
        Assert.Equal(
            [$"bytes 0-{Part - 1}/*", $"bytes {Part}-{2 * Part - 1}/*", $"bytes {2 * Part}-{3 * Part - 1}/*", $"bytes {3 * Part}-{total - 1}/{total}"],
            ChunkRanges());
        Assert.Single(_double.Requests, r => r.Method == "POST" && r.Path.Contains("uploadType=resumable", StringComparison.Ordinal) && r.Path.Contains("name=pre%2Fvol%2F0001", StringComparison.Ordinal));
        Assert.All(_double.Requests, r => Assert.Equal("Bearer double-token", r.Authorization));
        Assert.Equal(data, _double.Objects["pre/vol/0001"]);
        Assert.Equal(data, await GetAsync(storage, "vol/0001"));
        Assert.Equal(data.AsSpan(Part * 2 - 10, 1000).ToArray(), await GetAsync(storage, "vol/0001", Part * 2 - 10, 1000));
    }

    [Fact]
    public async Task GcsResumableDouble_an_object_of_whole_chunks_is_finalized_with_an_empty_request_carrying_the_size()
    {
        var storage = Open();
        var data = Bytes(Part * 2, 2);
        await PutAsync(storage, "whole", data);
        Assert.Equal([$"bytes 0-{Part - 1}/*", $"bytes {Part}-{2 * Part - 1}/*", $"bytes */{2 * Part}"], ChunkRanges());
        Assert.Equal(data, _double.Objects["pre/whole"]);
    }

    [Fact]
    public async Task GcsResumableDouble_bytes_the_service_did_not_persist_are_sent_again()
    {
        var storage = Open(partSize: Part * 4);
        _double.ShortPersistUnits = 1; // the first chunk keeps 3 of its 4 units and says so in the 308 Range header
        var data = Bytes(Part * 4 * 2 + 5, 3);
        await PutAsync(storage, "short", data);
        Assert.Equal($"bytes {3 * Part}-{4 * Part - 1}/*", ChunkRanges()[1]);
        Assert.Equal(data, _double.Objects["pre/short"]);
    }

    [Fact]
    public async Task GcsResumableDouble_a_failed_chunk_is_retried_from_what_the_service_kept()
    {
        var storage = Open();
        _double.FailChunksAfterPersisting = 1; // the first chunk is stored, then the answer is a 503
        var data = Bytes(Part * 2 + 100, 4);
        await PutAsync(storage, "retried", data);
        var ranges = ChunkRanges();
        Assert.Equal($"bytes 0-{Part - 1}/*", ranges[0]);
        Assert.Equal("bytes */*", ranges[1]); // the retry asks first, finds the chunk persisted and moves on
        Assert.Equal($"bytes {Part}-{2 * Part - 1}/*", ranges[2]);
        Assert.Equal(data, _double.Objects["pre/retried"]);
    }

    [Fact]
    public async Task GcsResumableDouble_the_short_last_part_goes_up_only_on_commit_so_a_cancelled_commit_shows_nothing()
    {
        var storage = Open();
        using var cts = new CancellationTokenSource();
        await using (var writer = await storage.OpenWriteAsync("cancelled", CancellationToken.None))
        {
            await writer.Stream.WriteAsync(Bytes(Part + 100, 8));
            cts.Cancel();
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => writer.CommitAsync(cts.Token));
        }
        Assert.Empty(_double.Objects);
        Assert.DoesNotContain(ChunkRanges(), r => r != null && !r.EndsWith("/*", StringComparison.Ordinal)); // no request carried a total size
        Assert.Equal(1, _double.AbortedSessions);
    }

    [Fact]
    public async Task GcsResumableDouble_an_uncommitted_writer_cancels_its_session_and_leaves_nothing()
    {
        var storage = Open();
        await using (var writer = await storage.OpenWriteAsync("never", CancellationToken.None))
            await writer.Stream.WriteAsync(Bytes(Part * 2 + 1, 5));
        Assert.Equal(1, _double.AbortedSessions);
        Assert.Single(_double.Requests, r => r.Method == "DELETE" && r.Path.Contains("upload_id=", StringComparison.Ordinal));
        Assert.Empty(_double.Objects);
        Assert.Null(await storage.StatAsync("never", CancellationToken.None));
    }

    [Fact]
    public async Task GcsResumableDouble_a_service_that_finalizes_on_the_first_chunk_like_the_emulator_gives_a_clear_error()
    {
        var storage = Open();
        _double.Intercept = r => r.Method == "PUT" && r.Headers.ContentRange.ToString().EndsWith("/*", StringComparison.Ordinal) ? (200, "{}") : null;
        var e = await Assert.ThrowsAsync<StorageRequestException>(() => PutAsync(storage, "emulated", Bytes(Part * 2 + 1, 6)));
        Assert.False(e.IsTransient);
        Assert.Contains("single-request resumable uploads only", e.Message, StringComparison.Ordinal);
        Assert.Contains("part size", e.RecommendedAction!, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(401, ErrorIds.StorageAuthenticationFailed)]
    [InlineData(403, ErrorIds.StorageAccessDenied)]
    public async Task GcsResumableDouble_status_401_and_403_map_to_their_error_ids_without_the_token(int status, string errorId)
    {
        var storage = Open();
        _double.Intercept = _ => (status, "{\"error\":{\"code\":" + status + ",\"message\":\"refused by the double\"}}");
        foreach (var action in new Func<Task>[] { () => PutAsync(storage, "x", Bytes(10, 1)), () => storage.StatAsync("x", CancellationToken.None), () => GetAsync(storage, "x") })
        {
            var e = await Assert.ThrowsAnyAsync<DbBackupException>(action);
            Assert.Equal(errorId, e.ErrorId);
            Assert.Contains("the access token setting", e.Message, StringComparison.Ordinal);
            Assert.DoesNotContain("double-token", e.Message, StringComparison.Ordinal);
        }
        Assert.Equal(3, _double.Requests.Count); // not retried
    }

    [Fact]
    public async Task GcsResumableDouble_a_missing_bucket_maps_to_StorageContainerNotFound_and_a_missing_object_to_BackupNotFound()
    {
        var storage = Open();
        var e = await Assert.ThrowsAnyAsync<DbBackupException>(() => GetAsync(storage, "absent"));
        Assert.Equal(ErrorIds.BackupNotFound, e.ErrorId);
        await storage.DeleteAsync("absent", CancellationToken.None); // 404 on delete: already gone
        _double.Intercept = _ => (404, "{\"error\":{\"code\":404,\"message\":\"The specified bucket does not exist.\"}}");
        var onList = await Assert.ThrowsAnyAsync<DbBackupException>(async () => { await foreach (var _ in storage.ListAsync("", CancellationToken.None)) { } });
        Assert.Equal(ErrorIds.StorageContainerNotFound, onList.ErrorId);
        var onStat = await Assert.ThrowsAnyAsync<DbBackupException>(() => storage.StatAsync("x", CancellationToken.None));
        Assert.Equal(ErrorIds.StorageContainerNotFound, onStat.ErrorId);
        var onWrite = await Assert.ThrowsAnyAsync<DbBackupException>(() => PutAsync(storage, "x", Bytes(5, 1)));
        Assert.Equal(ErrorIds.StorageContainerNotFound, onWrite.ErrorId);
    }

    [Theory]
    [InlineData(429)]
    [InlineData(500)]
    [InlineData(503)]
    public async Task GcsResumableDouble_throttling_and_server_errors_are_transient_and_retried(int status)
    {
        var client = GcsClient.Create(new Uri($"gs://bucket/pre?endpoint={_double.Endpoint.GetLeftPart(UriPartial.Authority)}"), new StorageOptions { Environment = _ => null });
        _double.Intercept = _ => (status, "{}");
        var e = await Assert.ThrowsAsync<StorageRequestException>(() => client.StatAsync("x", CancellationToken.None));
        Assert.True(e.IsTransient);
        Assert.Equal(status, e.StatusCode);

        var failures = 2;
        _double.Intercept = _ => Interlocked.Decrement(ref failures) >= 0 ? (status, "{}") : null;
        var storage = Open();
        await PutAsync(storage, "after-retries", Bytes(100, 7));
        Assert.Equal(Bytes(100, 7), await GetAsync(storage, "after-retries"));
    }
}
