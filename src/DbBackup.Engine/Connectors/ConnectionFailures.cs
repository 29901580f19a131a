using System.Net.Sockets;
using DbBackup.Engine.Errors;

namespace DbBackup.Engine.Connectors;

/// <summary>The distinct, actionable connection errors shared by the connectors, and the test-result plumbing.</summary>
internal static class ConnectionFailures
{
    public static ConnectionFailedException HostUnreachable(ConnectionOptions c, string detail, Exception? inner = null) =>
        new(ErrorIds.HostUnreachable, ErrorKind.ConnectionError,
            $"The host '{c.Host}' could not be reached ({detail}).",
            "Check the host name (DNS) and the network route to the server, or use its IP address.", inner) { Target = c.ToString() };

    public static ConnectionFailedException Refused(ConnectionOptions c, string detail, Exception? inner = null) =>
        new(ErrorIds.ConnectionRefused, ErrorKind.ConnectionError,
            $"The server at {c.Host}:{c.Port?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "(default port)"} refused the connection ({detail}).",
            "Check that the database server is running, listens on that address and port, and that no firewall rejects the connection.", inner) { Target = c.ToString() };

    public static ConnectionFailedException Timeout(ConnectionOptions c, string detail, Exception? inner = null) =>
        new(ErrorIds.ConnectionTimeout, ErrorKind.OperationTimeout,
            $"The server at {c.Host}:{c.Port?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "(default port)"} did not answer within {c.ConnectTimeout.TotalSeconds:0.#} s ({detail}).",
            "Check that the address really is the database server (not a firewall or proxy that drops packets), or raise the connect timeout.", inner) { Target = c.ToString() };

    public static ConnectionFailedException Authentication(ConnectionOptions c, string detail, Exception? inner = null) =>
        new(ErrorIds.AuthenticationFailed, ErrorKind.AuthenticationError,
            $"The server rejected the login of user '{c.Username}' ({detail}).",
            "Check the user name and password (the credential passed to the command), and that the server allows this user to log in from this host.", inner) { Target = c.ToString() };

    public static ConnectionFailedException DatabaseNotFound(ConnectionOptions c, string detail, Exception? inner = null) =>
        new(ErrorIds.DatabaseNotFound, ErrorKind.ObjectNotFound,
            $"The database '{c.Database}' does not exist on {c.Host} ({detail}).",
            "Check the database name (names can be case-sensitive); list the server's databases to find the right one.", inner) { Target = c.ToString() };

    public static ConnectionFailedException Privilege(ConnectionOptions c, string detail, string action, Exception? inner = null) =>
        new(ErrorIds.InsufficientPrivilege, ErrorKind.PermissionDenied,
            $"User '{c.Username}' lacks privileges needed to back up '{c.Database}': {detail}.",
            action + " See docs/privileges.md for the minimal privileges per engine.", inner) { Target = c.ToString() };

    /// <summary>Maps a socket-level failure (including DNS) to one of the connection errors; null when it is none of them.</summary>
    public static ConnectionFailedException? FromSocket(ConnectionOptions c, SocketException e) => e.SocketErrorCode switch
    {
        SocketError.HostNotFound or SocketError.TryAgain or SocketError.NoData or SocketError.NoRecovery
            => HostUnreachable(c, "the name does not resolve", e),
        SocketError.HostUnreachable or SocketError.NetworkUnreachable or SocketError.HostDown or SocketError.NetworkDown
            => HostUnreachable(c, "no route to the host", e),
        SocketError.ConnectionRefused => Refused(c, "nothing listens on the port", e),
        SocketError.TimedOut => Timeout(c, "TCP connect timed out", e),
        _ => null,
    };

    public static ConnectionTestResult Success(ConnectionOptions c, TimeSpan latency, string serverVersion, ToolInfo? tool) => new()
    {
        Engine = c.Engine,
        Server = ServerName(c),
        Port = c.Port,
        Database = c.Database,
        Success = true,
        ServerVersion = serverVersion,
        ToolName = tool?.Name,
        ToolVersion = tool?.VersionString,
        ToolPath = tool?.Path,
        Latency = latency,
    };

    public static ConnectionTestResult Failure(ConnectionOptions c, DbBackupException e, TimeSpan? latency = null, string? serverVersion = null, ToolInfo? tool = null) => new()
    {
        Engine = c.Engine,
        Server = ServerName(c),
        Port = c.Port,
        Database = c.Database,
        Success = false,
        ServerVersion = serverVersion,
        ToolName = tool?.Name,
        ToolVersion = tool?.VersionString,
        ToolPath = tool?.Path,
        Latency = latency,
        ErrorId = e.ErrorId,
        Message = e.Message,
        RecommendedAction = e.RecommendedAction,
    };

    private static string ServerName(ConnectionOptions c) => c.Engine == DatabaseEngine.Sqlite ? c.Database : c.Host ?? "localhost";

    /// <summary>Checks the options every server connector needs.</summary>
    public static void RequireServer(ConnectionOptions c)
    {
        if (string.IsNullOrWhiteSpace(c.Host))
        {
            throw new DbBackupException(ErrorIds.InvalidArgument, ErrorKind.InvalidArgument,
                $"No host given for {c.Engine} database '{c.Database}'.", "Pass the server's host name or address.");
        }
        if (string.IsNullOrWhiteSpace(c.Database))
        {
            throw new DbBackupException(ErrorIds.InvalidArgument, ErrorKind.InvalidArgument,
                $"No database name given for {c.Engine} server {c.Host}.", "Pass the database name.");
        }
    }
}
