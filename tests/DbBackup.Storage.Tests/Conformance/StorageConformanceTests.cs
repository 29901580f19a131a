using System.Security.Cryptography;
using DbBackup.Engine.Errors;
using DbBackup.Engine.Storage;
using Xunit;

namespace DbBackup.Storage.Tests.Conformance;

/// <summary>
/// The behaviour every <see cref="IBackupStorage"/> adapter must have, run against each real adapter (local disk, S3 on
/// fauxqs, Azure on Azurite, GCS on the firebase-tools storage emulator) by a derived class per adapter.
/// </summary>
public abstract class StorageConformanceTests<TFixture>(TFixture fixture) : IClassFixture<TFixture>
    where TFixture : class, IStorageFixture
{
    protected TFixture Fixture { get; } = fixture;

    private static CancellationToken Ct => TestContext.Ct;

    protected static byte[] RandomBytes(int length, int seed) => StorageIO.RandomBytes(length, seed);

    protected static Task PutAsync(IBackupStorage storage, string key, ReadOnlyMemory<byte> data, int writeSize = 65536)
        => StorageIO.PutAsync(storage, key, data, writeSize, Ct);

    protected static Task<byte[]> GetAsync(IBackupStorage storage, string key, long offset = 0, long? length = null)
        => StorageIO.GetAsync(storage, key, offset, length);

    protected static Task<List<StorageItem>> ListAsync(IBackupStorage storage, string prefix) => StorageIO.ListAsync(storage, prefix);

    [Fact]
    public async Task Put_then_get_returns_the_same_bytes_and_stat_reports_the_size()
    {
        var storage = Fixture.Open();
        var data = RandomBytes(300_000, 1);
        await PutAsync(storage, "db/b1/data.000001", data);
        Assert.Equal(data, await GetAsync(storage, "db/b1/data.000001"));
        var stat = await storage.StatAsync("db/b1/data.000001", Ct);
        Assert.NotNull(stat);
        Assert.Equal(data.Length, stat!.Size);
        Assert.Equal("db/b1/data.000001", stat.Key);
        Assert.InRange(stat.LastModified, DateTimeOffset.UtcNow.AddHours(-1), DateTimeOffset.UtcNow.AddHours(1));
    }

    [Fact]
    public async Task An_empty_object_can_be_written_and_read()
    {
        var storage = Fixture.Open();
        await PutAsync(storage, "empty", ReadOnlyMemory<byte>.Empty);
        Assert.Empty(await GetAsync(storage, "empty"));
        Assert.Equal(0, (await storage.StatAsync("empty", Ct))!.Size);
    }

    [Fact]
    public async Task Range_reads_return_exactly_the_requested_bytes()
    {
        var storage = Fixture.Open();
        var data = RandomBytes(100_000, 2);
        await PutAsync(storage, "ranged", data);
        Assert.Equal(data.AsSpan(1000, 5000).ToArray(), await GetAsync(storage, "ranged", 1000, 5000));
        Assert.Equal(data.AsSpan(99_990).ToArray(), await GetAsync(storage, "ranged", 99_990));
        Assert.Equal(data.AsSpan(0, 1).ToArray(), await GetAsync(storage, "ranged", 0, 1));
        Assert.Equal(data.AsSpan(99_999, 1).ToArray(), await GetAsync(storage, "ranged", 99_999, 1));
    }

    [Fact]
    public async Task Reading_a_missing_object_throws_BackupNotFound()
    {
        var storage = Fixture.Open();
        var e = await Assert.ThrowsAsync<BackupNotFoundException>(() => GetAsync(storage, "no/such/object"));
        Assert.Equal(ErrorIds.BackupNotFound, e.ErrorId);
        Assert.Null(await storage.StatAsync("no/such/object", Ct));
    }

    [Fact]
    public async Task An_object_larger_than_several_parts_round_trips()
    {
        var storage = Fixture.Open();
        var data = RandomBytes(Fixture.PartSize * 3 + Fixture.PartSize / 2 + 17, 3);
        await PutAsync(storage, "large/volume", data, writeSize: 1 << 20);
        Assert.Equal(SHA256.HashData(data), SHA256.HashData(await GetAsync(storage, "large/volume")));
        Assert.Equal(data.Length, (await storage.StatAsync("large/volume", Ct))!.Size);
        var tail = await GetAsync(storage, "large/volume", Fixture.PartSize * 2L - 10, 1000); // a range across a part boundary
        Assert.Equal(data.AsSpan(Fixture.PartSize * 2 - 10, 1000).ToArray(), tail);
    }

    [Fact]
    public async Task An_object_of_exactly_one_part_round_trips()
    {
        var storage = Fixture.Open();
        var data = RandomBytes(Fixture.PartSize, 4);
        await PutAsync(storage, "exact", data);
        Assert.Equal(data, await GetAsync(storage, "exact"));
    }

    [Fact]
    public async Task An_uncommitted_writer_leaves_nothing_visible()
    {
        var storage = Fixture.Open();
        var data = RandomBytes(Fixture.PartSize * 2 + 5, 5); // far enough to have started a multipart upload
        await using (var writer = await storage.OpenWriteAsync("abandoned/data", Ct))
        {
            await writer.Stream.WriteAsync(data, Ct);
        }
        Assert.Null(await storage.StatAsync("abandoned/data", Ct));
        Assert.Empty(await ListAsync(storage, "abandoned/"));
        await storage.CleanupIncompleteAsync("abandoned/", Ct);
        Assert.Empty(await ListAsync(storage, ""));
    }

    [Fact]
    public async Task A_cancelled_write_leaves_nothing_visible_and_keeps_the_previous_version()
    {
        var storage = Fixture.Open();
        await PutAsync(storage, "obj", RandomBytes(1000, 6));
        using var cts = new CancellationTokenSource();
        await using (var writer = await storage.OpenWriteAsync("obj", Ct))
        {
            await writer.Stream.WriteAsync(RandomBytes(Fixture.PartSize + 100, 7), Ct);
            cts.Cancel();
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => writer.CommitAsync(cts.Token));
        }
        Assert.Equal(RandomBytes(1000, 6), await GetAsync(storage, "obj"));
    }

    [Fact]
    public async Task Overwriting_replaces_the_whole_object()
    {
        var storage = Fixture.Open();
        await PutAsync(storage, "obj", RandomBytes(50_000, 8));
        await PutAsync(storage, "obj", RandomBytes(20, 9));
        Assert.Equal(RandomBytes(20, 9), await GetAsync(storage, "obj"));
    }

    [Fact]
    public async Task Listing_pages_through_many_objects_in_ordinal_order_and_honours_the_prefix()
    {
        var storage = Fixture.Open();
        var count = Fixture.ListPageSize * 2 + 3;
        var keys = Enumerable.Range(0, count).Select(i => $"db/b{i % 3}/obj-{i:D4}").ToList();
        await Parallel.ForEachAsync(keys, new ParallelOptions { MaxDegreeOfParallelism = 4, CancellationToken = Ct },
            async (key, _) => await PutAsync(storage, key, RandomBytes(10, key.GetHashCode())));
        await PutAsync(storage, "dbx/other", RandomBytes(3, 1));
        await PutAsync(storage, "db.sibling", RandomBytes(3, 1));

        var all = await ListAsync(storage, "db/");
        Assert.Equal(keys.Order(StringComparer.Ordinal), all.Select(i => i.Key));
        Assert.All(all, i => Assert.Equal(10, i.Size));
        var b1 = await ListAsync(storage, "db/b1/");
        Assert.Equal(keys.Where(k => k.StartsWith("db/b1/", StringComparison.Ordinal)).Order(StringComparer.Ordinal), b1.Select(i => i.Key));
        var partial = await ListAsync(storage, "db/b2/obj-000"); // a prefix that ends inside a name
        Assert.Equal(keys.Where(k => k.StartsWith("db/b2/obj-000", StringComparison.Ordinal)).Order(StringComparer.Ordinal), partial.Select(i => i.Key));
        Assert.Empty(await ListAsync(storage, "nothing-here/"));
        Assert.Equal(count + 2, (await ListAsync(storage, "")).Count);
    }

    [Fact]
    public async Task Delete_removes_the_object_and_succeeds_when_it_is_already_gone()
    {
        var storage = Fixture.Open();
        await PutAsync(storage, "a/b/c", RandomBytes(10, 10));
        await storage.DeleteAsync("a/b/c", Ct);
        Assert.Null(await storage.StatAsync("a/b/c", Ct));
        Assert.Empty(await ListAsync(storage, "a/"));
        await storage.DeleteAsync("a/b/c", Ct);
    }

    [Theory]
    [InlineData("données/ünïcödé 名前 ✓.bin")]
    [InlineData("spaces and+plus/percent%20sign&amp;=?#.txt")]
    [InlineData("emoji/🗄️ backup.json")]
    public async Task Unicode_and_reserved_characters_in_keys_round_trip(string key)
    {
        var storage = Fixture.Open();
        var data = RandomBytes(777, key.Length);
        await PutAsync(storage, key, data);
        Assert.Equal(data, await GetAsync(storage, key));
        var listed = await ListAsync(storage, key[..(key.IndexOf('/') + 1)]);
        Assert.Equal([key], listed.Select(i => i.Key));
        Assert.Equal(777, (await storage.StatAsync(key, Ct))!.Size);
        await storage.DeleteAsync(key, Ct);
        Assert.Null(await storage.StatAsync(key, Ct));
    }

    [Fact]
    public async Task Concurrent_writers_of_different_objects_do_not_interfere()
    {
        var storage = Fixture.Open();
        var sizes = new[] { 10, 70_000, Fixture.PartSize + 3, 1, 200_000, Fixture.PartSize * 2, 5000, 0 };
        await Task.WhenAll(sizes.Select((size, i) => PutAsync(storage, $"concurrent/{i}", RandomBytes(size, 100 + i), writeSize: 8192)));
        for (var i = 0; i < sizes.Length; i++)
            Assert.Equal(SHA256.HashData(RandomBytes(sizes[i], 100 + i)), SHA256.HashData(await GetAsync(storage, $"concurrent/{i}")));
    }

    [Fact]
    public async Task Concurrent_writers_of_the_same_key_leave_one_whole_version()
    {
        var storage = Fixture.Open();
        var a = RandomBytes(Fixture.PartSize + 1000, 11);
        var b = RandomBytes(Fixture.PartSize / 2, 12);
        await Task.WhenAll(PutAsync(storage, "same", a, 4096), PutAsync(storage, "same", b, 4096));
        var got = await GetAsync(storage, "same");
        Assert.True(got.AsSpan().SequenceEqual(a) || got.AsSpan().SequenceEqual(b), $"got {got.Length} bytes that match neither writer");
    }

    [Fact]
    public async Task Invalid_keys_are_rejected_before_any_request()
    {
        var storage = Fixture.Open();
        foreach (var key in new[] { "", "/abs", "a//b", "a/../b", "./a" })
        {
            var e = await Assert.ThrowsAnyAsync<DbBackupException>(() => storage.OpenWriteAsync(key, Ct));
            Assert.Equal(ErrorIds.InvalidArgument, e.ErrorId);
        }
    }

    [Fact]
    public void The_display_location_contains_no_secret()
    {
        var storage = Fixture.Open();
        Assert.DoesNotContain("sig=", storage.DisplayLocation, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("AccountKey", storage.DisplayLocation, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("secret", storage.DisplayLocation, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("token", storage.DisplayLocation, StringComparison.OrdinalIgnoreCase);
    }
}

/// <summary>The test's cancellation token (xUnit 2 has none built in).</summary>
internal static class TestContext
{
    public static CancellationToken Ct => CancellationToken.None;
}
