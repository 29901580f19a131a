using System.Security.Cryptography;
using DbBackup.Engine.Errors;
using DbBackup.Engine.Pipeline;
using DbBackup.Engine.Storage;
using DbBackup.Storage.Tests.Faults;
using Xunit;
using static DbBackup.Storage.Tests.Conformance.StorageIO;

namespace DbBackup.Storage.Tests.Conformance;

/// <summary>
/// Failure behaviour every networked adapter must have, run through a <see cref="FaultProxy"/> in front of the
/// adapter's emulator: transient errors, reset connections, stalls and a vanished server are retried to success, or
/// the write fails cleanly with nothing visible. Each cloud adapter derives one class:
/// <c>public sealed class S3FaultTests(S3Fixture f) : StorageFaultTests&lt;S3Fixture&gt;(f);</c>
/// The fixture's <c>Open(endpoint, options)</c> must send every request to <c>endpoint</c> and take the transfer
/// tuning (part size, concurrency, retries, delays, timeout) from <c>options</c>, keeping its own credentials
/// (<see cref="StorageTuning.Apply"/> does that merge).
/// </summary>
public abstract class StorageFaultTests<TFixture>(TFixture fixture) : IClassFixture<TFixture>
    where TFixture : class, IStorageFixture
{
    protected const int MaxRetries = 3;

    protected TFixture Fixture { get; } = fixture;

    private int PartSize => Fixture.PartSize;

    /// <summary>Small, fast settings: parts of the fixture's size, two in flight, retries after milliseconds.</summary>
    protected StorageOptions Options(TimeSpan? requestTimeout = null) => new()
    {
        PartSize = PartSize,
        MaxConcurrentParts = 2,
        ListPageSize = Fixture.ListPageSize,
        MaxRetries = MaxRetries,
        RetryBaseDelay = TimeSpan.FromMilliseconds(10),
        RequestTimeout = requestTimeout ?? TimeSpan.FromSeconds(20),
    };

    private async Task<FaultProxy> StartProxyAsync()
    {
        var endpoint = Fixture.ServiceEndpoint
            ?? throw new InvalidOperationException($"{typeof(TFixture).Name} has no ServiceEndpoint; the fault suite needs an HTTP service (see tests/run-tests.sh).");
        return await FaultProxy.StartAsync(endpoint);
    }

    /// <summary>Part uploads to let through before a fault fires: <paramref name="parts"/>, or 0 where objects go up in one request.</summary>
    private int SkipParts(int parts) => Fixture.UploadsInParts ? parts : 0;

    /// <summary>A request carrying one part of a multipart upload (or a whole object): its body is at least half a part.</summary>
    private bool IsPart(ProxiedRequest r) => FaultProxy.IsDataUpload(r, PartSize / 2);

    /// <summary>An object of four and a bit parts.</summary>
    private byte[] MultiPartData(int seed) => RandomBytes(PartSize * 4 + 1234, seed);

    private static void AssertSameBytes(byte[] expected, byte[] actual)
    {
        Assert.Equal(expected.Length, actual.Length);
        Assert.Equal(Convert.ToHexString(SHA256.HashData(expected)), Convert.ToHexString(SHA256.HashData(actual)));
    }

    /// <summary>The faulted request was sent again, and the repeat succeeded.</summary>
    private static void AssertRetried(FaultProxy proxy)
    {
        var requests = proxy.Requests;
        var faulted = requests.Where(r => r.Fault is not null).ToList();
        Assert.NotEmpty(faulted);
        foreach (var f in faulted)
        {
            Assert.True(requests.Any(r => r.Sequence > f.Sequence && r.Method == f.Method && r.PathAndQuery == f.PathAndQuery && r.Fault is null && r.Status is >= 200 and < 300),
                $"The faulted request {f} was not repeated successfully. Requests:\n{string.Join('\n', requests)}");
        }
    }

    private async Task AssertNothingVisibleAsync(IBackupStorage storage)
    {
        Assert.Empty(await ListAsync(storage, ""));
        await storage.CleanupIncompleteAsync("", CancellationToken.None);
        Assert.Empty(await ListAsync(storage, ""));
        if (await Fixture.CountPendingUploadsAsync(storage) is { } pending) Assert.Equal(0, pending);
    }

    [Fact]
    public async Task A_transient_503_on_a_part_upload_is_retried_and_the_object_is_intact()
    {
        await using var proxy = await StartProxyAsync();
        var rule = proxy.Add(new FaultRule { Match = IsPart, Kind = FaultKind.Status, Status = 503, Skip = SkipParts(1) });
        var storage = Fixture.Open(proxy.Endpoint, Options());
        var data = MultiPartData(1);
        await PutAsync(storage, "faults/volume-503", data);
        Assert.Equal(1, rule.Fired);
        AssertRetried(proxy);
        AssertSameBytes(data, await GetAsync(storage, "faults/volume-503"));
        Assert.Equal(data.Length, (await storage.StatAsync("faults/volume-503", CancellationToken.None))!.Size);
    }

    [Fact]
    public async Task A_500_on_a_single_request_upload_is_retried()
    {
        await using var proxy = await StartProxyAsync();
        var rule = proxy.Add(new FaultRule { Match = r => FaultProxy.IsDataUpload(r, 1000), Kind = FaultKind.Status, Status = 500 });
        var storage = Fixture.Open(proxy.Endpoint, Options());
        var data = RandomBytes(PartSize / 2 + 100, 2); // fits in one request
        await PutAsync(storage, "faults/small-500", data);
        Assert.Equal(1, rule.Fired);
        AssertRetried(proxy);
        AssertSameBytes(data, await GetAsync(storage, "faults/small-500"));
    }

    [Fact]
    public async Task A_connection_reset_in_the_middle_of_a_part_upload_is_retried()
    {
        await using var proxy = await StartProxyAsync();
        var rule = proxy.Add(new FaultRule { Match = IsPart, Kind = FaultKind.ResetDuringRequestBody, AfterBytes = PartSize / 4, Skip = SkipParts(2) });
        var storage = Fixture.Open(proxy.Endpoint, Options());
        var data = MultiPartData(3);
        await PutAsync(storage, "faults/volume-reset", data);
        Assert.Equal(1, rule.Fired);
        AssertRetried(proxy);
        AssertSameBytes(data, await GetAsync(storage, "faults/volume-reset"));
    }

    [Fact]
    public async Task A_request_stalled_past_the_request_timeout_is_retried()
    {
        await using var proxy = await StartProxyAsync();
        var rule = proxy.Add(new FaultRule { Match = IsPart, Kind = FaultKind.Stall, Skip = SkipParts(1) });
        var storage = Fixture.Open(proxy.Endpoint, Options(requestTimeout: TimeSpan.FromSeconds(2)));
        var data = MultiPartData(4);
        var clock = System.Diagnostics.Stopwatch.StartNew();
        await PutAsync(storage, "faults/volume-stall", data);
        Assert.Equal(1, rule.Fired);
        Assert.InRange(clock.Elapsed, TimeSpan.FromSeconds(1.9), TimeSpan.FromSeconds(50)); // it waited for the timeout, not the 60 s stall
        AssertRetried(proxy);
        AssertSameBytes(data, await GetAsync(storage, "faults/volume-stall"));
    }

    [Fact]
    public async Task Persistent_part_failures_fail_the_write_with_a_clear_error_and_leave_nothing_visible()
    {
        await using var proxy = await StartProxyAsync();
        var rule = proxy.Add(new FaultRule { Match = IsPart, Kind = FaultKind.Status, Status = 503, Skip = SkipParts(1), Times = int.MaxValue });
        var storage = Fixture.Open(proxy.Endpoint, Options());
        var e = await Assert.ThrowsAnyAsync<DbBackupException>(() => PutAsync(storage, "faults/volume-dead", MultiPartData(5)));
        Assert.Equal(ErrorIds.StorageError, e.ErrorId);
        Assert.False(string.IsNullOrWhiteSpace(e.Message));
        Assert.True(rule.Fired >= MaxRetries + 1, $"expected the failing part to be tried {MaxRetries + 1} times, saw {rule.Fired} failures");
        // Two parts are in flight and both fail; the first to exhaust its retries fails the write and the other is
        // cancelled, so look for the part that was tried most, not the one that happened to fail first.
        var requests = proxy.Requests;
        var mostTried = requests.Where(r => r.Fault is not null)
            .Select(f => requests.Count(r => r.Method == f.Method && r.PathAndQuery == f.PathAndQuery)).Max();
        Assert.True(mostTried >= MaxRetries + 1, $"no failed part was retried MaxRetries times (most tries: {mostTried})");
        proxy.ClearRules();
        Assert.Null(await storage.StatAsync("faults/volume-dead", CancellationToken.None));
        await AssertNothingVisibleAsync(storage);
    }

    [Fact]
    public async Task A_backup_whose_uploads_keep_failing_leaves_no_volume_index_or_manifest()
    {
        await using var proxy = await StartProxyAsync();
        var storage = Fixture.Open(proxy.Endpoint, Options());
        proxy.Add(new FaultRule { Match = IsPart, Kind = FaultKind.Status, Status = 503, Skip = SkipParts(3), Times = int.MaxValue });
        var options = new PipelineOptions
        {
            Chunker = new GearChunker(4096, 16 * 1024, 64 * 1024),
            Compression = CompressionCodec.None,
            VolumeSize = Math.Max(PartSize * 2L, 200_000),
            MaxParallelism = 2,
        };
        var data = RandomBytes(PartSize * 8, 6);
        await Assert.ThrowsAnyAsync<DbBackupException>(async () =>
        {
            await using var writer = await BackupDataWriter.CreateAsync(storage, "db/20260101T000000Z-abcdef/", "20260101T000000Z-abcdef", options, null, CancellationToken.None);
            await writer.WriteAsync(data);
            await writer.CompleteAsync(CancellationToken.None);
        });
        proxy.ClearRules();
        Assert.Empty(await ListAsync(storage, "db/"));
        await AssertNothingVisibleAsync(storage);
    }

    [Fact]
    public async Task The_server_going_away_mid_upload_fails_cleanly_and_nothing_is_visible_once_it_is_back()
    {
        await using var proxy = await StartProxyAsync();
        proxy.Add(new FaultRule { Match = IsPart, Kind = FaultKind.ServerGone, Skip = SkipParts(1) });
        var storage = Fixture.Open(proxy.Endpoint, Options());
        var e = await Assert.ThrowsAnyAsync<DbBackupException>(() => PutAsync(storage, "faults/volume-gone", MultiPartData(7)));
        Assert.Equal(ErrorIds.StorageError, e.ErrorId);
        await proxy.WaitUntilGoneAsync();
        Assert.True(await FaultProxy.RefusesConnectionsAsync(proxy.Endpoint), "the proxy should refuse connections while the server is gone");

        proxy.ClearRules();
        await proxy.RestartAsync();
        Assert.Null(await storage.StatAsync("faults/volume-gone", CancellationToken.None));
        await AssertNothingVisibleAsync(storage);
    }

    [Fact]
    public async Task Cancelling_a_write_while_a_part_is_in_flight_leaves_nothing_visible()
    {
        await using var proxy = await StartProxyAsync();
        using var cts = new CancellationTokenSource();
        var rule = proxy.Add(new FaultRule { Match = IsPart, Kind = FaultKind.Stall, Skip = SkipParts(1), OnFault = _ => cts.Cancel() });
        var storage = Fixture.Open(proxy.Endpoint, Options());
        var clock = System.Diagnostics.Stopwatch.StartNew();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => PutAsync(storage, "faults/volume-cancelled", MultiPartData(8), cancellationToken: cts.Token));
        Assert.InRange(clock.Elapsed, TimeSpan.Zero, TimeSpan.FromSeconds(15)); // the cancelled write did not wait out the 20 s request timeout
        Assert.Equal(1, rule.Fired);
        proxy.ClearRules();
        Assert.Null(await storage.StatAsync("faults/volume-cancelled", CancellationToken.None));
        await AssertNothingVisibleAsync(storage);
    }

    [Fact]
    public async Task A_read_broken_mid_stream_resumes_where_it_stopped_and_the_bytes_are_intact()
    {
        await using var proxy = await StartProxyAsync();
        var storage = Fixture.Open(proxy.Endpoint, Options());
        var data = MultiPartData(9);
        await PutAsync(storage, "faults/read-volume", data);
        var rule = proxy.Add(new FaultRule
        {
            Match = r => r.Method == "GET" && r.PathAndQuery.Contains("read-volume", StringComparison.Ordinal),
            Kind = FaultKind.ResetDuringResponseBody,
            AfterBytes = PartSize + 777,
            Times = 2,
        });
        AssertSameBytes(data, await GetAsync(storage, "faults/read-volume"));
        Assert.True(rule.Fired == 2, $"broken {rule.Fired} times, expected twice; requests:\n{string.Join('\n', proxy.Requests)}"); // broken twice, resumed twice
        var reads = proxy.Requests.Where(r => r.Method == "GET" && r.PathAndQuery.Contains("read-volume", StringComparison.Ordinal) && r.ResponseLength is not null).ToList();
        Assert.True(reads.Count >= 3, $"expected 3 ranged GETs, saw {reads.Count}");
        Assert.True(reads[^1].ResponseLength < data.Length, "the resumed read should fetch only the rest of the object");
    }

    [Fact]
    public async Task A_range_read_broken_mid_stream_resumes_inside_the_range()
    {
        await using var proxy = await StartProxyAsync();
        var storage = Fixture.Open(proxy.Endpoint, Options());
        var data = MultiPartData(10);
        await PutAsync(storage, "faults/read-range", data);
        var rule = proxy.Add(new FaultRule
        {
            Match = r => r.Method == "GET" && r.PathAndQuery.Contains("read-range", StringComparison.Ordinal),
            Kind = FaultKind.ResetDuringResponseBody,
            AfterBytes = PartSize / 2,
        });
        var slice = await GetAsync(storage, "faults/read-range", 1000, PartSize * 2L);
        Assert.Equal(1, rule.Fired);
        Assert.Equal(data.AsSpan(1000, PartSize * 2).ToArray(), slice);
    }

    [Fact]
    public async Task Transient_errors_on_list_stat_read_and_delete_are_retried()
    {
        await using var proxy = await StartProxyAsync();
        var storage = Fixture.Open(proxy.Endpoint, Options());
        var data = RandomBytes(5000, 11);
        await PutAsync(storage, "faults/meta/a", data);
        await PutAsync(storage, "faults/meta/b", data);

        async Task OnceFailing<T>(Func<Task<T>> operation, Action<T> check)
        {
            var rule = proxy.Add(new FaultRule { Match = _ => true, Kind = FaultKind.Status, Status = 503 });
            check(await operation());
            Assert.Equal(1, rule.Fired);
            proxy.ClearRules();
        }

        await OnceFailing(() => ListAsync(storage, "faults/meta/"), items => Assert.Equal(["faults/meta/a", "faults/meta/b"], items.Select(i => i.Key)));
        await OnceFailing(() => storage.StatAsync("faults/meta/a", CancellationToken.None), item => Assert.Equal(5000, item!.Size));
        await OnceFailing(() => GetAsync(storage, "faults/meta/b"), bytes => Assert.Equal(data, bytes));
        await OnceFailing(async () => { await storage.DeleteAsync("faults/meta/a", CancellationToken.None); return true; }, _ => { });
        Assert.Null(await storage.StatAsync("faults/meta/a", CancellationToken.None));
        AssertRetried(proxy);
    }
}

/// <summary>Builds the options a fixture opens storage with under the fault suite: its own credentials, the test's tuning.</summary>
public static class StorageTuning
{
    public static StorageOptions Apply(StorageOptions fixtureOptions, StorageOptions? tuning) => tuning is null ? fixtureOptions : new StorageOptions
    {
        Environment = fixtureOptions.Environment,
        S3 = fixtureOptions.S3,
        Azure = fixtureOptions.Azure,
        Gcs = fixtureOptions.Gcs,
        PartSize = tuning.PartSize ?? fixtureOptions.PartSize,
        MaxConcurrentParts = tuning.MaxConcurrentParts ?? fixtureOptions.MaxConcurrentParts,
        ListPageSize = tuning.ListPageSize ?? fixtureOptions.ListPageSize,
        MaxRetries = tuning.MaxRetries,
        RetryBaseDelay = tuning.RetryBaseDelay,
        RequestTimeout = tuning.RequestTimeout,
    };
}
