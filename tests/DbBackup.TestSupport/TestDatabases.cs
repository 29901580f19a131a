using DbBackup.Engine;
using DbBackup.Engine.Connectors;
using Npgsql;

namespace DbBackup.TestSupport;

/// <summary>
/// Connection options for the real test servers (from the DBBACKUP_TEST_* variables exported by
/// tests/run-tests.sh) and uniquely named, dropped-afterwards test databases.
/// </summary>
public static class TestDatabases
{
    /// <summary>A fresh, unique, lower-case database name such as <c>t_3f2a9c1b0d</c>.</summary>
    public static string UniqueName(string prefix = "t") => $"{prefix}_{Guid.NewGuid():N}"[..(prefix.Length + 13)];

    public static ConnectionOptions Postgres(string database = "postgres") => new()
    {
        Engine = DatabaseEngine.PostgreSql,
        Host = TestServers.Require("DBBACKUP_TEST_PG_HOST"),
        Port = int.Parse(TestServers.Require("DBBACKUP_TEST_PG_PORT"), System.Globalization.CultureInfo.InvariantCulture),
        Username = TestServers.Require("DBBACKUP_TEST_PG_USER"),
        Password = new SecretValue(TestServers.Require("DBBACKUP_TEST_PG_PASSWORD")),
        Database = database,
    };

    public static ConnectionOptions MariaDb(string database = "mysql") => new()
    {
        Engine = DatabaseEngine.MySql,
        Host = TestServers.Require("DBBACKUP_TEST_MARIADB_HOST"),
        Port = int.Parse(TestServers.Require("DBBACKUP_TEST_MARIADB_PORT"), System.Globalization.CultureInfo.InvariantCulture),
        Username = TestServers.Require("DBBACKUP_TEST_MARIADB_USER"),
        Password = new SecretValue(TestServers.Require("DBBACKUP_TEST_MARIADB_PASSWORD")),
        Database = database,
    };

    /// <summary>An Npgsql connection string for <paramref name="options"/> (tests only).</summary>
    public static string NpgsqlConnectionString(ConnectionOptions options) => new NpgsqlConnectionStringBuilder
    {
        Host = options.Host,
        Port = options.Port ?? 5432,
        Username = options.Username,
        Password = options.Password?.Reveal(),
        Database = options.Database,
        Pooling = false,
        Timeout = 15,
    }.ConnectionString;

    /// <summary>Creates an empty PostgreSQL database, dropped when disposed.</summary>
    public static async Task<TestDatabase> CreatePostgresAsync(string? name = null, CancellationToken cancellationToken = default)
    {
        name ??= UniqueName();
        await PgExecuteAsync("postgres", $"CREATE DATABASE \"{name}\"", cancellationToken).ConfigureAwait(false);
        return new TestDatabase(Postgres(name), () => DropPostgresAsync(name));
    }

    /// <summary>Creates an empty MariaDB database (utf8mb4), dropped when disposed.</summary>
    public static async Task<TestDatabase> CreateMariaDbAsync(string? name = null, CancellationToken cancellationToken = default)
    {
        name ??= UniqueName();
        await MariaDbExecuteAsync(null, $"CREATE DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci", cancellationToken).ConfigureAwait(false);
        return new TestDatabase(MariaDb(name), () => DropMariaDbAsync(name));
    }

    public static async Task DropPostgresAsync(string name, CancellationToken cancellationToken = default) =>
        await PgExecuteAsync("postgres", $"DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)", cancellationToken).ConfigureAwait(false);

    public static async Task DropMariaDbAsync(string name, CancellationToken cancellationToken = default) =>
        await MariaDbExecuteAsync(null, $"DROP DATABASE IF EXISTS `{name}`", cancellationToken).ConfigureAwait(false);

    /// <summary>Runs SQL (several statements allowed) in a PostgreSQL database as the test superuser.</summary>
    public static async Task PgExecuteAsync(string database, string sql, CancellationToken cancellationToken = default)
    {
        await using var connection = new NpgsqlConnection(NpgsqlConnectionString(Postgres(database)));
        await connection.OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    public static async Task<T> PgScalarAsync<T>(string database, string sql, CancellationToken cancellationToken = default)
    {
        await using var connection = new NpgsqlConnection(NpgsqlConnectionString(Postgres(database)));
        await connection.OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var command = new NpgsqlCommand(sql, connection);
        var value = await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false);
        return (T)Convert.ChangeType(value!, typeof(T), System.Globalization.CultureInfo.InvariantCulture);
    }

    public static async Task<bool> PgDatabaseExistsAsync(string name, CancellationToken cancellationToken = default) =>
        await PgScalarAsync<long>("postgres", $"SELECT count(*) FROM pg_database WHERE datname = '{name.Replace("'", "''", StringComparison.Ordinal)}'", cancellationToken).ConfigureAwait(false) == 1;

    /// <summary>Runs SQL through the <c>mariadb</c> client as the test admin (password via MYSQL_PWD, never argv); returns stdout (tab-separated, no headers).</summary>
    public static async Task<string> MariaDbExecuteAsync(string? database, string sql, CancellationToken cancellationToken = default)
    {
        var options = MariaDb(database ?? "mysql");
        return await MariaDbExecuteAsAsync(options.Username!, options.Password!.Reveal(), database, sql, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Runs SQL through the <c>mariadb</c> client as the given user.</summary>
    public static async Task<string> MariaDbExecuteAsAsync(string user, string password, string? database, string sql, CancellationToken cancellationToken = default)
    {
        var args = new List<string>
        {
            "--no-defaults", "--protocol=TCP", "--host=" + TestServers.Require("DBBACKUP_TEST_MARIADB_HOST"),
            "--port=" + TestServers.Require("DBBACKUP_TEST_MARIADB_PORT"), "--user=" + user,
            "--batch", "--skip-column-names", "--default-character-set=utf8mb4",
        };
        if (database is not null)
        {
            args.Add(database);
        }
        var run = await ToolRunner.RunAsync("mariadb", args, new Dictionary<string, string> { ["MYSQL_PWD"] = password }, sql, cancellationToken).ConfigureAwait(false);
        return run.EnsureSuccess("mariadb").StandardOutput;
    }

    public static async Task<bool> MariaDbDatabaseExistsAsync(string name, CancellationToken cancellationToken = default) =>
        (await MariaDbExecuteAsync(null, $"SELECT count(*) FROM information_schema.schemata WHERE schema_name = '{name}'", cancellationToken).ConfigureAwait(false)).Trim() == "1";

    /// <summary>The PostgreSQL client tools of the test server's version (DBBACKUP_TEST_PG_BIN), else PATH.</summary>
    public static string PgTool(string name)
    {
        var bin = Environment.GetEnvironmentVariable("DBBACKUP_TEST_PG_BIN");
        return bin is not null && File.Exists(Path.Combine(bin, name)) ? Path.Combine(bin, name) : name;
    }
}

/// <summary>A database that exists for one test and is dropped on dispose.</summary>
public sealed class TestDatabase(ConnectionOptions options, Func<Task> drop) : IAsyncDisposable
{
    public ConnectionOptions Options { get; } = options;
    public string Name => Options.Database;

    public async ValueTask DisposeAsync() => await drop().ConfigureAwait(false);
}
