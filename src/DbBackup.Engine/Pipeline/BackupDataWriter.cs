using System.Threading.Channels;
using DbBackup.Engine.Errors;
using DbBackup.Engine.Pipeline.Codecs;
using DbBackup.Engine.Pipeline.Crypto;
using DbBackup.Engine.Storage;

namespace DbBackup.Engine.Pipeline;

/// <summary>
/// The write side of the pipeline: a write-only stream the connector dumps into. It chunks, compresses,
/// optionally seals, and appends frames to bounded data volumes under <c>prefix</c>, then writes the frame index.
/// Frames are processed by up to MaxParallelism workers and appended in strict order; a bounded queue keeps
/// memory near (MaxParallelism + 2) x MaxSize chunks (plus their compressed copies), independent of the dump size.
/// Disposed without <see cref="CompleteAsync"/>, it removes every object it wrote.
/// </summary>
public sealed class BackupDataWriter : Stream
{
    private readonly IChunker _chunker;
    private readonly IFrameCodec _codec;
    private readonly BackupKeys? _keys;
    private readonly PipelineOptions _options;
    private readonly VolumeSink _sink;
    private readonly FrameProcessor _processor;
    private readonly Channel<Task<ProcessedFrame>> _frames;
    private readonly SemaphoreSlim _workers;
    private readonly CancellationTokenSource _cts;
    private readonly Task _consumer;
    private readonly byte[] _staging;
    private int _staged;
    private int _nextIndex;
    private long _bytesWritten;
    private bool _completed;
    private bool _disposed;

    private BackupDataWriter(VolumeSink sink, IFrameCodec codec, PipelineOptions options, BackupKeys? keys, string backupId, CancellationToken cancellationToken)
    {
        _sink = sink;
        _codec = codec;
        _options = options;
        _keys = keys;
        _chunker = options.Chunker;
        _processor = new FrameProcessor(codec, keys, backupId);
        var parallelism = Math.Max(1, options.MaxParallelism);
        _workers = new SemaphoreSlim(parallelism, parallelism);
        _frames = Channel.CreateBounded<Task<ProcessedFrame>>(new BoundedChannelOptions(parallelism) { SingleReader = true, SingleWriter = true, FullMode = BoundedChannelFullMode.Wait });
        _cts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        _staging = new byte[2 * _chunker.MaxSize];
        _consumer = Task.Run(ConsumeAsync, CancellationToken.None);
    }

    public static async Task<BackupDataWriter> CreateAsync(IBackupStorage storage, string prefix, string backupId, PipelineOptions options, BackupKeys? keys, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(storage);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentException.ThrowIfNullOrEmpty(backupId);
        if (options.Encryption?.IsEnabled == true && keys is null)
            throw new DbBackupException(ErrorIds.InvalidArgument, ErrorKind.InvalidArgument, "Encryption was requested but no backup keys were supplied.", "Create them with BackupKeys.Create.");
        var codec = FrameCodecs.ForWriting(options.Compression, options.CompressionLevel);
        var maxFrame = (long)options.Chunker.MaxSize + options.Chunker.MaxSize / 8 + 4096;
        if (options.VolumeSize < maxFrame)
            throw new DbBackupException(ErrorIds.InvalidArgument, ErrorKind.InvalidArgument,
                $"The volume size {options.VolumeSize} bytes cannot hold the largest frame of chunker {options.Chunker.Name}.", $"Use a volume size of at least {maxFrame} bytes.");
        if (prefix.Length > 0 && !prefix.EndsWith('/')) prefix += "/";
        var sink = await VolumeSink.CreateAsync(storage, prefix, options.VolumeSize, cancellationToken).ConfigureAwait(false);
        return new BackupDataWriter(sink, codec, options, keys, backupId, cancellationToken);
    }

    /// <summary>Plaintext bytes accepted so far (for progress).</summary>
    public long BytesWritten => Volatile.Read(ref _bytesWritten);

    /// <summary>Flushes the final chunk (final flag set), writes the index, and summarizes.</summary>
    public async Task<DataSummary> CompleteAsync(CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (_completed) throw new InvalidOperationException("The backup data is already complete.");
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _cts.Token);
        var token = linked.Token;
        if (_nextIndex == 0 && _staged == 0)
        {
            await EnqueueAsync(0, 0, final: true, token).ConfigureAwait(false); // an empty dump is one empty final frame
        }
        var offset = 0;
        while (offset < _staged)
        {
            var length = _chunker.NextChunkLength(_staging.AsSpan(offset, _staged - offset), final: true);
            if (length <= 0 || length > _staged - offset) throw new InvalidOperationException($"Chunker {_chunker.Name} returned {length} for the final {_staged - offset} bytes.");
            await EnqueueAsync(offset, length, final: offset + length == _staged, token).ConfigureAwait(false);
            offset += length;
        }
        _staged = 0;
        _frames.Writer.TryComplete();
        await _consumer.ConfigureAwait(false);
        var (volumes, indexSha, plainSha, plainSize, storedSize) = await _sink.FinishAsync(token).ConfigureAwait(false);
        if (plainSize != BytesWritten) throw new InvalidOperationException($"The pipeline stored {plainSize} of {BytesWritten} bytes.");
        _completed = true;
        return new DataSummary
        {
            FrameCount = _sink.FrameCount,
            VolumeCount = volumes.Count,
            Size = plainSize,
            StoredSize = storedSize,
            PlaintextSha256 = plainSha,
            IndexObject = FrameIndex.ObjectName,
            IndexSha256 = indexSha,
            Volumes = volumes,
            Chunker = _chunker.Name,
            Compression = _codec.Codec,
            CompressionLevel = _codec.Level,
            Encryption = _keys?.Header,
        };
    }

    public override bool CanRead => false;
    public override bool CanSeek => false;
    public override bool CanWrite => true;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
    public override void Flush() { }
    public override Task FlushAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();

    public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

    public override void Write(ReadOnlySpan<byte> buffer)
    {
        ThrowIfNotWritable();
        while (!buffer.IsEmpty)
        {
            var n = Stage(buffer);
            buffer = buffer[n..];
            if (_staged > _chunker.MaxSize) CutFullChunksAsync(CancellationToken.None, synchronous: true).GetAwaiter().GetResult();
        }
    }

    public override void WriteByte(byte value) => Write([value]);

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        ThrowIfNotWritable();
        while (!buffer.IsEmpty)
        {
            var n = Stage(buffer.Span);
            buffer = buffer[n..];
            if (_staged > _chunker.MaxSize) await CutFullChunksAsync(cancellationToken, synchronous: false).ConfigureAwait(false);
        }
    }

    public override async ValueTask DisposeAsync()
    {
        await CleanupAsync().ConfigureAwait(false);
        GC.SuppressFinalize(this);
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing) CleanupAsync().GetAwaiter().GetResult();
        base.Dispose(disposing);
    }

    private int Stage(ReadOnlySpan<byte> buffer)
    {
        var n = Math.Min(buffer.Length, _staging.Length - _staged);
        buffer[..n].CopyTo(_staging.AsSpan(_staged));
        _staged += n;
        Volatile.Write(ref _bytesWritten, _bytesWritten + n);
        return n;
    }

    /// <summary>Cuts chunks while more than MaxSize bytes are staged, so a cut chunk is never the last one.</summary>
    private async Task CutFullChunksAsync(CancellationToken cancellationToken, bool synchronous)
    {
        var offset = 0;
        while (_staged - offset > _chunker.MaxSize)
        {
            var length = _chunker.NextChunkLength(_staging.AsSpan(offset, _staged - offset), final: false);
            if (length <= 0 || length > _chunker.MaxSize) throw new InvalidOperationException($"Chunker {_chunker.Name} returned {length} with {_staged - offset} bytes available.");
            var enqueue = EnqueueAsync(offset, length, final: false, cancellationToken);
            if (synchronous) enqueue.GetAwaiter().GetResult();
            else await enqueue.ConfigureAwait(false);
            offset += length;
        }
        _staging.AsSpan(offset, _staged - offset).CopyTo(_staging);
        _staged -= offset;
    }

    private async Task EnqueueAsync(int offset, int length, bool final, CancellationToken cancellationToken)
    {
        var plain = PooledBuffer.Rent(length);
        _staging.AsSpan(offset, length).CopyTo(plain.Array);
        plain = plain.WithLength(length);
        var index = _nextIndex++;
        var token = _cts.Token;
        var work = Task.Run(async () =>
        {
            await _workers.WaitAsync(token).ConfigureAwait(false);
            try
            {
                return _processor.Process(plain, index, final);
            }
            finally
            {
                _workers.Release();
            }
        }, token);
        try
        {
            if (!_frames.Writer.TryWrite(work)) await _frames.Writer.WriteAsync(work, cancellationToken).ConfigureAwait(false);
        }
        catch (ChannelClosedException)
        {
            await _consumer.ConfigureAwait(false); // rethrows why the consumer stopped
            throw;
        }
    }

    private async Task ConsumeAsync()
    {
        try
        {
            var reader = _frames.Reader;
            while (await reader.WaitToReadAsync(_cts.Token).ConfigureAwait(false))
            {
                while (reader.TryRead(out var work))
                {
                    var frame = await work.ConfigureAwait(false);
                    try
                    {
                        await _sink.AppendAsync(frame, _cts.Token).ConfigureAwait(false);
                    }
                    finally
                    {
                        frame.Return();
                    }
                }
            }
        }
        catch (Exception e)
        {
            _frames.Writer.TryComplete(e);
            throw;
        }
    }

    private void ThrowIfNotWritable()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (_completed) throw new InvalidOperationException("The backup data is already complete.");
        if (_consumer.IsFaulted || _consumer.IsCanceled) _consumer.GetAwaiter().GetResult();
    }

    private async Task CleanupAsync()
    {
        if (_disposed) return;
        _disposed = true;
        if (!_completed)
        {
            _cts.Cancel();
            _frames.Writer.TryComplete();
            try
            {
                await _consumer.ConfigureAwait(false);
            }
            catch (Exception e) when (e is OperationCanceledException or DbBackupException or IOException or UnauthorizedAccessException or ChannelClosedException)
            {
                // The backup is being abandoned: its failure already reached the caller (or it was cancelled);
                // what matters now is removing what was written, below.
            }
            await _sink.AbortAsync().ConfigureAwait(false);
        }
        await _sink.CloseAsync().ConfigureAwait(false);
        _processor.Dispose();
        _cts.Dispose();
        _workers.Dispose();
    }
}
