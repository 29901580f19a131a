using DbBackup.Engine.Errors;

namespace DbBackup.Cli;

/// <summary>
/// The process exit codes of <c>dbbackup</c> (documented in docs/cli.md; scripts depend on them, never renumber one).
/// Known error ids map first, so a failure reported in a result (test-connection, verify) and the same failure
/// thrown by the engine end with the same code; anything else maps by <see cref="ErrorKind"/>.
/// </summary>
public static class ExitCodes
{
    public const int Success = 0;
    public const int Failure = 1;
    public const int Usage = 2;
    public const int Connection = 3;
    public const int NotFound = 4;
    public const int Integrity = 5;
    public const int ToolMissing = 6;
    public const int TargetNotEmpty = 7;
    /// <summary>The backup (or the source of a copy) is fine but at least one copy target failed; each target's result is in the output.</summary>
    public const int PartialSuccess = 8;
    public const int Cancelled = 130;

    /// <summary>
    /// The exit code of a set of copies: 0 when all succeeded, <see cref="PartialSuccess"/> when some did, otherwise the
    /// code of the first failure.
    /// </summary>
    public static int ForCopies(IReadOnlyList<CopyResult> copies, bool anotherTargetSucceeded)
    {
        if (copies.All(c => c.Succeeded)) return Success;
        if (anotherTargetSucceeded || copies.Any(c => c.Succeeded)) return PartialSuccess;
        return ForErrorId(copies.First(c => !c.Succeeded).ErrorId) ?? Failure;
    }

    public static int For(DbBackupException exception) => ForErrorId(exception.ErrorId) ?? For(exception.Kind);

    public static int For(ErrorKind kind) => kind switch
    {
        ErrorKind.InvalidArgument => Usage,
        ErrorKind.ConnectionError or ErrorKind.AuthenticationError or ErrorKind.PermissionDenied or ErrorKind.OperationTimeout => Connection,
        ErrorKind.ObjectNotFound => NotFound,
        ErrorKind.InvalidData or ErrorKind.SecurityError => Integrity,
        ErrorKind.NotInstalled => ToolMissing,
        ErrorKind.OperationStopped => Cancelled,
        _ => Failure,
    };

    /// <summary>The exit code of a known error id, or null when the id is not one this table knows.</summary>
    public static int? ForErrorId(string? errorId) => errorId switch
    {
        ErrorIds.InvalidArgument or ErrorIds.KeyRequired => Usage,
        ErrorIds.HostUnreachable or ErrorIds.ConnectionRefused or ErrorIds.ConnectionTimeout
            or ErrorIds.AuthenticationFailed or ErrorIds.InsufficientPrivilege
            or ErrorIds.StorageCredentialsMissing or ErrorIds.StorageAuthenticationFailed or ErrorIds.StorageAccessDenied => Connection,
        ErrorIds.DatabaseNotFound or ErrorIds.BackupNotFound or ErrorIds.RepositoryNotFound or ErrorIds.StorageContainerNotFound => NotFound,
        ErrorIds.BackupCorrupted or ErrorIds.BackupTruncated or ErrorIds.BackupTampered or ErrorIds.WrongKey => Integrity,
        ErrorIds.ToolNotFound or ErrorIds.ToolTooOld or ErrorIds.CodecUnavailable => ToolMissing,
        ErrorIds.TargetNotEmpty => TargetNotEmpty,
        ErrorIds.OperationCancelled => Cancelled,
        ErrorIds.ToolFailed or ErrorIds.StorageError or ErrorIds.RestoreFailed or ErrorIds.InsufficientSpace => Failure,
        ErrorIds.RepositoryKeyMismatch or ErrorIds.CopyFailed => Failure,
        _ => null,
    };
}
