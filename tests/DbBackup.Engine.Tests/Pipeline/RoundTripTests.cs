using System.Diagnostics;
using System.Security.Cryptography;
using DbBackup.Engine.Pipeline;
using DbBackup.Engine.Pipeline.Crypto;
using DbBackup.Engine.Storage;
using Xunit;
using Xunit.Abstractions;

namespace DbBackup.Engine.Tests.Pipeline;

public sealed class RoundTripTests(ITestOutputHelper output)
{
    private static readonly Lazy<byte[]> Input = new(() => PipelineTestData.SqlText(3 * 1024 * 1024 + 12345, seed: 11));

    public static TheoryData<CompressionCodec, string> Combinations()
    {
        var data = new TheoryData<CompressionCodec, string>();
        foreach (var codec in new[] { CompressionCodec.Zstd, CompressionCodec.Gzip, CompressionCodec.None })
        foreach (var encryption in new[] { "none", "passphrase", "keyfile", "both" })
            data.Add(codec, encryption);
        return data;
    }

    [Theory]
    [MemberData(nameof(Combinations))]
    public async Task EveryCompressionAndEncryptionRoundTripsThroughSeveralVolumes(CompressionCodec codec, string encryption)
    {
        using var temp = new TempFolder();
        var storage = new LocalFileStorage(temp.Combine("repo"));
        var options = new PipelineOptions
        {
            Chunker = PipelineTestData.SmallChunker(),
            Compression = codec,
            Encryption = EncryptionFor(encryption, temp),
            VolumeSize = 200 * 1024,
            MaxParallelism = 3,
        };
        var keys = options.Encryption is null ? null : BackupKeys.Create(options.Encryption, PipelineTestData.ChunkIdKey, PipelineTestData.TestIterations);
        var data = Input.Value;

        var summary = await PipelineTestData.WriteAsync(storage, "db/b1/", "b1", data, options, keys);

        Assert.True(summary.VolumeCount >= 3, $"{summary.VolumeCount} volumes");
        Assert.Equal(summary.VolumeCount, summary.Volumes.Count);
        Assert.Equal(data.Length, summary.Size);
        Assert.Equal(Convert.ToHexString(SHA256.HashData(data)).ToLowerInvariant(), summary.PlaintextSha256);
        Assert.Equal(codec, summary.Compression);
        Assert.Equal(encryption != "none", summary.Encryption is not null);
        foreach (var volume in summary.Volumes)
        {
            var bytes = await File.ReadAllBytesAsync(temp.Combine("repo", "db", "b1", volume.Name));
            Assert.True(bytes.Length <= options.VolumeSize);
            Assert.Equal(volume.Size, bytes.Length);
            Assert.Equal(volume.Sha256, Convert.ToHexString(SHA256.HashData(bytes)).ToLowerInvariant());
        }
        Assert.Equal(summary.StoredSize, summary.Volumes.Sum(v => v.Size));
        if (codec != CompressionCodec.None) Assert.True(summary.StoredSize < data.Length / 2, $"stored {summary.StoredSize} of {data.Length}");

        // Read back with keys opened from the stored header, as a restore would.
        var readKeys = summary.Encryption is null ? null : BackupKeys.Open(summary.Encryption, options.Encryption, PipelineTestData.ChunkIdKey);
        await using var reader = await BackupDataReader.OpenAsync(storage, "db/b1/", "b1", summary, readKeys, CancellationToken.None);
        using var copy = new MemoryStream();
        var buffer = new byte[5000];
        int n;
        while ((n = reader.Read(buffer, 0, buffer.Length)) > 0) copy.Write(buffer, 0, n);
        Assert.Equal(data, copy.ToArray());
        Assert.Equal(summary.FrameCount, reader.FramesRead);
        Assert.Equal(data.Length, reader.BytesRead);
    }

    [Theory]
    [InlineData(CompressionCodec.Zstd)]
    [InlineData(CompressionCodec.Gzip)]
    [InlineData(CompressionCodec.None)]
    public async Task EmptyInputIsOneEmptyFinalFrame(CompressionCodec codec)
    {
        using var temp = new TempFolder();
        var storage = new LocalFileStorage(temp.Path);
        var options = new PipelineOptions { Chunker = GearChunker.CreateDefault(), Compression = codec };
        var summary = await PipelineTestData.WriteAsync(storage, "db/e/", "e", [], options, null);
        Assert.Equal(1, summary.FrameCount);
        Assert.Equal(0, summary.Size);
        Assert.Empty(await PipelineTestData.ReadAllAsync(storage, "db/e/", "e", summary, null));
    }

    [Fact]
    public async Task LevelsAreRecordedAndValidated()
    {
        using var temp = new TempFolder();
        var storage = new LocalFileStorage(temp.Path);
        var data = Input.Value;
        var fast = await PipelineTestData.WriteAsync(storage, "db/z1/", "z1", data, new PipelineOptions { Chunker = GearChunker.CreateDefault(), Compression = CompressionCodec.Zstd }, null);
        var strong = await PipelineTestData.WriteAsync(storage, "db/z9/", "z9", data, new PipelineOptions { Chunker = GearChunker.CreateDefault(), Compression = CompressionCodec.Zstd, CompressionLevel = 9 }, null);
        var gzip = await PipelineTestData.WriteAsync(storage, "db/g/", "g", data, new PipelineOptions { Chunker = GearChunker.CreateDefault(), Compression = CompressionCodec.Gzip }, null);
        Assert.Equal(1, fast.CompressionLevel);
        Assert.Equal(9, strong.CompressionLevel);
        Assert.Equal(1, gzip.CompressionLevel);
        Assert.True(strong.StoredSize < fast.StoredSize);
        Assert.Equal(data, await PipelineTestData.ReadAllAsync(storage, "db/z9/", "z9", strong, null));

        var error = await Assert.ThrowsAsync<Errors.DbBackupException>(() => BackupDataWriter.CreateAsync(storage, "db/x/", "x",
            new PipelineOptions { Chunker = GearChunker.CreateDefault(), Compression = CompressionCodec.Gzip, CompressionLevel = 12 }, null, CancellationToken.None));
        Assert.Equal(Errors.ErrorIds.InvalidArgument, error.ErrorId);
        Assert.DoesNotContain(Directory.EnumerateFiles(temp.Path, "*", SearchOption.AllDirectories), f => f.Contains("/db/x/"));
    }

    [Fact]
    public void ZstdIsTheDefaultWhereLibzstdLoads()
    {
        Assert.True(ZstdCodec.IsAvailable, "libzstd.so.1 is installed on this machine");
        Assert.StartsWith("1.", ZstdCodec.LibraryVersion);
        Assert.Equal(CompressionCodec.Zstd, new PipelineOptions { Chunker = GearChunker.CreateDefault() }.Compression);
    }

    [Fact]
    public async Task WriterDisposedWithoutCompleteLeavesNoObject()
    {
        using var temp = new TempFolder();
        var storage = new LocalFileStorage(temp.Combine("repo"));
        var options = new PipelineOptions { Chunker = PipelineTestData.SmallChunker(), VolumeSize = 100 * 1024, MaxParallelism = 2 };
        var writer = await BackupDataWriter.CreateAsync(storage, "db/abandoned/", "abandoned", options, null, CancellationToken.None);
        await writer.WriteAsync(Input.Value);
        await Task.Delay(200);
        await writer.DisposeAsync();
        Assert.Empty(Directory.Exists(temp.Combine("repo")) ? Directory.EnumerateFiles(temp.Combine("repo"), "*", SearchOption.AllDirectories) : []);

        // The same through cancellation of the token given at creation, with the synchronous Dispose.
        using var cts = new CancellationTokenSource();
        var second = await BackupDataWriter.CreateAsync(storage, "db/cancelled/", "cancelled", options, null, cts.Token);
        second.Write(Input.Value, 0, 1024 * 1024);
        await cts.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () =>
        {
            for (var i = 0; i < 100; i++) await second.WriteAsync(Input.Value);
            await second.CompleteAsync(CancellationToken.None);
        });
        second.Dispose();
        Assert.Empty(Directory.Exists(temp.Combine("repo")) ? Directory.EnumerateFiles(temp.Combine("repo"), "*", SearchOption.AllDirectories) : []);
    }

    [Fact]
    public async Task WriterThroughputOnSqlText()
    {
        // ~256 MB of dump-like text through zstd -1 with 2 workers into a real folder (measured, not asserted:
        // the machine is shared; the benchmark in bench/ compares against pg_dump | zstd -1).
        using var temp = new TempFolder();
        var storage = new LocalFileStorage(temp.Path);
        var block = PipelineTestData.SqlText(64 * 1024 * 1024, seed: 5);
        var options = new PipelineOptions { Chunker = GearChunker.CreateDefault(), Compression = CompressionCodec.Zstd, MaxParallelism = 2 };
        var watch = Stopwatch.StartNew();
        await using (var writer = await BackupDataWriter.CreateAsync(storage, "db/t/", "t", options, null, CancellationToken.None))
        {
            for (var i = 0; i < 4; i++)
                for (var at = 0; at < block.Length; at += 128 * 1024) await writer.WriteAsync(block.AsMemory(at, Math.Min(128 * 1024, block.Length - at)));
            var summary = await writer.CompleteAsync(CancellationToken.None);
            output.WriteLine($"writer: {summary.Size / watch.Elapsed.TotalSeconds / 1e6:F0} MB/s, ratio {(double)summary.StoredSize / summary.Size:F3}, {summary.FrameCount} frames");
        }
    }

    private static EncryptionOptions? EncryptionFor(string kind, TempFolder temp)
    {
        if (kind == "none") return null;
        string? keyFile = null;
        if (kind is "keyfile" or "both")
        {
            keyFile = temp.Combine("key.bin");
            File.WriteAllBytes(keyFile, RandomNumberGenerator.GetBytes(32));
        }
        return new EncryptionOptions { Passphrase = kind is "passphrase" or "both" ? new SecretValue("correct horse battery staple") : null, KeyFile = keyFile };
    }
}
