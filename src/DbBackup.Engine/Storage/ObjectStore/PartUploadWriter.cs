using System.Buffers;
using System.Diagnostics;

namespace DbBackup.Engine.Storage.ObjectStore;

/// <summary>
/// Buffers an object into parts and uploads them: one PutObject when everything fits in the first part, otherwise a
/// multipart upload with up to <see cref="ObjectStoreLimits.MaxConcurrentParts"/> parts in flight. Not thread-safe
/// (one writer per object, like a FileStream).
/// </summary>
internal sealed class PartUploadWriter : IObjectWriter
{
    private readonly IObjectStoreClient _client;
    private readonly string _key;
    private readonly int _partSize;
    private readonly int _maxInFlight;
    private readonly List<Task<string>> _parts = [];
    private readonly Queue<(Task Upload, byte[] Buffer)> _inFlight = new();
    private readonly CancellationTokenSource _abort = new();
    private byte[] _buffer;
    private int _filled;
    private long _offset;
    private string? _uploadId;
    private bool _committed;
    private bool _disposed;

    public PartUploadWriter(IObjectStoreClient client, string key)
    {
        _client = client;
        _key = key;
        _partSize = client.Limits.PartSize;
        _maxInFlight = Math.Max(1, client.Limits.MaxConcurrentParts);
        _buffer = ArrayPool<byte>.Shared.Rent(_partSize);
        Stream = new WriteStream(this);
    }

    public Stream Stream { get; }

    private async ValueTask WriteAsync(ReadOnlyMemory<byte> data, CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(_disposed || _committed, this);
        while (!data.IsEmpty)
        {
            var n = Math.Min(data.Length, _partSize - _filled);
            data[..n].CopyTo(_buffer.AsMemory(_filled));
            _filled += n;
            data = data[n..];
            if (_filled == _partSize) await FlushPartAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    private async Task FlushPartAsync(CancellationToken cancellationToken)
    {
        _uploadId ??= await _client.StartMultipartAsync(_key, cancellationToken).ConfigureAwait(false);
        while (_inFlight.Count >= _maxInFlight)
        {
            // Peek, not dequeue: a part that fails (or a caller that gives up waiting) stays queued, so DisposeAsync
            // still waits for it before aborting the upload and returning its buffer.
            var (upload, buffer) = _inFlight.Peek();
            await upload.WaitAsync(cancellationToken).ConfigureAwait(false); // a failed part fails the write
            _inFlight.Dequeue();
            ArrayPool<byte>.Shared.Return(buffer);
        }
        var part = new UploadPart(_key, _uploadId, _parts.Count + 1, _offset, _buffer.AsMemory(0, _filled));
        var task = _client.UploadPartAsync(part, _abort.Token); // outlives this call: cancelled by DisposeAsync when uncommitted
        _parts.Add(task);
        _inFlight.Enqueue((task, _buffer));
        _offset += _filled;
        _buffer = ArrayPool<byte>.Shared.Rent(_partSize);
        _filled = 0;
    }

    public async Task CommitAsync(CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(_disposed || _committed, this);
        if (_uploadId is null)
        {
            await _client.PutObjectAsync(_key, _buffer.AsMemory(0, _filled), cancellationToken).ConfigureAwait(false);
        }
        else
        {
            if (_filled > 0) await FlushPartAsync(cancellationToken).ConfigureAwait(false);
            var tags = await Task.WhenAll(_parts).WaitAsync(cancellationToken).ConfigureAwait(false);
            await _client.CompleteMultipartAsync(_key, _uploadId, tags, _offset, cancellationToken).ConfigureAwait(false);
        }
        _committed = true;
    }

    public async ValueTask DisposeAsync()
    {
        if (_disposed) return;
        _disposed = true;
        if (!_committed)
        {
            _abort.Cancel();
            foreach (var (upload, _) in _inFlight)
            {
                try { await upload.ConfigureAwait(false); }
                catch (Exception e) { Trace.TraceInformation("dbbackup: abandoned part upload ended with {0}", e.GetType().Name); }
            }
            if (_uploadId is not null)
            {
                try
                {
                    using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
                    await _client.AbortMultipartAsync(_key, _uploadId, timeout.Token).ConfigureAwait(false);
                }
                catch (Exception e)
                {
                    // The object never became visible; the pending upload is removed by the repository sweep
                    // (CleanupIncompleteAsync) or the store's own lifecycle. Nothing to report to the caller here.
                    Trace.TraceWarning("dbbackup: aborting multipart upload of '{0}' failed: {1}", _key, e.Message);
                }
            }
        }
        else
        {
            foreach (var (upload, _) in _inFlight) await upload.ConfigureAwait(false);
        }
        foreach (var (_, buffer) in _inFlight) ArrayPool<byte>.Shared.Return(buffer);
        _inFlight.Clear();
        ArrayPool<byte>.Shared.Return(_buffer);
        _abort.Dispose();
    }

    private sealed class WriteStream(PartUploadWriter owner) : Stream
    {
        public override bool CanRead => false;
        public override bool CanSeek => false;
        public override bool CanWrite => true;
        public override long Length => owner._offset + owner._filled;
        public override long Position { get => Length; set => throw new NotSupportedException(); }
        public override void Flush() { }
        public override Task FlushAsync(CancellationToken cancellationToken) => Task.CompletedTask;
        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));
        public override void Write(ReadOnlySpan<byte> buffer) => owner.WriteAsync(buffer.ToArray(), CancellationToken.None).AsTask().GetAwaiter().GetResult();
        public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) => owner.WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();
        public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default) => owner.WriteAsync(buffer, cancellationToken);
    }
}
