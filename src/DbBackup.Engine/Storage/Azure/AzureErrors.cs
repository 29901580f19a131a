using System.Net;
using DbBackup.Engine.Errors;
using DbBackup.Engine.Storage.ObjectStore;

namespace DbBackup.Engine.Storage.Azure;

/// <summary>Maps a failed Blob service response (status + x-ms-error-code) to the engine's errors. Messages never contain a URL's query (SAS).</summary>
internal static class AzureErrors
{
    private static readonly HashSet<string> AccessDeniedCodes = new(StringComparer.OrdinalIgnoreCase)
    {
        "AuthorizationPermissionMismatch", "AuthorizationFailure", "AuthorizationSourceIPMismatch", "AuthorizationProtocolMismatch",
        "AuthorizationResourceTypeMismatch", "AuthorizationServiceMismatch", "InsufficientAccountPermissions", "KeyBasedAuthenticationNotPermitted",
        "AccountIsDisabled",
    };

    private static readonly HashSet<string> AuthenticationCodes = new(StringComparer.OrdinalIgnoreCase)
    {
        "AuthenticationFailed", "InvalidAuthenticationInfo", "NoAuthenticationInformation",
    };

    public static string? ErrorCode(HttpResponseMessage response)
        => response.Headers.TryGetValues("x-ms-error-code", out var v) ? v.FirstOrDefault() : null;

    public static DbBackupException ToException(HttpResponseMessage response, string operation, string location, string credentialSource)
        => ToException(response.StatusCode, ErrorCode(response), operation, location, credentialSource, response.ReasonPhrase);

    /// <summary>
    /// The exception for a failed response; <paramref name="operation"/> says what was attempted ("upload 'key'").
    /// A 403 whose reason says the server "failed to authenticate the request" is an authentication failure whatever
    /// its code (Azurite answers a bad SharedKey signature with AuthorizationFailure, Azure with AuthenticationFailed).
    /// </summary>
    public static DbBackupException ToException(HttpStatusCode statusCode, string? code, string operation, string location, string credentialSource, string? reason = null)
    {
        var status = (int)statusCode;
        var what = $"Azure Blob storage '{location}' refused to {operation}: HTTP {status}{(code is null ? "" : " " + code)}";
        if (code is not null && AuthenticationCodes.Contains(code) || status == 401
            || status == 403 && reason is not null && reason.Contains("failed to authenticate", StringComparison.OrdinalIgnoreCase))
        {
            return new DbBackupException(ErrorIds.StorageAuthenticationFailed, ErrorKind.AuthenticationError,
                $"{what}. The credential from {credentialSource} was rejected.",
                "Check that the key, SAS token or identity belongs to this storage account and has not expired or been rotated.") { Target = location };
        }
        if (status == 403)
        {
            return new DbBackupException(ErrorIds.StorageAccessDenied, ErrorKind.PermissionDenied,
                $"{what}. The credential from {credentialSource} is not allowed to do that.",
                "Grant the identity the 'Storage Blob Data Contributor' role on the container (or account), or use a SAS token with read, add, create, write, delete and list permissions.")
            { Target = location };
        }
        if (string.Equals(code, "ContainerNotFound", StringComparison.OrdinalIgnoreCase))
        {
            return new DbBackupException(ErrorIds.StorageContainerNotFound, ErrorKind.ObjectNotFound,
                $"The container of '{location}' does not exist.",
                "Create the container first (portal, or 'az storage container create'), or correct the location.") { Target = location };
        }
        if (string.Equals(code, "AccountNotFound", StringComparison.OrdinalIgnoreCase) || string.Equals(code, "ResourceNotFound", StringComparison.OrdinalIgnoreCase))
        {
            return new DbBackupException(ErrorIds.StorageContainerNotFound, ErrorKind.ObjectNotFound,
                $"{what}: the storage account or container of '{location}' does not exist.", "Check the account and container names and the endpoint.") { Target = location };
        }
        var transient = StorageRequestException.IsTransientStatus(status);
        return new StorageRequestException(what + ".", transient, status);
    }
}
