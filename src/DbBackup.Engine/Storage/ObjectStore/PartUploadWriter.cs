using System.Buffers;
using System.Diagnostics;

namespace DbBackup.Engine.Storage.ObjectStore;

/// <summary>
/// Buffers an object into parts and uploads them: one PutObject when everything fits in the first part, otherwise a
/// multipart upload with up to <see cref="ObjectStoreLimits.MaxConcurrentParts"/> parts of this object in flight, and no
/// more than the storage's <see cref="PartBudget"/> allows across all its writers. The first part's buffer grows from
/// 256 KiB as data arrives, so a small object (the index, a manifest) never holds a whole part. Not thread-safe (one
/// writer per object, like a FileStream).
/// </summary>
internal sealed class PartUploadWriter : IObjectWriter
{
    private const int InitialBufferSize = 256 * 1024;

    private readonly IObjectStoreClient _client;
    private readonly PartBudget _budget;
    private readonly string _key;
    private readonly int _partSize;
    private readonly int _maxInFlight;
    private readonly List<Task<string>> _parts = [];
    private readonly Queue<Task<string>> _inFlight = new();
    private readonly CancellationTokenSource _abort = new();
    private byte[] _buffer;
    private bool _bufferFromBudget;
    private int _filled;
    private long _offset;
    private string? _uploadId;
    private bool _committed;
    private bool _disposed;

    public PartUploadWriter(IObjectStoreClient client, PartBudget budget, string key)
    {
        _client = client;
        _budget = budget;
        _key = key;
        _partSize = budget.PartSize;
        _maxInFlight = Math.Max(1, client.Limits.MaxConcurrentParts);
        _buffer = ArrayPool<byte>.Shared.Rent(Math.Min(_partSize, InitialBufferSize));
        Stream = new WriteStream(this);
    }

    public Stream Stream { get; }

    private async ValueTask WriteAsync(ReadOnlyMemory<byte> data, CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(_disposed || _committed, this);
        while (!data.IsEmpty)
        {
            if (_filled == _partSize) await FlushPartAsync(last: false, cancellationToken).ConfigureAwait(false);
            else if (_filled == _buffer.Length) Grow();
            var n = Math.Min(data.Length, Math.Min(_buffer.Length, _partSize) - _filled);
            data[..n].CopyTo(_buffer.AsMemory(_filled));
            _filled += n;
            data = data[n..];
        }
    }

    /// <summary>Moves the first part's bytes into a buffer four times larger, or a whole part buffer from the budget.</summary>
    private void Grow()
    {
        var size = (int)Math.Min(_partSize, _buffer.Length * 4L);
        var fromBudget = size == _partSize;
        var bigger = fromBudget ? _budget.Rent() : ArrayPool<byte>.Shared.Rent(size);
        _buffer.AsSpan(0, _filled).CopyTo(bigger);
        ReturnBuffer(_buffer, _bufferFromBudget);
        _buffer = bigger;
        _bufferFromBudget = fromBudget;
    }

    private void ReturnBuffer(byte[] buffer, bool fromBudget)
    {
        if (fromBudget) _budget.Return(buffer);
        else if (buffer.Length > 0) ArrayPool<byte>.Shared.Return(buffer);
    }

    private async Task FlushPartAsync(bool last, CancellationToken cancellationToken)
    {
        _uploadId ??= await _client.StartMultipartAsync(_key, cancellationToken).ConfigureAwait(false);
        // Finished parts leave the queue (a failed one fails the write here, early); a full queue waits for its oldest.
        // A part that fails, or that a caller gives up waiting for, stays queued, so DisposeAsync still waits for it
        // before aborting the upload.
        while (_inFlight.Count > 0 && (_inFlight.Peek().IsCompleted || _inFlight.Count >= _maxInFlight))
        {
            await _inFlight.Peek().WaitAsync(cancellationToken).ConfigureAwait(false);
            _ = _inFlight.Dequeue();
        }
        await _budget.Slots.WaitAsync(cancellationToken).ConfigureAwait(false);
        var part = new UploadPart(_key, _uploadId, _parts.Count + 1, _offset, _buffer.AsMemory(0, _filled));
        var task = UploadAsync(part, _buffer, _bufferFromBudget); // outlives this call: cancelled by DisposeAsync when uncommitted
        _parts.Add(task);
        _inFlight.Enqueue(task);
        _offset += _filled;
        _filled = 0;
        _buffer = last ? [] : _budget.Rent();
        _bufferFromBudget = !last;
    }

    /// <summary>Uploads one part in a budget slot (already taken); the slot and the buffer go back when the upload ends, however it ends.</summary>
    private async Task<string> UploadAsync(UploadPart part, byte[] buffer, bool fromBudget)
    {
        try
        {
            return await _client.UploadPartAsync(part, _abort.Token).ConfigureAwait(false);
        }
        finally
        {
            ReturnBuffer(buffer, fromBudget);
            _budget.Slots.Release();
        }
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
            if (_filled > 0) await FlushPartAsync(last: true, cancellationToken).ConfigureAwait(false);
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
            foreach (var upload in _inFlight)
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
            foreach (var upload in _inFlight) await upload.ConfigureAwait(false);
        }
        _inFlight.Clear();
        ReturnBuffer(_buffer, _bufferFromBudget);
        _buffer = [];
        _bufferFromBudget = false;
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
