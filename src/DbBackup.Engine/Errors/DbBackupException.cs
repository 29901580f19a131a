namespace DbBackup.Engine.Errors;

/// <summary>Broad category of a failure; hosts map it to PowerShell ErrorCategory and CLI exit codes.</summary>
public enum ErrorKind
{
    InvalidArgument,
    ObjectNotFound,
    ConnectionError,
    AuthenticationError,
    PermissionDenied,
    ResourceUnavailable,
    InvalidData,
    SecurityError,
    OperationTimeout,
    OperationStopped,
    NotInstalled,
    WriteError,
    InvalidOperation,
}

/// <summary>
/// Every failure the engine reports on purpose. <see cref="ErrorId"/> is stable (documented, used as the
/// PowerShell ErrorRecord id and in the CLI's output); <see cref="Exception.Message"/> says what was wrong,
/// <see cref="RecommendedAction"/> what to do. Messages never contain secrets.
/// </summary>
public class DbBackupException : Exception
{
    public DbBackupException(string errorId, ErrorKind kind, string message, string? recommendedAction = null, Exception? inner = null)
        : base(message, inner)
    {
        ErrorId = errorId;
        Kind = kind;
        RecommendedAction = recommendedAction;
    }

    public string ErrorId { get; }
    public ErrorKind Kind { get; }
    public string? RecommendedAction { get; }
    /// <summary>The database, backup id or location the error is about, when known.</summary>
    public string? Target { get; init; }
}

/// <summary>A connection test or connection attempt failed (host, port, credentials, database, privilege).</summary>
public sealed class ConnectionFailedException(string errorId, ErrorKind kind, string message, string? recommendedAction = null, Exception? inner = null)
    : DbBackupException(errorId, kind, message, recommendedAction, inner);

/// <summary>A client tool (pg_dump, mariadb-dump, ...) is missing, too old or failed.</summary>
public sealed class ToolException(string errorId, ErrorKind kind, string message, string? recommendedAction = null, Exception? inner = null)
    : DbBackupException(errorId, kind, message, recommendedAction, inner);

/// <summary>Backup data is corrupted, truncated, reordered, tampered with, or cannot be decrypted.</summary>
public sealed class BackupIntegrityException(string errorId, string message, string? recommendedAction = null, Exception? inner = null)
    : DbBackupException(errorId, ErrorKind.InvalidData, message, recommendedAction, inner);

/// <summary>A repository, backup or object does not exist.</summary>
public sealed class BackupNotFoundException(string errorId, string message, string? recommendedAction = null, Exception? inner = null)
    : DbBackupException(errorId, ErrorKind.ObjectNotFound, message, recommendedAction, inner);

/// <summary>Stable error ids. Documented in docs/errors.md; never rename one.</summary>
public static class ErrorIds
{
    public const string HostUnreachable = "HostUnreachable";
    public const string ConnectionRefused = "ConnectionRefused";
    public const string ConnectionTimeout = "ConnectionTimeout";
    public const string AuthenticationFailed = "AuthenticationFailed";
    public const string DatabaseNotFound = "DatabaseNotFound";
    public const string InsufficientPrivilege = "InsufficientPrivilege";
    public const string ToolNotFound = "ToolNotFound";
    public const string ToolTooOld = "ToolTooOld";
    public const string ToolFailed = "ToolFailed";
    public const string InsufficientSpace = "InsufficientSpace";
    public const string BackupNotFound = "BackupNotFound";
    public const string RepositoryNotFound = "RepositoryNotFound";
    public const string BackupCorrupted = "BackupCorrupted";
    public const string BackupTruncated = "BackupTruncated";
    public const string BackupTampered = "BackupTampered";
    public const string WrongKey = "WrongKey";
    public const string KeyRequired = "KeyRequired";
    public const string CodecUnavailable = "CodecUnavailable";
    public const string TargetNotEmpty = "TargetNotEmpty";
    public const string InvalidArgument = "InvalidArgument";
    public const string OperationCancelled = "OperationCancelled";
    public const string RestoreFailed = "RestoreFailed";
    public const string StorageError = "StorageError";
    /// <summary>No credentials for a cloud location were found in any source tried (the message lists them).</summary>
    public const string StorageCredentialsMissing = "StorageCredentialsMissing";
    /// <summary>The storage service rejected the credentials (invalid key, expired token, bad signature).</summary>
    public const string StorageAuthenticationFailed = "StorageAuthenticationFailed";
    /// <summary>The credentials are valid but lack a permission the operation needs.</summary>
    public const string StorageAccessDenied = "StorageAccessDenied";
    /// <summary>The bucket or container does not exist.</summary>
    public const string StorageContainerNotFound = "StorageContainerNotFound";
    /// <summary>A copy target holds a different repository key than the source, so encrypted backups cannot move between them.</summary>
    public const string RepositoryKeyMismatch = "RepositoryKeyMismatch";
    /// <summary>Some copies of a backup (or some targets of a copy) failed while others succeeded; each is reported.</summary>
    public const string CopyFailed = "CopyFailed";
}
