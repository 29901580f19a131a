using DbBackup.Engine.Storage.ObjectStore;
using Xunit;
using static DbBackup.Storage.Tests.Conformance.StorageIO;

namespace DbBackup.Storage.Tests.ObjectStore;

/// <summary>PartUploadWriter (bounded-memory multipart uploads) over a FAKE in-process client.</summary>
public sealed class PartUploadWriterWithFakeClientTests
{
    private const int Part = 1024;

    private static async Task WriteAsync(Engine.Storage.IObjectWriter writer, byte[] data, int writeSize = 300, CancellationToken cancellationToken = default)
    {
        for (var i = 0; i < data.Length; i += writeSize)
            await writer.Stream.WriteAsync(data.AsMemory(i, Math.Min(writeSize, data.Length - i)), cancellationToken);
    }

    [Fact]
    public async Task An_object_that_fits_in_one_part_is_one_put_and_no_multipart_upload()
    {
        var client = new FakeObjectStoreClient(Part);
        var data = RandomBytes(Part - 1, 1);
        await PutAsync(new ObjectStoreStorage(client), "small", data, 100);
        Assert.Equal(data, client.Objects["small"]);
        Assert.Equal(1, client.Calls("put"));
        Assert.Equal(0, client.Calls("start"));
        Assert.Equal(0, client.Calls("part"));
    }

    [Fact]
    public async Task A_large_object_goes_up_in_numbered_parts_with_their_offsets_and_is_completed_once()
    {
        var client = new FakeObjectStoreClient(Part, maxConcurrentParts: 3);
        var data = RandomBytes(Part * 5 + 17, 2);
        await PutAsync(new ObjectStoreStorage(client), "large", data, 333);
        Assert.Equal(data, client.Objects["large"]);
        var parts = client.PartsUploaded.OrderBy(p => p.PartNumber).ToList();
        Assert.Equal([1, 2, 3, 4, 5, 6], parts.Select(p => p.PartNumber));
        Assert.Equal(Enumerable.Range(0, 6).Select(i => (long)i * Part), parts.Select(p => p.Offset));
        Assert.Equal(17, parts[^1].Content.Length);
        Assert.Equal(1, client.Calls("start"));
        Assert.Equal(1, client.Calls("complete"));
        Assert.Equal(0, client.PendingUploads);
    }

    [Fact]
    public async Task Memory_is_bounded_a_full_writer_waits_for_a_part_slot_with_at_most_MaxConcurrentParts_plus_one_parts_buffered()
    {
        var client = new FakeObjectStoreClient(Part, maxConcurrentParts: 2);
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        client.OnPart = (_, ct) => gate.Task.WaitAsync(ct);
        await using var writer = await new ObjectStoreStorage(client).OpenWriteAsync("bounded", CancellationToken.None);
        var data = RandomBytes(Part * 10, 3);
        var writing = WriteAsync(writer, data, 100);
        await WaitUntil(() => client.PartsInFlight == 2);
        await Task.Delay(200);
        Assert.False(writing.IsCompleted, "the writer should block while every part slot is busy");
        Assert.Equal(2, client.PartsInFlight);
        // Accepted so far: two parts in flight plus one full buffer (the third part waiting for a slot).
        Assert.InRange(writer.Stream.Length, 2 * Part, 3 * Part);
        gate.SetResult();
        await writing;
        await writer.CommitAsync(CancellationToken.None);
        Assert.Equal(2, client.MaxPartsInFlight);
        Assert.Equal(data, client.Objects["bounded"]);
    }

    [Fact]
    public async Task Writers_of_one_storage_share_its_part_slots_two_open_objects_never_have_more_than_MaxConcurrentParts_in_flight()
    {
        // A backup keeps the previous volume committing while it fills the next: a budget per writer would double the
        // part memory (the 8 MiB x 8 S3 default held ~150 MB in two volumes). One budget per storage bounds both.
        var client = new FakeObjectStoreClient(Part, maxConcurrentParts: 3);
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        client.OnPart = (_, ct) => gate.Task.WaitAsync(ct);
        var storage = new ObjectStoreStorage(client);
        await using var first = await storage.OpenWriteAsync("volume-1", CancellationToken.None);
        await using var second = await storage.OpenWriteAsync("volume-2", CancellationToken.None);
        var data1 = RandomBytes(Part * 8, 21);
        var data2 = RandomBytes(Part * 8, 22);
        var writing = Task.WhenAll(WriteAsync(first, data1, 100), WriteAsync(second, data2, 100));
        await WaitUntil(() => client.PartsInFlight == 3);
        await Task.Delay(200);
        Assert.Equal(3, client.PartsInFlight);
        Assert.False(writing.IsCompleted, "both writers should wait for a slot of the shared budget");
        gate.SetResult();
        await writing;
        await first.CommitAsync(CancellationToken.None);
        await second.CommitAsync(CancellationToken.None);
        Assert.Equal(3, client.MaxPartsInFlight);
        Assert.Equal(data1, client.Objects["volume-1"]);
        Assert.Equal(data2, client.Objects["volume-2"]);
    }

    [Fact]
    public async Task A_failed_part_frees_its_slot_so_other_writers_of_the_storage_go_on()
    {
        var client = new FakeObjectStoreClient(Part, maxConcurrentParts: 2);
        client.OnPart = (part, _) => part.Key == "doomed"
            ? Task.FromException(new StorageRequestException("injected permanent failure", isTransient: false))
            : Task.CompletedTask;
        var storage = new ObjectStoreStorage(client);
        await using (var doomed = await storage.OpenWriteAsync("doomed", CancellationToken.None))
        {
            await Assert.ThrowsAsync<StorageRequestException>(async () =>
            {
                await WriteAsync(doomed, RandomBytes(Part * 6, 23));
                await doomed.CommitAsync(CancellationToken.None);
            });
        }
        var data = RandomBytes(Part * 6, 24);
        await PutAsync(storage, "healthy", data, 100).WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal(data, client.Objects["healthy"]);
        Assert.False(client.Objects.ContainsKey("doomed"));
    }

    [Fact]
    public async Task Disposing_without_commit_aborts_the_multipart_upload_and_nothing_is_visible()
    {
        var client = new FakeObjectStoreClient(Part);
        await using (var writer = await new ObjectStoreStorage(client).OpenWriteAsync("abandoned", CancellationToken.None))
        {
            await WriteAsync(writer, RandomBytes(Part * 3 + 5, 4));
        }
        Assert.Equal(1, client.Calls("abort"));
        Assert.Equal(0, client.Calls("complete"));
        Assert.Equal(0, client.PendingUploads);
        Assert.Empty(client.Objects);
    }

    [Fact]
    public async Task Disposing_without_commit_before_the_first_part_sends_nothing()
    {
        var client = new FakeObjectStoreClient(Part);
        await using (var writer = await new ObjectStoreStorage(client).OpenWriteAsync("nothing", CancellationToken.None))
        {
            await WriteAsync(writer, RandomBytes(Part / 2, 5));
        }
        Assert.Equal(0, client.Calls("start") + client.Calls("put") + client.Calls("abort"));
        Assert.Empty(client.Objects);
    }

    [Fact]
    public async Task A_failed_part_fails_the_write_and_the_upload_is_aborted()
    {
        var client = new FakeObjectStoreClient(Part);
        client.OnPart = (part, _) => part.PartNumber == 2 ? throw new StorageRequestException("part 2 failed", isTransient: false, 400) : Task.CompletedTask;
        var e = await Assert.ThrowsAsync<StorageRequestException>(() => PutAsync(new ObjectStoreStorage(client), "failing", RandomBytes(Part * 6, 6), 256));
        Assert.Equal("part 2 failed", e.Message);
        Assert.Equal(1, client.Calls("abort"));
        Assert.Equal(0, client.Calls("complete"));
        Assert.Equal(0, client.PendingUploads);
        Assert.Empty(client.Objects);
    }

    [Fact]
    public async Task A_cancelled_commit_cancels_the_parts_in_flight_and_aborts()
    {
        var client = new FakeObjectStoreClient(Part, maxConcurrentParts: 4);
        var cancelledParts = 0;
        client.OnPart = async (part, ct) =>
        {
            if (part.PartNumber < 3) return;
            try { await Task.Delay(Timeout.Infinite, ct); }
            catch (OperationCanceledException) { Interlocked.Increment(ref cancelledParts); throw; }
        };
        using var cts = new CancellationTokenSource();
        await using (var writer = await new ObjectStoreStorage(client).OpenWriteAsync("cancelled", CancellationToken.None))
        {
            await WriteAsync(writer, RandomBytes(Part * 4 + 1, 7));
            cts.CancelAfter(100);
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => writer.CommitAsync(cts.Token));
        }
        Assert.Equal(3, cancelledParts); // parts 3, 4 and the final part 5 were stopped, not left running
        Assert.Equal(1, client.Calls("abort"));
        Assert.Empty(client.Objects);
    }

    [Fact]
    public async Task A_write_waiting_for_a_part_slot_honours_cancellation()
    {
        var client = new FakeObjectStoreClient(Part, maxConcurrentParts: 1);
        client.OnPart = (_, ct) => Task.Delay(Timeout.Infinite, ct); // every part hangs until the writer gives up
        using var cts = new CancellationTokenSource();
        await using (var writer = await new ObjectStoreStorage(client).OpenWriteAsync("stuck", CancellationToken.None))
        {
            cts.CancelAfter(200);
            var clock = System.Diagnostics.Stopwatch.StartNew();
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => WriteAsync(writer, RandomBytes(Part * 3, 8), 512, cts.Token));
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(10), $"the cancelled write took {clock.Elapsed}");
        }
        Assert.Equal(1, client.Calls("abort"));
        Assert.Equal(0, client.PendingUploads);
    }

    [Fact]
    public async Task Writing_after_commit_is_refused()
    {
        var client = new FakeObjectStoreClient(Part);
        await using var writer = await new ObjectStoreStorage(client).OpenWriteAsync("done", CancellationToken.None);
        await WriteAsync(writer, RandomBytes(10, 9));
        await writer.CommitAsync(CancellationToken.None);
        await Assert.ThrowsAsync<ObjectDisposedException>(() => writer.Stream.WriteAsync(new byte[1]).AsTask());
        Assert.Equal(10, client.Objects["done"].Length);
    }

    private static async Task WaitUntil(Func<bool> condition)
    {
        for (var i = 0; i < 500 && !condition(); i++) await Task.Delay(10);
        Assert.True(condition(), "timed out waiting for the condition");
    }
}
