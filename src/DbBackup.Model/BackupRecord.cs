namespace DbBackup;

/// <summary>
/// One backup in a repository. Emitted by Backup-Database and Get-BackupHistory, accepted by
/// Restore-Database and Test-Backup from the pipeline.
/// </summary>
public sealed class BackupRecord
{
    public required string BackupId { get; init; }
    public required string Database { get; init; }
    public required DatabaseEngine Engine { get; init; }
    public required BackupType Type { get; init; }
    /// <summary>Where the backup lives, with any secret removed.</summary>
    public required string Repository { get; init; }
    public required DateTimeOffset StartTime { get; init; }
    public required DateTimeOffset EndTime { get; init; }
    public TimeSpan Duration => EndTime - StartTime;
    /// <summary>Bytes of the plaintext dump.</summary>
    public required long Size { get; init; }
    /// <summary>Bytes stored in the repository (compressed, encrypted).</summary>
    public required long StoredSize { get; init; }
    public required CompressionCodec Compression { get; init; }
    public int? CompressionLevel { get; init; }
    public required EncryptionMode Encryption { get; init; }
    public required int FrameCount { get; init; }
    public required int VolumeCount { get; init; }
    public string? ServerVersion { get; init; }
    public string? ToolName { get; init; }
    public string? ToolVersion { get; init; }
    public string? SourceHost { get; init; }
    /// <summary>SHA-256 (hex) of the whole plaintext dump.</summary>
    public required string PlaintextSha256 { get; init; }

    public override string ToString() => $"{Database}/{BackupId}";
}
