using DbBackup.Engine.Errors;

namespace DbBackup.Engine.Storage.ObjectStore;

/// <summary>
/// A request to a storage service failed. <see cref="IsTransient"/> marks failures worth retrying (HTTP 408/429/5xx,
/// timeouts, refused or reset connections); everything else fails at once. The message names the location and the
/// operation, never a credential or a signed URL.
/// </summary>
public sealed class StorageRequestException(string message, bool isTransient, int? statusCode = null, string? recommendedAction = null, Exception? inner = null)
    : DbBackupException(ErrorIds.StorageError, isTransient ? ErrorKind.ResourceUnavailable : ErrorKind.WriteError, message,
        recommendedAction ?? (isTransient ? "The storage service or network failed repeatedly; check connectivity and the service's status, then run the command again." : null), inner)
{
    public bool IsTransient { get; } = isTransient;

    /// <summary>The HTTP status the service returned, when there was a response.</summary>
    public int? StatusCode { get; } = statusCode;

    /// <summary>True for statuses that are worth retrying: 408, 429 and 5xx.</summary>
    public static bool IsTransientStatus(int status) => status is 408 or 429 || status >= 500;
}
