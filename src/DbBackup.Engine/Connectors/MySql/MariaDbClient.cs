using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using DbBackup.Engine.Errors;

namespace DbBackup.Engine.Connectors.MySql;

/// <summary>
/// A 0600 temporary option file holding the connection settings and password, passed to mariadb/mariadb-dump as
/// <c>--defaults-extra-file</c> (which must be their first argument) and deleted on dispose.
/// </summary>
internal sealed class MariaDbOptionFile : IDisposable
{
    private MariaDbOptionFile(string path) => Path = path;

    public string Path { get; }

    public string Argument => "--defaults-extra-file=" + Path;

    public static MariaDbOptionFile Create(ConnectionOptions c)
    {
        var text = new StringBuilder("[client]\n");
        text.Append("host=").Append(Quote(c.Host!)).Append('\n');
        text.Append("port=").Append((c.Port ?? 3306).ToString(CultureInfo.InvariantCulture)).Append('\n');
        text.Append("protocol=TCP\n");
        if (c.Username is not null)
        {
            text.Append("user=").Append(Quote(c.Username)).Append('\n');
        }
        if (c.Password is not null)
        {
            text.Append("password=").Append(Quote(c.Password.Reveal())).Append('\n');
        }
        // Only the interactive client knows connect-timeout; mariadb-dump would reject it under [client].
        text.Append("[mysql]\nconnect-timeout=").Append(Math.Max(1, (int)Math.Ceiling(c.ConnectTimeout.TotalSeconds)).ToString(CultureInfo.InvariantCulture)).Append('\n');
        var path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), $"dbbackup-{Guid.NewGuid():N}.cnf");
        var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write, Share = FileShare.None };
        if (!OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        }
        using (var stream = new FileStream(path, options))
        {
            stream.Write(new UTF8Encoding(false).GetBytes(text.ToString()));
        }
        return new MariaDbOptionFile(path);
    }

    public void Dispose() => File.Delete(Path);

    /// <summary>Option-file value syntax: double quotes with backslash escapes.</summary>
    private static string Quote(string value) => "\"" + value
        .Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal)
        .Replace("\n", "\\n", StringComparison.Ordinal).Replace("\r", "\\r", StringComparison.Ordinal)
        .Replace("\t", "\\t", StringComparison.Ordinal) + "\"";
}

/// <summary>Runs the <c>mariadb</c>/<c>mysql</c> client and maps its errors to the connection error ids.</summary>
internal static partial class MariaDbClient
{
    internal static readonly ToolSpec Client = new(["mariadb", "mysql"], VersionPattern(),
        "the MariaDB client (Debian: apt-get install mariadb-client)");
    internal static readonly ToolSpec Dump = new(["mariadb-dump", "mysqldump"], VersionPattern(),
        "the MariaDB client tools (Debian: apt-get install mariadb-client)");

    public static string QuoteIdentifier(string name) => "`" + name.Replace("`", "``", StringComparison.Ordinal) + "`";

    public static string QuoteLiteral(string value) => "'" + value.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("'", "''", StringComparison.Ordinal) + "'";

    /// <summary>Runs SQL (from stdin) and returns the tab-separated rows; throws a classified exception on failure.</summary>
    public static async Task<IReadOnlyList<string[]>> QueryAsync(ToolInfo client, ConnectionOptions c, string? database, string sql, CancellationToken cancellationToken)
    {
        using var optionFile = MariaDbOptionFile.Create(c);
        var arguments = new List<string> { optionFile.Argument, "--batch", "--skip-column-names", "--default-character-set=utf8mb4" };
        if (database is not null)
        {
            arguments.Add("--database=" + database);
        }
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(c.ConnectTimeout + TimeSpan.FromSeconds(30));
        ToolOutput output;
        try
        {
            output = await ToolProcess.CaptureAsync(new ToolInvocation(client.Path, arguments), sql, deadline.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw ConnectionFailures.Timeout(c, $"{client.Name} did not finish");
        }
        if (output.ExitCode != 0)
        {
            throw Classify(c, output.StandardError) ?? ToolProcess.Failed(new ToolInvocation(client.Path, arguments), output.ExitCode, output.StandardError);
        }
        return output.StandardOutput.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(line => line.Split('\t')).ToList();
    }

    /// <summary>Maps a client error (<c>ERROR 1045 (28000): ...</c>) to a connection error id; null when it is no connection error.</summary>
    public static DbBackupException? Classify(ConnectionOptions c, string stderr)
    {
        var match = ErrorPattern().Match(stderr);
        if (!match.Success)
        {
            return null;
        }
        var code = int.Parse(match.Groups["code"].Value, CultureInfo.InvariantCulture);
        var message = match.Groups["message"].Value.Trim();
        var errno = SystemErrorPattern().Match(message) is { Success: true } m ? int.Parse(m.Groups["errno"].Value, CultureInfo.InvariantCulture) : 0;
        return code switch
        {
            2005 => ConnectionFailures.HostUnreachable(c, "the name does not resolve: " + message),
            2002 or 2003 when errno == 110 => ConnectionFailures.Timeout(c, message),
            2002 or 2003 when errno is 113 or 101 or 112 => ConnectionFailures.HostUnreachable(c, "no route to the host: " + message),
            2002 or 2003 => ConnectionFailures.Refused(c, message),
            2013 when errno == 110 || message.Contains("handshake", StringComparison.Ordinal) => ConnectionFailures.Timeout(c, message),
            2013 or 2006 => ConnectionFailures.Refused(c, message),
            1045 => ConnectionFailures.Authentication(c, message),
            1049 => ConnectionFailures.DatabaseNotFound(c, message),
            1044 => ConnectionFailures.Privilege(c, message,
                $"Grant the backup privileges on the database: GRANT SELECT, SHOW VIEW, TRIGGER, EVENT ON {QuoteIdentifier(c.Database)}.* TO '{c.Username}'@'<host>';"),
            1142 or 1143 or 1227 or 1370 => ConnectionFailures.Privilege(c, message, "Grant the missing privilege named in the message."),
            _ => null,
        };
    }

    /// <summary>The tool's version must not be older (major.minor) than a server of the same family.</summary>
    public static void EnsureToolMatchesServer(ToolInfo tool, string serverVersion)
    {
        var serverIsMariaDb = serverVersion.Contains("MariaDB", StringComparison.OrdinalIgnoreCase);
        var toolIsMariaDb = tool.VersionText.Contains("MariaDB", StringComparison.OrdinalIgnoreCase);
        var match = ServerVersionPattern().Match(serverVersion);
        if (serverIsMariaDb != toolIsMariaDb || !match.Success)
        {
            return; // across families (mysqldump vs MariaDB) versions are not comparable; the dump itself will tell
        }
        var required = new Version(int.Parse(match.Groups["major"].Value, CultureInfo.InvariantCulture), int.Parse(match.Groups["minor"].Value, CultureInfo.InvariantCulture));
        ToolLocator.EnsureAtLeast(tool, required,
            $"the server runs {(serverIsMariaDb ? "MariaDB" : "MySQL")} {required} and an older {tool.Name} may not know its features",
            $"the {(serverIsMariaDb ? "MariaDB" : "MySQL")} {required} client tools");
    }

    [GeneratedRegex(@"Distrib\s+(?<v>\d+\.\d+(\.\d+)?)|Ver\s+(?<v>\d+\.\d+\.\d+)\s+for")]
    private static partial Regex VersionPattern();

    [GeneratedRegex(@"ERROR (?<code>\d+) \([0-9A-Z]{5}\)( at line \d+)?: (?<message>[^\n]*)")]
    private static partial Regex ErrorPattern();

    [GeneratedRegex(@"(system error: |\()(?<errno>\d+)\)?\s*$")]
    private static partial Regex SystemErrorPattern();

    [GeneratedRegex(@"^(?<major>\d+)\.(?<minor>\d+)")]
    private static partial Regex ServerVersionPattern();
}
