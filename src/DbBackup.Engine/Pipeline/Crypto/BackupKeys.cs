namespace DbBackup.Engine.Pipeline.Crypto;

/// <summary>
/// Key material of one encrypted backup: a random per-backup data key (frames, manifest MAC) and the
/// repository-wide chunk-id key (so chunk ids leak nothing yet deduplicate across backups).
/// </summary>
public sealed class BackupKeys
{
    // CONTRACT STUB — implemented by the pipeline work.
    /// <summary>The wrapped data key as stored in the manifest.</summary>
    public EncryptionHeader Header => throw new NotImplementedException();

    /// <summary>A new random data key wrapped under every key in <paramref name="options"/>.</summary>
    public static BackupKeys Create(EncryptionOptions options, byte[] chunkIdKey) => throw new NotImplementedException();

    /// <summary>Unwraps the data key; throws BackupIntegrityException WrongKey / KeyRequired.</summary>
    public static BackupKeys Open(EncryptionHeader header, EncryptionOptions? options, byte[] chunkIdKey) => throw new NotImplementedException();

    /// <summary>HMAC-SHA256 over the canonical manifest bytes under a key derived from the data key.</summary>
    public byte[] ComputeManifestMac(ReadOnlySpan<byte> manifestBytes) => throw new NotImplementedException();

    /// <summary>Wraps a new random repository chunk-id key; stored in the repository's key file.</summary>
    public static (byte[] Key, EncryptionHeader Header) CreateRepositoryKey(EncryptionOptions options) => throw new NotImplementedException();

    /// <summary>Unwraps the repository chunk-id key; throws WrongKey / KeyRequired.</summary>
    public static byte[] OpenRepositoryKey(EncryptionHeader header, EncryptionOptions? options) => throw new NotImplementedException();
}
