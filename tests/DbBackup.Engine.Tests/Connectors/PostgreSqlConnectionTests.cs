using System.Diagnostics;
using DbBackup.Engine.Connectors;
using DbBackup.Engine.Connectors.PostgreSql;
using DbBackup.Engine.Errors;
using DbBackup.TestSupport;
using Xunit;

namespace DbBackup.Engine.Tests.Connectors;

[Trait("Engine", "PostgreSql")]
public sealed class PostgreSqlConnectionTests
{
    private readonly PostgreSqlConnector _connector = new();

    private static ConnectionOptions With(ConnectionOptions o, string? host = null, int? port = null, string? user = null, string? password = null,
        string? database = null, TimeSpan? timeout = null, string? toolDirectory = null) => new()
    {
        Engine = o.Engine, Host = host ?? o.Host, Port = port ?? o.Port, Username = user ?? o.Username,
        Password = password is null ? o.Password : new SecretValue(password), Database = database ?? o.Database,
        ConnectTimeout = timeout ?? o.ConnectTimeout, ToolDirectory = toolDirectory ?? o.ToolDirectory,
    };

    [Fact]
    public async Task Success_ReportsServerToolAndLatency()
    {
        var result = await _connector.TestConnectionAsync(TestDatabases.Postgres(), CancellationToken.None);
        Assert.True(result.Success, result.Message);
        Assert.Null(result.ErrorId);
        Assert.StartsWith("15.", result.ServerVersion, StringComparison.Ordinal);
        Assert.Equal("pg_dump", result.ToolName);
        Assert.StartsWith("15.", result.ToolVersion, StringComparison.Ordinal);
        Assert.True(File.Exists(result.ToolPath));
        Assert.NotNull(result.Latency);
        Assert.Equal("127.0.0.1", result.Server);
    }

    [Fact]
    public async Task Describe_ReportsVersionsAndSize()
    {
        var description = await _connector.DescribeAsync(TestDatabases.Postgres(), CancellationToken.None);
        Assert.StartsWith("15.", description.ServerVersion, StringComparison.Ordinal);
        Assert.Equal("pg_dump", description.ToolName);
        Assert.True(description.EstimatedSize > 1_000_000);
    }

    [Fact]
    public async Task UnresolvableHost_IsHostUnreachable()
    {
        var result = await _connector.TestConnectionAsync(With(TestDatabases.Postgres(), host: LocalEndpoints.UnresolvableHost), CancellationToken.None);
        AssertFailure(result, ErrorIds.HostUnreachable, LocalEndpoints.UnresolvableHost);
    }

    [Fact]
    public async Task ClosedPort_IsConnectionRefused()
    {
        var result = await _connector.TestConnectionAsync(With(TestDatabases.Postgres(), port: LocalEndpoints.ClosedPort()), CancellationToken.None);
        AssertFailure(result, ErrorIds.ConnectionRefused, "refused");
    }

    [Fact]
    public async Task SilentServer_IsConnectionTimeout_WithinTheConfiguredTimeout()
    {
        using var silent = new SilentListener();
        var stopwatch = Stopwatch.StartNew();
        var result = await _connector.TestConnectionAsync(With(TestDatabases.Postgres(), port: silent.Port, timeout: TimeSpan.FromSeconds(2)), CancellationToken.None);
        AssertFailure(result, ErrorIds.ConnectionTimeout, "2 s");
        Assert.InRange(stopwatch.Elapsed, TimeSpan.FromSeconds(1.5), TimeSpan.FromSeconds(10));
    }

    [Fact]
    public async Task WrongPassword_IsAuthenticationFailed()
    {
        var result = await _connector.TestConnectionAsync(With(TestDatabases.Postgres(), password: "not-the-password"), CancellationToken.None);
        AssertFailure(result, ErrorIds.AuthenticationFailed, "postgres");
    }

    [Fact]
    public async Task MissingDatabase_IsDatabaseNotFound()
    {
        var result = await _connector.TestConnectionAsync(TestDatabases.Postgres("no_such_db_" + Guid.NewGuid().ToString("N")[..8]), CancellationToken.None);
        AssertFailure(result, ErrorIds.DatabaseNotFound, "no_such_db_");
    }

    [Fact]
    public async Task LowPrivilegeUser_WithoutSelect_IsInsufficientPrivilege_AndPgReadAllDataIsEnough()
    {
        await using var db = await TestDatabases.CreatePostgresAsync();
        await using var user = await LowPrivilegePostgresUser.CreateAsync();
        await TestDatabases.PgExecuteAsync(db.Name, "CREATE SCHEMA app; CREATE TABLE app.secret (id int PRIMARY KEY, v text); INSERT INTO app.secret VALUES (1, 'x'); CREATE SEQUENCE app.counter;");
        var options = user.Options(db.Name);

        var denied = await _connector.TestConnectionAsync(options, CancellationToken.None);
        AssertFailure(denied, ErrorIds.InsufficientPrivilege, "app.secret");
        Assert.Contains("pg_read_all_data", denied.RecommendedAction, StringComparison.Ordinal);

        await TestDatabases.PgExecuteAsync("postgres", $"GRANT pg_read_all_data TO {user.Name}");
        var allowed = await _connector.TestConnectionAsync(options, CancellationToken.None);
        Assert.True(allowed.Success, allowed.Message);
        using var output = new MemoryStream();
        await _connector.DumpAsync(options, output, CancellationToken.None);
        Assert.True(output.Length > 1000);
    }

    [Fact]
    public async Task RevokedConnect_IsInsufficientPrivilege()
    {
        await using var db = await TestDatabases.CreatePostgresAsync();
        await using var user = await LowPrivilegePostgresUser.CreateAsync();
        await TestDatabases.PgExecuteAsync(db.Name, $"REVOKE CONNECT ON DATABASE \"{db.Name}\" FROM PUBLIC");
        var result = await _connector.TestConnectionAsync(user.Options(db.Name), CancellationToken.None);
        AssertFailure(result, ErrorIds.InsufficientPrivilege, "CONNECT privilege");
        Assert.Contains("GRANT CONNECT", result.RecommendedAction, StringComparison.Ordinal);
    }

    [Fact]
    public async Task LowPrivilegeUser_WithCreateDb_RestoresIntoANewDatabase()
    {
        await using var source = await TestDatabases.CreatePostgresAsync();
        await TestDatabases.PgExecuteAsync(source.Name, "CREATE TABLE t (id int PRIMARY KEY, v text); INSERT INTO t SELECT i, 'v' || i FROM generate_series(1, 100) i; GRANT SELECT ON t TO PUBLIC;");
        using var dump = new MemoryStream();
        await _connector.DumpAsync(source.Options, dump, CancellationToken.None);

        await using var user = await LowPrivilegePostgresUser.CreateAsync("CREATEDB");
        var target = user.Options(TestDatabases.UniqueName("r"));
        try
        {
            dump.Position = 0;
            await _connector.RestoreAsync(target, dump, CancellationToken.None);
            Assert.Equal(100L, await TestDatabases.PgScalarAsync<long>(target.Database, "SELECT count(*) FROM t"));
            // --no-owner: the restoring user owns what it restored.
            Assert.Equal(user.Name, await TestDatabases.PgScalarAsync<string>(target.Database, "SELECT tableowner FROM pg_tables WHERE tablename = 't'"));
        }
        finally
        {
            await TestDatabases.DropPostgresAsync(target.Database);
        }
    }

    [Fact]
    public async Task NoPgDumpAnywhere_IsToolNotFound()
    {
        using var empty = new TempDirectory();
        ToolLocator.PathOverride.Value = empty.Path;
        var result = await _connector.TestConnectionAsync(TestDatabases.Postgres(), CancellationToken.None);
        AssertFailure(result, ErrorIds.ToolNotFound, "pg_dump");
        Assert.Contains("postgresql-client", result.RecommendedAction, StringComparison.Ordinal);
    }

    [Fact]
    public async Task OldPgDumpInToolDirectory_IsToolTooOld_AndDumpRefuses()
    {
        using var tools = new TempDirectory();
        tools.Script("pg_dump", "echo 'pg_dump (PostgreSQL) 9.6.24'");
        var options = With(TestDatabases.Postgres(), toolDirectory: tools.Path);

        var result = await _connector.TestConnectionAsync(options, CancellationToken.None);
        AssertFailure(result, ErrorIds.ToolTooOld, "9.6.24");
        Assert.Contains("15", result.Message, StringComparison.Ordinal);
        Assert.Equal("pg_dump", result.ToolName ?? "pg_dump");

        var e = await Assert.ThrowsAsync<ToolException>(() => _connector.DumpAsync(options, Stream.Null, CancellationToken.None));
        Assert.Equal(ErrorIds.ToolTooOld, e.ErrorId);
    }

    [Fact]
    public async Task OldPgDumpFirstOnPath_IsToolTooOld()
    {
        using var tools = new TempDirectory();
        var fake = tools.Script("pg_dump", "echo 'pg_dump (PostgreSQL) 12.1'");
        ToolLocator.PathOverride.Value = tools.Path + Path.PathSeparator + Environment.GetEnvironmentVariable("PATH");
        var result = await _connector.TestConnectionAsync(TestDatabases.Postgres(), CancellationToken.None);
        AssertFailure(result, ErrorIds.ToolTooOld, fake);
    }

    [Fact]
    public async Task Password_NeverAppearsOnAChildsCommandLine()
    {
        var options = TestDatabases.Postgres();
        await using var db = await TestDatabases.CreatePostgresAsync();
        await TestDatabases.PgExecuteAsync(db.Name, "CREATE TABLE big AS SELECT i, repeat('x', 200) AS pad FROM generate_series(1, 50000) i");
        using var probe = new ChildProcessProbe();
        using (var output = new MemoryStream())
        {
            await _connector.DumpAsync(db.Options, output, CancellationToken.None);
            output.Position = 0;
            var target = TestDatabases.Postgres(TestDatabases.UniqueName("p"));
            try
            {
                await _connector.RestoreAsync(target, output, CancellationToken.None);
            }
            finally
            {
                await _connector.DropAsync(target, CancellationToken.None);
            }
        }
        var children = probe.Children;
        Assert.Contains(children, c => c.Tool == "pg_dump" && c.CommandLine.Contains("--format=custom", StringComparison.Ordinal));
        Assert.Contains(children, c => c.Tool == "pg_restore" && c.CommandLine.Contains("--exit-on-error", StringComparison.Ordinal));
        Assert.All(children, c => Assert.DoesNotContain(options.Password!.Reveal(), c.CommandLine, StringComparison.Ordinal));
    }

    internal static void AssertFailure(ConnectionTestResult result, string errorId, string messagePart)
    {
        Assert.False(result.Success);
        Assert.True(errorId == result.ErrorId, $"expected {errorId}, got {result.ErrorId}: {result.Message}");
        Assert.Contains(messagePart, result.Message, StringComparison.Ordinal);
        Assert.False(string.IsNullOrWhiteSpace(result.RecommendedAction));
    }
}

/// <summary>A login role created for one test (password auth over TCP), dropped with everything it owns on dispose.</summary>
internal sealed class LowPrivilegePostgresUser : IAsyncDisposable
{
    private LowPrivilegePostgresUser(string name, string password) { Name = name; Password = password; }

    public string Name { get; }
    public string Password { get; }

    public static async Task<LowPrivilegePostgresUser> CreateAsync(string attributes = "")
    {
        var user = new LowPrivilegePostgresUser(TestDatabases.UniqueName("u"), "pw-" + Guid.NewGuid().ToString("N"));
        await TestDatabases.PgExecuteAsync("postgres", $"CREATE ROLE {user.Name} LOGIN {attributes} PASSWORD '{user.Password}'");
        return user;
    }

    public ConnectionOptions Options(string database) => new()
    {
        Engine = DatabaseEngine.PostgreSql,
        Host = TestServers.Require("DBBACKUP_TEST_PG_HOST"),
        Port = int.Parse(TestServers.Require("DBBACKUP_TEST_PG_PORT"), System.Globalization.CultureInfo.InvariantCulture),
        Username = Name,
        Password = new SecretValue(Password),
        Database = database,
    };

    public async ValueTask DisposeAsync()
    {
        // Databases created by the user were dropped by the test; objects elsewhere are reassigned away first.
        await TestDatabases.PgExecuteAsync("postgres", $"DROP OWNED BY {Name}; DROP ROLE IF EXISTS {Name}");
    }
}
