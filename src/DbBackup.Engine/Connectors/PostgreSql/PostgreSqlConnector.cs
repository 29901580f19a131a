using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;
using DbBackup.Engine.Errors;
using DbBackup.Engine.Pipeline;
using Npgsql;

namespace DbBackup.Engine.Connectors.PostgreSql;

/// <summary>
/// PostgreSQL: <c>pg_dump -Fc -Z0</c> to stdout, <c>pg_restore --exit-on-error</c> from stdin, Npgsql for connection
/// tests, describing the server and database DDL. Passwords reach the tools through PGPASSWORD only.
/// Restores keep owners and privileges when the restoring user is a superuser, and use
/// <c>--no-owner --no-privileges</c> otherwise (objects then belong to the restoring user; see docs/privileges.md).
/// </summary>
public sealed partial class PostgreSqlConnector : IDatabaseConnector
{
    internal static readonly ToolSpec PgDump = new(["pg_dump"], VersionPattern(), "the PostgreSQL client tools (Debian: apt-get install postgresql-client)");
    internal static readonly ToolSpec PgRestore = new(["pg_restore"], VersionPattern(), "the PostgreSQL client tools (Debian: apt-get install postgresql-client)");

    public DatabaseEngine Engine => DatabaseEngine.PostgreSql;

    public RestoreStrategy RestoreStrategy => RestoreStrategy.StagingSwap;

    public string RepositoryName(ConnectionOptions connection) => connection.Database;

    public IChunker CreateChunker() => GearChunker.CreateDefault();

    /// <summary>pg_dump spends ~0.3 s connecting and reading the catalog before its first byte: overlap that with the backup's preparation.</summary>
    public bool DumpStartsEarly => true;

    public async Task<ConnectionTestResult> TestConnectionAsync(ConnectionOptions connection, CancellationToken cancellationToken)
    {
        var stopwatch = Stopwatch.StartNew();
        TimeSpan? latency = null;
        string? serverVersion = null;
        ToolInfo? tool = null;
        try
        {
            await using var db = await PostgreSqlServer.OpenAsync(connection, null, cancellationToken).ConfigureAwait(false);
            latency = stopwatch.Elapsed;
            serverVersion = db.ServerVersion;
            var unreadable = await PostgreSqlServer.UnreadableRelationsAsync(db, cancellationToken).ConfigureAwait(false);
            if (unreadable.Count > 0)
            {
                throw ConnectionFailures.Privilege(connection,
                    $"no SELECT on {string.Join(", ", unreadable.Take(5))}{(unreadable.Count > 5 ? ", ..." : "")}",
                    $"Grant the role pg_read_all_data (PostgreSQL 14+: GRANT pg_read_all_data TO \"{connection.Username}\";) or USAGE on the schemas and SELECT on all tables and sequences.");
            }
            tool = await LocateToolAsync(PgDump, connection, db.PostgreSqlVersion, cancellationToken).ConfigureAwait(false);
            return ConnectionFailures.Success(connection, latency.Value, serverVersion, tool);
        }
        catch (DbBackupException e)
        {
            return ConnectionFailures.Failure(connection, e, latency, serverVersion, tool);
        }
    }

    public async Task<SourceDescription> DescribeAsync(ConnectionOptions connection, CancellationToken cancellationToken)
    {
        // pg_dump --version runs while the connection opens (both take a few hundred ms on a cold process);
        // errors keep their order: the connection's first, then the tool's.
        var locating = Task.Run(() => ToolLocator.LocateAsync(PgDump, connection.ToolDirectory, cancellationToken), cancellationToken);
        NpgsqlConnection db;
        long size;
        try
        {
            db = await PostgreSqlServer.OpenAsync(connection, null, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception)
        {
            ObserveFault(locating);
            throw;
        }
        await using (db.ConfigureAwait(false))
        {
            try
            {
                size = await PostgreSqlServer.ScalarAsync<long>(db, "SELECT pg_database_size(current_database())", cancellationToken).ConfigureAwait(false);
            }
            catch (Exception)
            {
                ObserveFault(locating);
                throw;
            }
            var tool = await locating.ConfigureAwait(false);
            EnsureToolVersion(tool, db.PostgreSqlVersion);
            return new SourceDescription(db.ServerVersion, tool.Name, tool.VersionString, tool.Path, size);
        }
    }

    /// <summary>
    /// Starts pg_dump at once and checks the connection and the tool's version beside its start-up (pg_dump spends
    /// ~0.3 s connecting and reading the catalog before its first byte). A failed check stops pg_dump and is the
    /// error reported, so a missing database or a too-old tool reads as before.
    /// </summary>
    public async Task DumpAsync(ConnectionOptions connection, Stream output, CancellationToken cancellationToken)
    {
        ConnectionFailures.RequireServer(connection);
        if (ToolLocator.Find(PgDump, connection.ToolDirectory) is not { } path)
        {
            await ToolLocator.LocateAsync(PgDump, connection.ToolDirectory, cancellationToken).ConfigureAwait(false); // throws ToolNotFound
            throw new InvalidOperationException("pg_dump was located only on the second look.");
        }
        var arguments = new List<string> { "--format=custom", "--compress=0" };
        arguments.AddRange(ConnectionArguments(connection));
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        TimingTrace.Mark("pg_dump: starting");
        var running = ToolProcess.RunAsync(Invocation(path, arguments, connection), null, output, stop.Token);
        var checking = Task.Run(() => CheckDumpToolAsync(connection, path, cancellationToken), CancellationToken.None);
        try
        {
            await checking.ConfigureAwait(false);
        }
        catch (Exception)
        {
            await stop.CancelAsync().ConfigureAwait(false);
            try
            {
                await running.ConfigureAwait(false);
            }
            catch (Exception stopped) when (stopped is OperationCanceledException or DbBackupException or IOException)
            {
                // pg_dump was stopped because the check failed; the check's error is the one reported.
            }
            throw;
        }
        await running.ConfigureAwait(false);
    }

    private static async Task CheckDumpToolAsync(ConnectionOptions connection, string path, CancellationToken cancellationToken)
    {
        await using var db = await PostgreSqlServer.OpenAsync(connection, null, cancellationToken).ConfigureAwait(false);
        var tool = await LocateToolAsync(PgDump, connection, db.PostgreSqlVersion, cancellationToken).ConfigureAwait(false);
        if (tool.Path != path)
            throw new ToolException(ErrorIds.ToolNotFound, ErrorKind.NotInstalled, $"pg_dump moved while the dump started (was {path}, now {tool.Path}).", "Run the backup again.");
    }

    public async Task<TargetState> GetTargetStateAsync(ConnectionOptions target, CancellationToken cancellationToken)
    {
        await using (var maintenance = await PostgreSqlServer.OpenMaintenanceAsync(target, cancellationToken).ConfigureAwait(false))
        {
            if (!await PostgreSqlServer.DatabaseExistsAsync(maintenance, target.Database, cancellationToken).ConfigureAwait(false))
            {
                return new TargetState(false, true);
            }
        }
        await using var db = await PostgreSqlServer.OpenAsync(target, null, cancellationToken).ConfigureAwait(false);
        return new TargetState(true, await PostgreSqlServer.IsEmptyAsync(db, cancellationToken).ConfigureAwait(false));
    }

    public async Task RestoreAsync(ConnectionOptions target, Stream dump, CancellationToken cancellationToken)
    {
        ToolInfo tool;
        bool superuser;
        await using (var maintenance = await PostgreSqlServer.OpenMaintenanceAsync(target, cancellationToken).ConfigureAwait(false))
        {
            tool = await LocateToolAsync(PgRestore, target, maintenance.PostgreSqlVersion, cancellationToken).ConfigureAwait(false);
            superuser = await PostgreSqlServer.IsSuperuserAsync(maintenance, cancellationToken).ConfigureAwait(false);
            if (!await PostgreSqlServer.DatabaseExistsAsync(maintenance, target.Database, cancellationToken).ConfigureAwait(false))
            {
                await PostgreSqlServer.ExecuteAsync(maintenance, $"CREATE DATABASE {PostgreSqlServer.Quote(target.Database)} TEMPLATE template0", cancellationToken).ConfigureAwait(false);
            }
            else
            {
                await using var existing = await PostgreSqlServer.OpenAsync(target, null, cancellationToken).ConfigureAwait(false);
                if (!await PostgreSqlServer.IsEmptyAsync(existing, cancellationToken).ConfigureAwait(false))
                {
                    throw new DbBackupException(ErrorIds.TargetNotEmpty, ErrorKind.InvalidOperation,
                        $"The restore target {target} already holds objects.",
                        "Restore into a new database name, or drop the target first (the engine restores into a staging database and swaps it in).")
                    { Target = target.ToString() };
                }
            }
        }
        var arguments = new List<string> { "--exit-on-error" };
        if (!superuser)
        {
            arguments.Add("--no-owner");
            arguments.Add("--no-privileges");
        }
        arguments.AddRange(ConnectionArguments(target));
        await ToolProcess.RunAsync(Invocation(tool, arguments, target), dump, null, cancellationToken).ConfigureAwait(false);
    }

    public async Task SwapInAsync(ConnectionOptions staging, ConnectionOptions target, CancellationToken cancellationToken)
    {
        await using var maintenance = await PostgreSqlServer.OpenMaintenanceAsync(target, cancellationToken).ConfigureAwait(false);
        if (!await PostgreSqlServer.DatabaseExistsAsync(maintenance, staging.Database, cancellationToken).ConfigureAwait(false))
        {
            throw new DbBackupException(ErrorIds.RestoreFailed, ErrorKind.ObjectNotFound,
                $"The staging database '{staging.Database}' does not exist; nothing to swap in.", "Run the restore again.") { Target = target.ToString() };
        }
        if (!await PostgreSqlServer.DatabaseExistsAsync(maintenance, target.Database, cancellationToken).ConfigureAwait(false))
        {
            await PostgreSqlServer.RenameDatabaseAsync(maintenance, staging.Database, target.Database, cancellationToken).ConfigureAwait(false);
            return;
        }
        var old = await FreeOldNameAsync(maintenance, target.Database, cancellationToken).ConfigureAwait(false);
        await PostgreSqlServer.RenameDatabaseAsync(maintenance, target.Database, old, cancellationToken).ConfigureAwait(false);
        try
        {
            await PostgreSqlServer.RenameDatabaseAsync(maintenance, staging.Database, target.Database, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is PostgresException or NpgsqlException or OperationCanceledException)
        {
            // Put the original back under its name before reporting; CancellationToken.None: this must run.
            await PostgreSqlServer.RenameDatabaseAsync(maintenance, old, target.Database, CancellationToken.None).ConfigureAwait(false);
            throw new DbBackupException(ErrorIds.RestoreFailed, ErrorKind.InvalidOperation,
                $"Could not rename the staging database '{staging.Database}' to '{target.Database}': {e.Message}. The original database was left in place.",
                "Check that no session holds the staging database and that you may rename databases (owner or CREATEDB).", e) { Target = target.ToString() };
        }
        await PostgreSqlServer.DropDatabaseAsync(maintenance, old, cancellationToken).ConfigureAwait(false);
    }

    public async Task DropAsync(ConnectionOptions target, CancellationToken cancellationToken)
    {
        await using var maintenance = await PostgreSqlServer.OpenMaintenanceAsync(target, cancellationToken).ConfigureAwait(false);
        await PostgreSqlServer.DropDatabaseAsync(maintenance, target.Database, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Finds the tool and checks it is not older than the server's major version (pg_dump refuses newer servers).</summary>
    private static async Task<ToolInfo> LocateToolAsync(ToolSpec spec, ConnectionOptions connection, Version serverVersion, CancellationToken cancellationToken)
    {
        var tool = await ToolLocator.LocateAsync(spec, connection.ToolDirectory, cancellationToken).ConfigureAwait(false);
        EnsureToolVersion(tool, serverVersion);
        return tool;
    }

    private static void EnsureToolVersion(ToolInfo tool, Version serverVersion) =>
        ToolLocator.EnsureAtLeast(tool, new Version(serverVersion.Major, 0),
            $"the server runs PostgreSQL {serverVersion.Major} and {tool.Name} cannot handle a newer server than itself",
            $"the PostgreSQL {serverVersion.Major} client tools (Debian: apt-get install postgresql-client-{serverVersion.Major})");

    /// <summary>
    /// Marks a side task's eventual failure as observed when an earlier error wins (its exception would otherwise
    /// surface as an unobserved task exception).
    /// </summary>
    private static void ObserveFault(Task task) =>
        _ = task.ContinueWith(static t => _ = t.Exception, CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted, TaskScheduler.Default);

    private static IEnumerable<string> ConnectionArguments(ConnectionOptions c)
    {
        yield return "--no-password";
        yield return "--host=" + c.Host;
        yield return "--port=" + (c.Port ?? 5432).ToString(CultureInfo.InvariantCulture);
        if (c.Username is not null)
        {
            yield return "--username=" + c.Username;
        }
        // A conninfo string, so a database name containing '=' or spaces is never misread.
        yield return "--dbname=dbname='" + c.Database.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("'", "\\'", StringComparison.Ordinal) + "'";
    }

    private static ToolInvocation Invocation(ToolInfo tool, IReadOnlyList<string> arguments, ConnectionOptions c) => Invocation(tool.Path, arguments, c);

    private static ToolInvocation Invocation(string toolPath, IReadOnlyList<string> arguments, ConnectionOptions c) => new(toolPath, arguments)
    {
        Environment = new Dictionary<string, string?>
        {
            ["PGPASSWORD"] = c.Password?.Reveal(),
            ["PGCONNECT_TIMEOUT"] = Math.Max(2, PostgreSqlServer.ConnectTimeoutSeconds(c)).ToString(CultureInfo.InvariantCulture),
            ["PGAPPNAME"] = "dbbackup",
        },
    };

    private static async Task<string> FreeOldNameAsync(NpgsqlConnection maintenance, string target, CancellationToken cancellationToken)
    {
        for (var n = 1; ; n++)
        {
            var suffix = "__dbbackup_old_" + n.ToString(CultureInfo.InvariantCulture);
            var prefix = target;
            while (System.Text.Encoding.UTF8.GetByteCount(prefix + suffix) > 63)
            {
                prefix = prefix[..^1];
            }
            var candidate = prefix + suffix;
            if (!await PostgreSqlServer.DatabaseExistsAsync(maintenance, candidate, cancellationToken).ConfigureAwait(false))
            {
                return candidate;
            }
        }
    }

    [GeneratedRegex(@"\(PostgreSQL\)\s+(?<v>\d+(\.\d+)*)")]
    private static partial Regex VersionPattern();
}
