using DbBackup.Engine.Pipeline.Crypto;
using DbBackup.Engine.Storage;

namespace DbBackup.Engine.Pipeline;

/// <summary>
/// The write side of the pipeline: a write-only stream the connector dumps into. It chunks, compresses,
/// optionally seals, and appends frames to bounded data volumes under <c>prefix</c>, then writes the frame index.
/// Memory is bounded by MaxParallelism x MaxSize chunks, independent of the dump size.
/// </summary>
public sealed class BackupDataWriter : Stream
{
    // CONTRACT STUB — implemented by the pipeline work.
    public static Task<BackupDataWriter> CreateAsync(IBackupStorage storage, string prefix, string backupId, PipelineOptions options, BackupKeys? keys, CancellationToken cancellationToken)
        => throw new NotImplementedException();

    /// <summary>Plaintext bytes accepted so far (for progress).</summary>
    public long BytesWritten => throw new NotImplementedException();

    /// <summary>Flushes the final chunk (final flag set), writes the index, and summarizes.</summary>
    public Task<DataSummary> CompleteAsync(CancellationToken cancellationToken) => throw new NotImplementedException();

    public override bool CanRead => false;
    public override bool CanSeek => false;
    public override bool CanWrite => true;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
    public override void Flush() { }
    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
    public override void Write(byte[] buffer, int offset, int count) => throw new NotImplementedException();
}
