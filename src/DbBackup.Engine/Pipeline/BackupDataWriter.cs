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
    private readonly VolumeSink _sink;
    private readonly FrameProcessor _processor;
    private readonly Channel<Task<ProcessedFrame>> _frames;
    private readonly SemaphoreSlim _workers;
    private readonly CancellationTokenSource _cts;
    private readonly Task _consumer;
    private readonly byte[] _staging;
    private readonly int _chunkLimit;
    private int _staged;
    private int _nextIndex;
    private int _framesInFlight;
    private int _maxFramesInFlight;
    private long _bytesWritten;
    private bool _completed;
    private bool _failed;
    private bool _disposed;

    private BackupDataWriter(VolumeSink sink, IFrameCodec codec, PipelineOptions options, BackupKeys? keys, string backupId, int chunkLimit, CancellationToken cancellationToken)
    {
        _chunkLimit = chunkLimit;
        _sink = sink;
        _codec = codec;
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
        var chunkLimit = ChunkLimit(options.Chunker, options.VolumeSize);
        if (prefix.Length > 0 && !prefix.EndsWith('/')) prefix += "/";
        var sink = await VolumeSink.CreateAsync(storage, prefix, options.VolumeSize, cancellationToken).ConfigureAwait(false);
        return new BackupDataWriter(sink, codec, options, keys, backupId, chunkLimit, cancellationToken);
    }

    /// <summary>
    /// The largest chunk whose frame fits in one volume: the chunker's maximum, or less for small volumes (the
    /// stored frame of an n-byte chunk stays below n + n/8 + 4096 bytes for every codec, tag included). Chunks of
    /// a page-aligned chunker stay whole pages.
    /// </summary>
    internal static int ChunkLimit(IChunker chunker, long volumeSize)
    {
        var granule = chunker is PageAlignedChunker paged ? paged.PageSize : 1;
        var smallest = Math.Max(granule, 4096);
        var limit = Math.Min(chunker.MaxSize, (volumeSize - 4096) * 8 / 9) / granule * granule;
        if (limit < smallest)
            throw new DbBackupException(ErrorIds.InvalidArgument, ErrorKind.InvalidArgument,
                $"The volume size {volumeSize} bytes is too small for chunker {chunker.Name}.", $"Use a volume size of at least {smallest * 9L / 8 + 4096 + 9} bytes (64 MiB is the default).");
        return (int)limit;
    }

    /// <summary>Set when disposal of an abandoned backup could not remove every object it wrote (reported, not thrown).</summary>
    public DbBackupException? CleanupFailure { get; private set; }

    /// <summary>The most chunks held at once (staged for workers, being processed, or waiting to be appended): the memory bound.</summary>
    internal int MaxFramesInFlight => Volatile.Read(ref _maxFramesInFlight);

    /// <summary>Plaintext bytes accepted so far (for progress).</summary>
    public long BytesWritten => Volatile.Read(ref _bytesWritten);

    /// <summary>Flushes the final chunk (final flag set), writes the index, and summarizes.</summary>
    public async Task<DataSummary> CompleteAsync(CancellationToken cancellationToken)
    {
        ThrowIfNotWritable();
        try
        {
            return await CompleteCoreAsync(cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            _failed = true;
            throw;
        }
    }

    private async Task<DataSummary> CompleteCoreAsync(CancellationToken cancellationToken)
    {
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
            length = Math.Min(length, _chunkLimit);
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
            Chunker = _chunkLimit < _chunker.MaxSize ? $"{_chunker.Name};max={SizeText.Format(_chunkLimit)}" : _chunker.Name,
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
        try
        {
            while (!buffer.IsEmpty)
            {
                var n = Stage(buffer);
                buffer = buffer[n..];
                if (_staged == _staging.Length) CutFullChunksAsync(CancellationToken.None, synchronous: true).GetAwaiter().GetResult();
            }
        }
        catch
        {
            _failed = true; // the stream state is undefined now: only disposal (which cleans up) remains
            throw;
        }
    }

    public override void WriteByte(byte value) => Write([value]);

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        ThrowIfNotWritable();
        try
        {
            while (!buffer.IsEmpty)
            {
                var n = Stage(buffer.Span);
                buffer = buffer[n..];
                if (_staged == _staging.Length) await CutFullChunksAsync(cancellationToken, synchronous: false).ConfigureAwait(false);
            }
        }
        catch
        {
            _failed = true; // the stream state is undefined now: only disposal (which cleans up) remains
            throw;
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

    /// <summary>
    /// Runs when the staging buffer (2 x MaxSize) is full: cuts chunks while more than MaxSize bytes remain, so a cut
    /// chunk is never the last one, then moves the rest (at most MaxSize) to the front. Chunk boundaries depend only on
    /// the bytes from a chunk's start, so cutting in batches gives the same chunks as cutting after every write, while
    /// moving at most about one byte per byte written (cutting after every write moved up to MaxSize per write).
    /// </summary>
    private async Task CutFullChunksAsync(CancellationToken cancellationToken, bool synchronous)
    {
        var offset = 0;
        while (_staged - offset > _chunker.MaxSize)
        {
            var started = TimingTrace.Start();
            var length = _chunker.NextChunkLength(_staging.AsSpan(offset, _staged - offset), final: false);
            TimingTrace.Add(TimingTrace.Stage.Chunking, started);
            if (length <= 0 || length > _chunker.MaxSize) throw new InvalidOperationException($"Chunker {_chunker.Name} returned {length} with {_staged - offset} bytes available.");
            length = Math.Min(length, _chunkLimit);
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
        var inFlight = Interlocked.Increment(ref _framesInFlight);
        if (inFlight > Volatile.Read(ref _maxFramesInFlight)) Volatile.Write(ref _maxFramesInFlight, inFlight); // only the producer writes it
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
            if (!_frames.Writer.TryWrite(work))
            {
                var started = TimingTrace.Start();
                await _frames.Writer.WriteAsync(work, cancellationToken).ConfigureAwait(false);
                TimingTrace.Add(TimingTrace.Stage.ProducerWait, started);
            }
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
                        Interlocked.Decrement(ref _framesInFlight);
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
        if (_failed) throw new InvalidOperationException("An earlier write failed; dispose this writer (which removes what it wrote) and start the backup again.");
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
            try
            {
                await _sink.AbortAsync().ConfigureAwait(false);
            }
            catch (DbBackupException e) when (e.ErrorId == ErrorIds.StorageError)
            {
                // Disposal must not replace the failure that abandoned the backup; the leftovers have no
                // manifest, so they are not a backup, and the repository's sweep removes them.
                CleanupFailure = e;
            }
        }
        await _sink.CloseAsync().ConfigureAwait(false);
        _processor.Dispose();
        _cts.Dispose();
        _workers.Dispose();
    }
}
