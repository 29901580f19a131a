using System.Globalization;
using System.Net.Sockets;
using DbBackup.Engine.Errors;
using Npgsql;

namespace DbBackup.Engine.Connectors.PostgreSql;

/// <summary>Npgsql access for the PostgreSQL connector: connecting with mapped errors and database-level DDL.</summary>
internal static class PostgreSqlServer
{
    /// <summary>The maintenance database used for CREATE/DROP/RENAME DATABASE.</summary>
    public const string MaintenanceDatabase = "postgres";

    public static string ConnectionString(ConnectionOptions c, string? database = null) => new NpgsqlConnectionStringBuilder
    {
        Host = c.Host,
        Port = c.Port ?? 5432,
        Username = c.Username,
        Password = c.Password?.Reveal(),
        Database = database ?? c.Database,
        Timeout = ConnectTimeoutSeconds(c),
        CommandTimeout = 0,
        Pooling = false,
        ApplicationName = "dbbackup",
    }.ConnectionString;

    public static int ConnectTimeoutSeconds(ConnectionOptions c) => Math.Max(1, (int)Math.Ceiling(c.ConnectTimeout.TotalSeconds));

    /// <summary>Opens a connection; every failure becomes a <see cref="ConnectionFailedException"/> with a distinct error id.</summary>
    public static async Task<NpgsqlConnection> OpenAsync(ConnectionOptions c, string? database, CancellationToken cancellationToken)
    {
        ConnectionFailures.RequireServer(c);
        var target = database is null ? c : c.WithDatabase(database);
        var connection = new NpgsqlConnection(ConnectionString(c, database));
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(c.ConnectTimeout + TimeSpan.FromSeconds(2));
        try
        {
            await connection.OpenAsync(deadline.Token).ConfigureAwait(false);
            return connection;
        }
        catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            await connection.DisposeAsync().ConfigureAwait(false);
            throw Classify(target, e);
        }
    }

    /// <summary>Maps an Npgsql/socket failure while connecting to the connection error ids.</summary>
    public static DbBackupException Classify(ConnectionOptions c, Exception e)
    {
        for (var inner = e; inner is not null; inner = inner.InnerException)
        {
            switch (inner)
            {
                case PostgresException pg:
                    return pg.SqlState switch
                    {
                        PostgresErrorCodes.InvalidPassword or PostgresErrorCodes.InvalidAuthorizationSpecification
                            => ConnectionFailures.Authentication(c, pg.MessageText, e),
                        PostgresErrorCodes.InvalidCatalogName => ConnectionFailures.DatabaseNotFound(c, pg.MessageText, e),
                        PostgresErrorCodes.InsufficientPrivilege => ConnectionFailures.Privilege(c, $"{pg.MessageText} (at connect time this means the user lacks the CONNECT privilege)",
                            $"Grant it: GRANT CONNECT ON DATABASE \"{c.Database}\" TO \"{c.Username}\";", e),
                        PostgresErrorCodes.TooManyConnections or PostgresErrorCodes.CannotConnectNow
                            => ConnectionFailures.Refused(c, pg.MessageText, e),
                        _ => new ConnectionFailedException(ErrorIds.ConnectionRefused, ErrorKind.ConnectionError,
                            $"PostgreSQL refused the connection to {c}: {pg.SqlState} {pg.MessageText}", "Read the server's message and fix the cause.", e) { Target = c.ToString() },
                    };
                case SocketException socket when ConnectionFailures.FromSocket(c, socket) is { } mapped:
                    return mapped;
                case TimeoutException or OperationCanceledException:
                    return ConnectionFailures.Timeout(c, "no answer to the connection handshake", e);
            }
        }
        if (e is NpgsqlException { InnerException: null } && e.Message.Contains("password", StringComparison.OrdinalIgnoreCase))
        {
            return ConnectionFailures.Authentication(c, e.Message, e);
        }
        return new ConnectionFailedException(ErrorIds.ConnectionRefused, ErrorKind.ConnectionError,
            $"Could not connect to {c}: {e.Message}", "Check the address, port and that a PostgreSQL server answers there.", e) { Target = c.ToString() };
    }

    /// <summary>Opens the maintenance database (<c>postgres</c>, else <c>template1</c> where <c>postgres</c> is missing or closed to this user).</summary>
    public static async Task<NpgsqlConnection> OpenMaintenanceAsync(ConnectionOptions c, CancellationToken cancellationToken)
    {
        try
        {
            return await OpenAsync(c, MaintenanceDatabase, cancellationToken).ConfigureAwait(false);
        }
        catch (ConnectionFailedException e) when (e.ErrorId is ErrorIds.DatabaseNotFound or ErrorIds.InsufficientPrivilege)
        {
            return await OpenAsync(c, "template1", cancellationToken).ConfigureAwait(false);
        }
    }

    public static string Quote(string identifier) => "\"" + identifier.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"";

    public static async Task<T?> ScalarAsync<T>(NpgsqlConnection connection, string sql, CancellationToken cancellationToken, params object[] parameters)
    {
        await using var command = new NpgsqlCommand(sql, connection);
        foreach (var p in parameters)
        {
            command.Parameters.Add(new NpgsqlParameter { Value = p });
        }
        var value = await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false);
        return value is null or DBNull ? default : (T)Convert.ChangeType(value, typeof(T), CultureInfo.InvariantCulture);
    }

    public static async Task ExecuteAsync(NpgsqlConnection connection, string sql, CancellationToken cancellationToken, params object[] parameters)
    {
        await using var command = new NpgsqlCommand(sql, connection);
        foreach (var p in parameters)
        {
            command.Parameters.Add(new NpgsqlParameter { Value = p });
        }
        await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    public static async Task<bool> DatabaseExistsAsync(NpgsqlConnection maintenance, string name, CancellationToken cancellationToken) =>
        await ScalarAsync<long>(maintenance, "SELECT count(*) FROM pg_database WHERE datname = $1", cancellationToken, name).ConfigureAwait(false) > 0;

    public static Task TerminateSessionsAsync(NpgsqlConnection maintenance, string name, CancellationToken cancellationToken) =>
        ExecuteAsync(maintenance, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()", cancellationToken, name);

    public static async Task DropDatabaseAsync(NpgsqlConnection maintenance, string name, CancellationToken cancellationToken)
    {
        if (maintenance.PostgreSqlVersion.Major >= 13)
        {
            await ExecuteAsync(maintenance, $"DROP DATABASE IF EXISTS {Quote(name)} WITH (FORCE)", cancellationToken).ConfigureAwait(false);
            return;
        }
        await TerminateSessionsAsync(maintenance, name, cancellationToken).ConfigureAwait(false);
        await ExecuteAsync(maintenance, $"DROP DATABASE IF EXISTS {Quote(name)}", cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Renames a database after ending its other sessions; retries briefly if a new session slips in.</summary>
    public static async Task RenameDatabaseAsync(NpgsqlConnection maintenance, string from, string to, CancellationToken cancellationToken)
    {
        for (var attempt = 1; ; attempt++)
        {
            await TerminateSessionsAsync(maintenance, from, cancellationToken).ConfigureAwait(false);
            try
            {
                await ExecuteAsync(maintenance, $"ALTER DATABASE {Quote(from)} RENAME TO {Quote(to)}", cancellationToken).ConfigureAwait(false);
                return;
            }
            catch (PostgresException e) when (e.SqlState == PostgresErrorCodes.ObjectInUse && attempt < 5)
            {
                await Task.Delay(200 * attempt, cancellationToken).ConfigureAwait(false);
            }
        }
    }

    public static async Task<bool> IsSuperuserAsync(NpgsqlConnection connection, CancellationToken cancellationToken) =>
        await ScalarAsync<string>(connection, "SELECT current_setting('is_superuser')", cancellationToken).ConfigureAwait(false) == "on";

    /// <summary>Tables, partitions and sequences the current user cannot read (pg_dump needs SELECT on all of them).</summary>
    public static async Task<IReadOnlyList<string>> UnreadableRelationsAsync(NpgsqlConnection connection, CancellationToken cancellationToken)
    {
        const string sql = """
            SELECT quote_ident(n.nspname) || '.' || quote_ident(c.relname)
            FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE c.relkind IN ('r', 'p', 'S') AND n.nspname <> 'information_schema' AND n.nspname NOT LIKE 'pg\_%'
              AND NOT (has_schema_privilege(n.oid, 'USAGE') AND has_table_privilege(c.oid, 'SELECT'))
            ORDER BY 1 LIMIT 6
            """;
        var names = new List<string>();
        await using var command = new NpgsqlCommand(sql, connection);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            names.Add(reader.GetString(0));
        }
        return names;
    }

    /// <summary>Whether the database holds any user object (relation, routine or type outside the system schemas).</summary>
    public static async Task<bool> IsEmptyAsync(NpgsqlConnection connection, CancellationToken cancellationToken)
    {
        const string sql = """
            SELECT (SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                    WHERE n.nspname <> 'information_schema' AND n.nspname NOT LIKE 'pg\_%')
                 + (SELECT count(*) FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
                    WHERE n.nspname <> 'information_schema' AND n.nspname NOT LIKE 'pg\_%')
                 + (SELECT count(*) FROM pg_namespace n
                    WHERE n.nspname NOT IN ('public', 'information_schema') AND n.nspname NOT LIKE 'pg\_%')
            """;
        return await ScalarAsync<long>(connection, sql, cancellationToken).ConfigureAwait(false) == 0;
    }
}
