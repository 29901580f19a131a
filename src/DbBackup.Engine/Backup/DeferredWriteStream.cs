namespace DbBackup.Engine.Backup;

/// <summary>
/// The output a dump starts writing to before the pipeline exists: writes wait (holding nothing) until
/// <see cref="Attach"/> hands over the real stream, so the tool's start-up overlaps with preparing the backup while
/// the memory bound stays the pipeline's. <see cref="Abandon"/> makes waiting and later writes fail instead.
/// </summary>
internal sealed class DeferredWriteStream : Stream
{
    private readonly TaskCompletionSource<Stream> _target = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public void Attach(Stream target) => _target.TrySetResult(target);

    /// <summary>The backup failed before the pipeline was attached: writes throw <see cref="OperationCanceledException"/>.</summary>
    public void Abandon() => _target.TrySetCanceled();

    public override bool CanRead => false;
    public override bool CanSeek => false;
    public override bool CanWrite => true;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();

    public override void Flush()
    {
        if (_target.Task.IsCompletedSuccessfully) _target.Task.Result.Flush();
    }

    public override Task FlushAsync(CancellationToken cancellationToken) =>
        _target.Task.IsCompletedSuccessfully ? _target.Task.Result.FlushAsync(cancellationToken) : Task.CompletedTask;

    public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

    public override void Write(ReadOnlySpan<byte> buffer) => _target.Task.GetAwaiter().GetResult().Write(buffer);

    public override void WriteByte(byte value) => Write([value]);

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        var target = await _target.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
        await target.WriteAsync(buffer, cancellationToken).ConfigureAwait(false);
    }
}
