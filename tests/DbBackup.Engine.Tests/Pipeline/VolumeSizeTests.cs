using System.Security.Cryptography;
using DbBackup.Engine.Errors;
using DbBackup.Engine.Pipeline;
using DbBackup.Engine.Pipeline.Codecs;
using DbBackup.Engine.Storage;
using Xunit;

namespace DbBackup.Engine.Tests.Pipeline;

/// <summary>Volumes smaller than the chunker's maximum: chunks are capped so every frame fits whole in a volume.</summary>
public sealed class VolumeSizeTests
{
    [Theory]
    [InlineData(CompressionCodec.Zstd, false)]
    [InlineData(CompressionCodec.Gzip, true)]
    [InlineData(CompressionCodec.None, true)]
    public async Task SmallVolumesCapTheChunkSize(CompressionCodec codec, bool encrypted)
    {
        using var temp = new TempFolder();
        var storage = new LocalFileStorage(temp.Path);
        var options = new PipelineOptions
        {
            Chunker = GearChunker.CreateDefault(), Compression = codec, VolumeSize = 64 * 1024, MaxParallelism = 2,
            Encryption = encrypted ? new EncryptionOptions { Passphrase = new SecretValue("p") } : null,
        };
        var keys = encrypted ? Engine.Pipeline.Crypto.BackupKeys.Create(options.Encryption!, PipelineTestData.ChunkIdKey, PipelineTestData.TestIterations) : null;
        // Random bytes do not compress: the worst case for the frame-size bound.
        var data = PipelineTestData.RandomBytes(1024 * 1024, 5).Concat(PipelineTestData.SqlText(1024 * 1024)).ToArray();
        var summary = await PipelineTestData.WriteAsync(storage, "db/v/", "v", data, options, keys);

        Assert.StartsWith("gear-v1/256K/1M/4M;max=", summary.Chunker);
        Assert.All(summary.Volumes, v => Assert.True(v.Size <= options.VolumeSize, $"{v.Name}: {v.Size} bytes"));
        Assert.Equal(data, await PipelineTestData.ReadAllAsync(storage, "db/v/", "v", summary, keys));
    }

    [Fact]
    public async Task PageAlignedChunksStayWholePagesUnderTheCap()
    {
        using var temp = new TempFolder();
        var storage = new LocalFileStorage(temp.Path);
        var options = new PipelineOptions { Chunker = new PageAlignedChunker(4096), Compression = CompressionCodec.None, VolumeSize = 128 * 1024 };
        var data = PipelineTestData.RandomBytes(200 * 4096, 6);
        var summary = await PipelineTestData.WriteAsync(storage, "db/p/", "p", data, options, null);
        var limit = BackupDataWriter.ChunkLimit(options.Chunker, options.VolumeSize);
        Assert.Equal(0, limit % 4096);
        using var index = new FrameIndex.Reader(File.OpenRead(Path.Combine(temp.Path, "db", "p", "index")));
        while ((await index.ReadNextAsync(CancellationToken.None)).Frame is { } frame)
        {
            Assert.Equal(0, frame.PlainLength % 4096);
            Assert.True(frame.PlainLength <= limit);
        }
        Assert.Equal(data, await PipelineTestData.ReadAllAsync(storage, "db/p/", "p", summary, null));
    }

    [Fact]
    public async Task AVolumeTooSmallForOneFrameIsAnInvalidArgument()
    {
        using var temp = new TempFolder();
        var error = await Assert.ThrowsAsync<DbBackupException>(() => BackupDataWriter.CreateAsync(new LocalFileStorage(temp.Path), "db/x/", "x",
            new PipelineOptions { Chunker = new PageAlignedChunker(65536), VolumeSize = 64 * 1024 }, null, CancellationToken.None));
        Assert.Equal(ErrorIds.InvalidArgument, error.ErrorId);
        Assert.Contains("at least", error.RecommendedAction);
        Assert.Empty(Directory.EnumerateFiles(temp.Path, "*", SearchOption.AllDirectories));
    }

    [Theory]
    [InlineData(CompressionCodec.Zstd)]
    [InlineData(CompressionCodec.Gzip)]
    public void IncompressibleFramesStayWithinTheFrameBound(CompressionCodec codec)
    {
        foreach (var level in codec == CompressionCodec.Zstd ? new[] { -7, 1, 19 } : new[] { 0, 1, 5, 9 })
        {
            var coder = FrameCodecs.ForWriting(codec, level);
            foreach (var size in new[] { 4096, 65536, 1 << 20 })
            {
                var plain = RandomNumberGenerator.GetBytes(size);
                var frame = coder.Compress(plain, 16);
                Assert.True(frame.Length + 16 <= size + size / 8 + 4096, $"{codec} {level}: {size} → {frame.Length}");
                frame.Return();
            }
        }
    }
}
