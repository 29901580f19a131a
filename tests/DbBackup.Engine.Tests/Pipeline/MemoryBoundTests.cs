using DbBackup.Engine.Pipeline;
using DbBackup.Engine.Storage;
using Xunit;

namespace DbBackup.Engine.Tests.Pipeline;

public sealed class MemoryBoundTests
{
    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(4)]
    public async Task ChunksInFlightStayBoundedBehindASlowStorage(int parallelism)
    {
        using var temp = new TempFolder();
        var storage = new SlowStorage(new LocalFileStorage(temp.Path));
        var chunker = PipelineTestData.SmallChunker();
        var options = new PipelineOptions { Chunker = chunker, Compression = CompressionCodec.Zstd, MaxParallelism = parallelism, VolumeSize = 1024 * 1024 };
        var data = PipelineTestData.SqlText(2 * 1024 * 1024, seed: 8);
        await using var writer = await BackupDataWriter.CreateAsync(storage, "db/m/", "m", options, null, CancellationToken.None);
        await writer.WriteAsync(data);
        var summary = await writer.CompleteAsync(CancellationToken.None);
        Assert.True(summary.FrameCount > 50);
        // The bounded queue holds `parallelism` frames; one more is being appended and one more is being handed in.
        Assert.InRange(writer.MaxFramesInFlight, 1, parallelism + 2);
    }

    /// <summary>Every write to a volume takes a millisecond, so the producer always outruns the storage.</summary>
    private sealed class SlowStorage(IBackupStorage inner) : IBackupStorage
    {
        public string DisplayLocation => inner.DisplayLocation;

        public async Task<IObjectWriter> OpenWriteAsync(string key, CancellationToken cancellationToken) =>
            new SlowWriter(await inner.OpenWriteAsync(key, cancellationToken));

        public Task<Stream> OpenReadAsync(string key, long offset, long? length, CancellationToken cancellationToken) => inner.OpenReadAsync(key, offset, length, cancellationToken);
        public IAsyncEnumerable<StorageItem> ListAsync(string prefix, CancellationToken cancellationToken) => inner.ListAsync(prefix, cancellationToken);
        public Task<StorageItem?> StatAsync(string key, CancellationToken cancellationToken) => inner.StatAsync(key, cancellationToken);
        public Task DeleteAsync(string key, CancellationToken cancellationToken) => inner.DeleteAsync(key, cancellationToken);

        private sealed class SlowWriter(IObjectWriter inner) : IObjectWriter
        {
            public Stream Stream { get; } = new SlowStream(inner.Stream);
            public Task CommitAsync(CancellationToken cancellationToken) => inner.CommitAsync(cancellationToken);
            public ValueTask DisposeAsync() => inner.DisposeAsync();
        }

        private sealed class SlowStream(Stream inner) : Stream
        {
            public override bool CanRead => false;
            public override bool CanSeek => false;
            public override bool CanWrite => true;
            public override long Length => inner.Length;
            public override long Position { get => inner.Position; set => throw new NotSupportedException(); }
            public override void Flush() => inner.Flush();
            public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
            public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
            public override void SetLength(long value) => throw new NotSupportedException();
            public override void Write(byte[] buffer, int offset, int count) => inner.Write(buffer, offset, count);

            public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
            {
                await Task.Delay(1, cancellationToken);
                await inner.WriteAsync(buffer, cancellationToken);
            }
        }
    }
}
