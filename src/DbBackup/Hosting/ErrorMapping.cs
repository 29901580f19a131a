using System.Management.Automation;
using DbBackup.Engine.Errors;

namespace DbBackup.PowerShell.Hosting;

/// <summary>The one place where engine exceptions become PowerShell error records.</summary>
internal static class ErrorMapping
{
    public const string UnexpectedErrorId = "UnexpectedError";

    /// <summary>
    /// Failures that would fail every item the same way (a wrong argument, a missing repository, a missing
    /// tool or codec): the cmdlet stops with a terminating error instead of repeating it per item.
    /// </summary>
    private static readonly HashSet<string> SetupErrorIds = new(StringComparer.Ordinal)
    {
        ErrorIds.InvalidArgument, ErrorIds.RepositoryNotFound, ErrorIds.ToolNotFound, ErrorIds.ToolTooOld,
        ErrorIds.CodecUnavailable,
    };

    public static bool IsSetupError(Exception exception) =>
        exception is DbBackupException dbBackup && SetupErrorIds.Contains(dbBackup.ErrorId);

    public static ErrorRecord ToErrorRecord(Exception exception, object? target)
    {
        if (exception is DbBackupException dbBackup)
        {
            var record = new ErrorRecord(dbBackup, dbBackup.ErrorId, ToCategory(dbBackup.Kind), dbBackup.Target ?? target);
            if (dbBackup.RecommendedAction is { Length: > 0 } action)
            {
                record.ErrorDetails = new ErrorDetails(dbBackup.Message) { RecommendedAction = action };
            }
            return record;
        }

        var category = exception switch
        {
            OperationCanceledException => ErrorCategory.OperationStopped,
            TimeoutException => ErrorCategory.OperationTimeout,
            UnauthorizedAccessException => ErrorCategory.PermissionDenied,
            FileNotFoundException or DirectoryNotFoundException => ErrorCategory.ObjectNotFound,
            IOException => ErrorCategory.WriteError,
            ArgumentException => ErrorCategory.InvalidArgument,
            _ => ErrorCategory.NotSpecified,
        };
        var errorId = exception is OperationCanceledException ? ErrorIds.OperationCancelled : UnexpectedErrorId;
        return new ErrorRecord(exception, errorId, category, target);
    }

    /// <summary>
    /// Every <see cref="ErrorKind"/> is named after the <see cref="ErrorCategory"/> it maps to (a test holds
    /// the two enums together); an unknown kind is NotSpecified rather than a crash while reporting an error.
    /// </summary>
    public static ErrorCategory ToCategory(ErrorKind kind) =>
        Enum.TryParse<ErrorCategory>(kind.ToString(), ignoreCase: false, out var category) ? category : ErrorCategory.NotSpecified;
}
