using DbBackup.Engine.Pipeline.Crypto;
using DbBackup.Engine.Storage;

namespace DbBackup.Engine.Pipeline;

/// <summary>
/// The read side: a read-only stream of the plaintext dump. Reads the index (checked against
/// <see cref="DataSummary.IndexSha256"/>), then every frame in order, authenticating/decrypting and checking
/// hashes as it goes; throws <see cref="Errors.BackupIntegrityException"/> on the first problem, and at the
/// end checks frame count, final flag and the whole-plaintext SHA-256, so a consumer that reaches EOF has
/// read an intact backup.
/// </summary>
public sealed class BackupDataReader : Stream
{
    // CONTRACT STUB — implemented by the pipeline work.
    public static Task<BackupDataReader> OpenAsync(IBackupStorage storage, string prefix, string backupId, DataSummary summary, BackupKeys? keys, CancellationToken cancellationToken)
        => throw new NotImplementedException();

    /// <summary>Frames read and verified so far.</summary>
    public int FramesRead => throw new NotImplementedException();

    /// <summary>Plaintext bytes returned so far.</summary>
    public long BytesRead => throw new NotImplementedException();

    public override bool CanRead => true;
    public override bool CanSeek => false;
    public override bool CanWrite => false;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
    public override void Flush() { }
    public override int Read(byte[] buffer, int offset, int count) => throw new NotImplementedException();
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
}
