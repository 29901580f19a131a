using DbBackup.Engine.Pipeline;

namespace DbBackup.Engine.Connectors;

/// <summary>What the source database and its tools are, recorded in the manifest.</summary>
public sealed record SourceDescription(string ServerVersion, string? ToolName, string? ToolVersion, string? ToolPath, long? EstimatedSize);

/// <summary>Whether a restore target exists and holds anything.</summary>
public sealed record TargetState(bool Exists, bool IsEmpty);

/// <summary>How a connector keeps the target safe while restoring.</summary>
public enum RestoreStrategy
{
    /// <summary>Restore into a staging database/file, then swap it in (PostgreSQL rename, SQLite file rename).</summary>
    StagingSwap,
    /// <summary>No cheap swap exists (MariaDB): the engine verifies the whole backup before touching the target.</summary>
    VerifyFirst,
}

/// <summary>
/// One engine's connection test, dump and restore. Implementations pass passwords to child processes
/// only through the environment or a 0600 options file, never argv.
/// </summary>
public interface IDatabaseConnector
{
    DatabaseEngine Engine { get; }

    RestoreStrategy RestoreStrategy { get; }

    /// <summary>Tests reachability, credentials, database, privileges and client tools; never throws for those, reports them.</summary>
    Task<ConnectionTestResult> TestConnectionAsync(ConnectionOptions connection, CancellationToken cancellationToken);

    /// <summary>Server version, tool version (checked against the server) and size estimate. Throws <see cref="Errors.DbBackupException"/>.</summary>
    Task<SourceDescription> DescribeAsync(ConnectionOptions connection, CancellationToken cancellationToken);

    /// <summary>Writes the engine's logical dump (or, for SQLite, a consistent database file) to <paramref name="output"/>.</summary>
    Task DumpAsync(ConnectionOptions connection, Stream output, CancellationToken cancellationToken);

    /// <summary>
    /// Whether a backup may start <see cref="DumpAsync"/> right away, beside describing the source and preparing the
    /// repository: its output then waits for the pipeline, so only the tool's start-up (connecting, reading the
    /// catalog) overlaps. True for dumps that are a streaming child tool; the dump's errors still come after the
    /// description's.
    /// </summary>
    bool DumpStartsEarly => false;

    /// <summary>The chunker suited to this connector's dump format.</summary>
    IChunker CreateChunker();

    Task<TargetState> GetTargetStateAsync(ConnectionOptions target, CancellationToken cancellationToken);

    /// <summary>
    /// Restores <paramref name="dump"/> into <paramref name="target"/>, creating it; the target must not exist or be empty.
    /// Throws when <paramref name="dump"/> throws (for example on a tampered frame), leaving the partial target for the caller to drop.
    /// </summary>
    Task RestoreAsync(ConnectionOptions target, Stream dump, CancellationToken cancellationToken);

    /// <summary>Replaces <paramref name="target"/> (which may or may not exist) with the fully restored <paramref name="staging"/>.</summary>
    Task SwapInAsync(ConnectionOptions staging, ConnectionOptions target, CancellationToken cancellationToken);

    /// <summary>Drops the database (or deletes the file) if it exists.</summary>
    Task DropAsync(ConnectionOptions target, CancellationToken cancellationToken);

    /// <summary>The name under which backups of this database are filed in a repository.</summary>
    string RepositoryName(ConnectionOptions connection);
}
