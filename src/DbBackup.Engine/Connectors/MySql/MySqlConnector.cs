using System.Diagnostics;
using System.Globalization;
using DbBackup.Engine.Errors;
using DbBackup.Engine.Pipeline;

namespace DbBackup.Engine.Connectors.MySql;

/// <summary>
/// MySQL/MariaDB through the engine's own tools: <c>mariadb-dump</c> (or <c>mysqldump</c>) with
/// <c>--single-transaction --routines --triggers --events --hex-blob</c> and without <c>--databases</c>, so a dump
/// restores into any database name; restore streams the dump into the <c>mariadb</c> client. The password reaches
/// the tools only through a 0600 temporary option file. There is no cheap database rename, so the restore strategy
/// is <see cref="RestoreStrategy.VerifyFirst"/> and <see cref="SwapInAsync"/> is not supported.
/// </summary>
public sealed class MySqlConnector : IDatabaseConnector
{
    /// <summary>Privileges mariadb-dump needs on the database (with --single-transaction no LOCK TABLES is taken).</summary>
    internal static readonly string[] BackupPrivileges = ["SELECT", "SHOW VIEW", "TRIGGER", "EVENT"];

    public DatabaseEngine Engine => DatabaseEngine.MySql;

    public RestoreStrategy RestoreStrategy => RestoreStrategy.VerifyFirst;

    public string RepositoryName(ConnectionOptions connection) => connection.Database;

    public IChunker CreateChunker() => GearChunker.CreateDefault();

    public async Task<ConnectionTestResult> TestConnectionAsync(ConnectionOptions connection, CancellationToken cancellationToken)
    {
        TimeSpan? latency = null;
        string? serverVersion = null;
        ToolInfo? tool = null;
        try
        {
            ConnectionFailures.RequireServer(connection);
            var client = await ToolLocator.LocateAsync(MariaDbClient.Client, connection.ToolDirectory, cancellationToken).ConfigureAwait(false);
            var stopwatch = Stopwatch.StartNew();
            var rows = await MariaDbClient.QueryAsync(client, connection, connection.Database, PrivilegeQuery, cancellationToken).ConfigureAwait(false);
            latency = stopwatch.Elapsed;
            serverVersion = rows[0][0];
            var granted = rows[0][1].Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).ToHashSet(StringComparer.OrdinalIgnoreCase);
            var missing = granted.Contains("ALL PRIVILEGES") ? [] : BackupPrivileges.Where(p => !granted.Contains(p)).ToList();
            var canReadRoutines = rows[0][2] != "0" || granted.Contains("ALL PRIVILEGES");
            if (serverVersion.Contains("MariaDB", StringComparison.OrdinalIgnoreCase) && !canReadRoutines)
            {
                missing.Add("SELECT on mysql.proc (to dump routine bodies)");
            }
            if (missing.Count > 0)
            {
                throw ConnectionFailures.Privilege(connection, "missing " + string.Join(", ", missing),
                    $"Grant them: GRANT SELECT, SHOW VIEW, TRIGGER, EVENT ON {MariaDbClient.QuoteIdentifier(connection.Database)}.* TO '{connection.Username}'@'<host>'; GRANT SELECT ON mysql.proc TO '{connection.Username}'@'<host>';");
            }
            tool = await LocateDumpToolAsync(connection, serverVersion, cancellationToken).ConfigureAwait(false);
            return ConnectionFailures.Success(connection, latency.Value, serverVersion, tool);
        }
        catch (DbBackupException e)
        {
            return ConnectionFailures.Failure(connection, e, latency, serverVersion, tool);
        }
    }

    public async Task<SourceDescription> DescribeAsync(ConnectionOptions connection, CancellationToken cancellationToken)
    {
        ConnectionFailures.RequireServer(connection);
        var client = await ToolLocator.LocateAsync(MariaDbClient.Client, connection.ToolDirectory, cancellationToken).ConfigureAwait(false);
        var rows = await MariaDbClient.QueryAsync(client, connection, connection.Database,
            "SELECT version(), (SELECT COALESCE(SUM(DATA_LENGTH + INDEX_LENGTH), 0) FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE());",
            cancellationToken).ConfigureAwait(false);
        var tool = await LocateDumpToolAsync(connection, rows[0][0], cancellationToken).ConfigureAwait(false);
        return new SourceDescription(rows[0][0], tool.Name, tool.VersionString, tool.Path, long.Parse(rows[0][1], CultureInfo.InvariantCulture));
    }

    public async Task DumpAsync(ConnectionOptions connection, Stream output, CancellationToken cancellationToken)
    {
        var description = await DescribeAsync(connection, cancellationToken).ConfigureAwait(false);
        using var optionFile = MariaDbOptionFile.Create(connection);
        var arguments = new List<string>
        {
            optionFile.Argument, // must come first
            "--single-transaction", "--routines", "--triggers", "--events", "--hex-blob", "--no-tablespaces",
            "--default-character-set=utf8mb4", "--max-allowed-packet=1G", connection.Database,
        };
        await ToolProcess.RunAsync(new ToolInvocation(description.ToolPath!, arguments), null, output, cancellationToken).ConfigureAwait(false);
    }

    public async Task<TargetState> GetTargetStateAsync(ConnectionOptions target, CancellationToken cancellationToken)
    {
        ConnectionFailures.RequireServer(target);
        var client = await ToolLocator.LocateAsync(MariaDbClient.Client, target.ToolDirectory, cancellationToken).ConfigureAwait(false);
        var name = MariaDbClient.QuoteLiteral(target.Database);
        var rows = await MariaDbClient.QueryAsync(client, target, null, $"""
            SELECT (SELECT COUNT(*) FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = {name}),
                   (SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = {name})
                 + (SELECT COUNT(*) FROM information_schema.ROUTINES WHERE ROUTINE_SCHEMA = {name})
                 + (SELECT COUNT(*) FROM information_schema.EVENTS WHERE EVENT_SCHEMA = {name});
            """, cancellationToken).ConfigureAwait(false);
        return new TargetState(rows[0][0] != "0", rows[0][1] == "0");
    }

    public async Task RestoreAsync(ConnectionOptions target, Stream dump, CancellationToken cancellationToken)
    {
        var state = await GetTargetStateAsync(target, cancellationToken).ConfigureAwait(false);
        if (!state.IsEmpty)
        {
            throw new DbBackupException(ErrorIds.TargetNotEmpty, ErrorKind.InvalidOperation,
                $"The restore target {target} already holds objects.",
                "Restore into a new database name, or drop the target first.") { Target = target.ToString() };
        }
        var client = await ToolLocator.LocateAsync(MariaDbClient.Client, target.ToolDirectory, cancellationToken).ConfigureAwait(false);
        if (!state.Exists)
        {
            await MariaDbClient.QueryAsync(client, target, null, $"CREATE DATABASE {MariaDbClient.QuoteIdentifier(target.Database)};", cancellationToken).ConfigureAwait(false);
        }
        using var optionFile = MariaDbOptionFile.Create(target);
        var arguments = new List<string>
        {
            optionFile.Argument, // must come first
            "--batch", "--binary-mode", "--default-character-set=utf8mb4", "--max-allowed-packet=1G", "--database=" + target.Database,
        };
        await ToolProcess.RunAsync(new ToolInvocation(client.Path, arguments), dump, null, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Not supported: MariaDB/MySQL cannot rename a database; the engine verifies first and restores directly (<see cref="RestoreStrategy.VerifyFirst"/>).</summary>
    public Task SwapInAsync(ConnectionOptions staging, ConnectionOptions target, CancellationToken cancellationToken) =>
        throw new NotSupportedException("MySQL/MariaDB has no database rename; this connector uses RestoreStrategy.VerifyFirst, so the engine never stages and swaps.");

    public async Task DropAsync(ConnectionOptions target, CancellationToken cancellationToken)
    {
        ConnectionFailures.RequireServer(target);
        var client = await ToolLocator.LocateAsync(MariaDbClient.Client, target.ToolDirectory, cancellationToken).ConfigureAwait(false);
        await MariaDbClient.QueryAsync(client, target, null, $"DROP DATABASE IF EXISTS {MariaDbClient.QuoteIdentifier(target.Database)};", cancellationToken).ConfigureAwait(false);
    }

    private static async Task<ToolInfo> LocateDumpToolAsync(ConnectionOptions connection, string serverVersion, CancellationToken cancellationToken)
    {
        var tool = await ToolLocator.LocateAsync(MariaDbClient.Dump, connection.ToolDirectory, cancellationToken).ConfigureAwait(false);
        MariaDbClient.EnsureToolMatchesServer(tool, serverVersion);
        return tool;
    }

    /// <summary>Server version, the backup-relevant privileges on the current database (global, schema and role grants), and whether mysql.proc is readable.</summary>
    private const string PrivilegeQuery = """
        SELECT version(),
          COALESCE((SELECT GROUP_CONCAT(DISTINCT PRIVILEGE_TYPE) FROM (
              SELECT GRANTEE, PRIVILEGE_TYPE FROM information_schema.USER_PRIVILEGES
              UNION ALL SELECT GRANTEE, PRIVILEGE_TYPE FROM information_schema.SCHEMA_PRIVILEGES WHERE DATABASE() LIKE TABLE_SCHEMA) p
            WHERE GRANTEE = CONCAT('''', SUBSTRING_INDEX(CURRENT_USER(), '@', 1), '''@''', SUBSTRING_INDEX(CURRENT_USER(), '@', -1), '''')
               OR GRANTEE IN (SELECT CONCAT('''', ROLE_NAME, '''') FROM information_schema.ENABLED_ROLES)), ''),
          (SELECT COUNT(*) FROM (
              SELECT GRANTEE FROM information_schema.USER_PRIVILEGES WHERE PRIVILEGE_TYPE = 'SELECT'
              UNION ALL SELECT GRANTEE FROM information_schema.SCHEMA_PRIVILEGES WHERE TABLE_SCHEMA = 'mysql' AND PRIVILEGE_TYPE = 'SELECT'
              UNION ALL SELECT GRANTEE FROM information_schema.TABLE_PRIVILEGES WHERE TABLE_SCHEMA = 'mysql' AND TABLE_NAME = 'proc' AND PRIVILEGE_TYPE = 'SELECT') r
            WHERE GRANTEE = CONCAT('''', SUBSTRING_INDEX(CURRENT_USER(), '@', 1), '''@''', SUBSTRING_INDEX(CURRENT_USER(), '@', -1), '''')
               OR GRANTEE IN (SELECT CONCAT('''', ROLE_NAME, '''') FROM information_schema.ENABLED_ROLES));
        """;
}
