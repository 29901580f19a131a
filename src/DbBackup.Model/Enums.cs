namespace DbBackup;

/// <summary>The database engines DbBackup can back up and restore.</summary>
public enum DatabaseEngine
{
    PostgreSql,
    MySql,
    Sqlite,
    MongoDb,
}

/// <summary>What a backup holds relative to earlier backups.</summary>
public enum BackupType
{
    Full,
    Differential,
    Incremental,
}

/// <summary>How each frame is compressed; every codec writes standard, independently decodable frames.</summary>
public enum CompressionCodec
{
    Zstd,
    Gzip,
    None,
}

/// <summary>How the per-backup data key is protected.</summary>
public enum EncryptionMode
{
    None,
    Passphrase,
    KeyFile,
}

/// <summary>How a restore protected the target database.</summary>
public enum RestoreMethod
{
    /// <summary>Restored into a staging database/file and swapped in after every frame was authenticated.</summary>
    StagingSwap,
    /// <summary>The whole backup was verified first, then restored directly into the target.</summary>
    VerifiedThenRestored,
}
