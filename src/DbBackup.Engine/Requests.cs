using DbBackup.Engine.Connectors;
using DbBackup.Engine.Pipeline;

namespace DbBackup.Engine;

/// <summary>Back up one database into one repository.</summary>
public sealed class BackupRequest
{
    public required ConnectionOptions Source { get; init; }
    /// <summary>A path or URI (file:, later s3:, az:, gs:).</summary>
    public required string Repository { get; init; }
    /// <summary>Null: zstd where the system libzstd loads, gzip otherwise.</summary>
    public CompressionCodec? Compression { get; init; }
    public int? CompressionLevel { get; init; }
    public EncryptionOptions? Encryption { get; init; }
    public long? VolumeSize { get; init; }
}

/// <summary>
/// Copy one backup from one repository into further repositories ("local, then cloud"): volumes and frame index first,
/// manifest last, each copy read back and checked against the manifest's hashes before its manifest is written.
/// </summary>
public sealed class CopyRequest
{
    /// <summary>The repository holding the backup (path or URI).</summary>
    public required string Source { get; init; }
    /// <summary>The repositories to copy into; each gets its own result.</summary>
    public required IReadOnlyList<string> Targets { get; init; }
    public required string BackupId { get; init; }
    /// <summary>The database the backup is filed under; optional when the id is unique in the source.</summary>
    public string? Database { get; init; }
    /// <summary>Read every copied object back from the target and check its hash (default); off trusts the write.</summary>
    public bool Verify { get; init; } = true;
    /// <summary>Only needed when a target already has a repository key stored differently (other passphrases or key files): both are opened and compared.</summary>
    public EncryptionOptions? Encryption { get; init; }
}

/// <summary>Restore one backup into a database.</summary>
public sealed class RestoreRequest
{
    public required string Repository { get; init; }
    public required string BackupId { get; init; }
    /// <summary>The source database name the backup is filed under; optional when the id is unique in the repository.</summary>
    public string? Database { get; init; }
    /// <summary>The database (or SQLite file) to restore into. Restoring into a new name is the safe default.</summary>
    public required ConnectionOptions Target { get; init; }
    /// <summary>Allow replacing a target that exists and is not empty (the host asks the user first unless -Force).</summary>
    public bool ReplaceExisting { get; init; }
    public EncryptionOptions? Encryption { get; init; }
}

/// <summary>Verify one backup: read every frame, authenticate, check hashes.</summary>
public sealed class VerifyRequest
{
    public required string Repository { get; init; }
    public required string BackupId { get; init; }
    public string? Database { get; init; }
    public EncryptionOptions? Encryption { get; init; }
}

/// <summary>Which backups Get-BackupHistory returns.</summary>
public sealed class HistoryQuery
{
    /// <summary>Only backups in this repository; with <see cref="Refresh"/> the catalog index of it is rebuilt first.</summary>
    public string? Repository { get; init; }
    /// <summary>Database name; '*' and '?' wildcards allowed.</summary>
    public string? Database { get; init; }
    public DatabaseEngine? Engine { get; init; }
    public string? BackupId { get; init; }
    public DateTimeOffset? Since { get; init; }
    /// <summary>The newest N per database.</summary>
    public int? Last { get; init; }
    public bool Refresh { get; init; }
}

/// <summary>Where the engine keeps local state.</summary>
public sealed class EngineSettings
{
    /// <summary>The local catalog database. Default: $DBBACKUP_CATALOG, else the per-user data folder's dbbackup/catalog.db.</summary>
    public string? CatalogPath { get; init; }

    /// <summary>Credentials and transfer settings for cloud repositories; null reads everything from the environment.</summary>
    public Storage.StorageOptions? Storage { get; init; }
}
