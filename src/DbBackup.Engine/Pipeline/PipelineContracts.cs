namespace DbBackup.Engine.Pipeline;

/// <summary>How a backup's data key is protected: a passphrase and/or key files (several allow rotation).</summary>
public sealed class EncryptionOptions
{
    public SecretValue? Passphrase { get; init; }
    /// <summary>Path of a file holding exactly 32 random bytes.</summary>
    public string? KeyFile { get; init; }

    public bool IsEnabled => Passphrase is not null || KeyFile is not null;
}

/// <summary>Settings of the write pipeline.</summary>
public sealed class PipelineOptions
{
    public required IChunker Chunker { get; init; }
    /// <summary>Zstd where the system libzstd loads (<see cref="ZstdCodec.IsAvailable"/>), gzip otherwise.</summary>
    public CompressionCodec Compression { get; init; } = ZstdCodec.IsAvailable ? CompressionCodec.Zstd : CompressionCodec.Gzip;
    /// <summary>Codec level; null means the codec's fast default (zstd 1, gzip 1; see docs/format.md).</summary>
    public int? CompressionLevel { get; init; }
    public EncryptionOptions? Encryption { get; init; }
    /// <summary>Upper bound of one data volume object.</summary>
    public long VolumeSize { get; init; } = 64L * 1024 * 1024;
    /// <summary>Frames compressed/sealed concurrently.</summary>
    public int MaxParallelism { get; init; } = Math.Max(1, Environment.ProcessorCount);
}

/// <summary>
/// The encryption header stored in the manifest: KDF parameters and wrapped copies of the data key.
/// Serialized as JSON by the repository; contains nothing secret.
/// </summary>
public sealed class EncryptionHeader
{
    public required string Algorithm { get; init; }               // "AES-256-GCM"
    public required IReadOnlyList<WrappedKey> Keys { get; init; }
}

/// <summary>One wrapped copy of the data key.</summary>
public sealed class WrappedKey
{
    public required string Kind { get; init; }                    // "passphrase" | "keyfile"
    public string? Kdf { get; init; }                              // "pbkdf2-sha256" | "scrypt"
    public int? Iterations { get; init; }
    public string? Salt { get; init; }                             // base64
    public string? KeyFingerprint { get; init; }                   // for key files: first bytes of SHA-256(HMAC) of the key, hex
    public required string Nonce { get; init; }                   // base64
    public required string Ciphertext { get; init; }              // base64 data key + tag
}

/// <summary>What the write pipeline produced; the repository records it in the manifest.</summary>
public sealed class DataSummary
{
    public required int FrameCount { get; init; }
    public required int VolumeCount { get; init; }
    public required long Size { get; init; }
    public required long StoredSize { get; init; }
    public required string PlaintextSha256 { get; init; }
    /// <summary>Key of the frame index object, relative to the backup's prefix.</summary>
    public required string IndexObject { get; init; }
    public required string IndexSha256 { get; init; }
    public required IReadOnlyList<VolumeInfo> Volumes { get; init; }
    public required string Chunker { get; init; }
    public required CompressionCodec Compression { get; init; }
    public int? CompressionLevel { get; init; }
    public EncryptionHeader? Encryption { get; init; }
}

public sealed record VolumeInfo(string Name, long Size, string Sha256);
