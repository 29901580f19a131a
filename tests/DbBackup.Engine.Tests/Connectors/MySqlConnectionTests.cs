using System.Diagnostics;
using DbBackup.Engine.Connectors;
using DbBackup.Engine.Connectors.MySql;
using DbBackup.Engine.Errors;
using DbBackup.TestSupport;
using Xunit;
using static DbBackup.Engine.Tests.Connectors.PostgreSqlConnectionTests;

namespace DbBackup.Engine.Tests.Connectors;

[Trait("Engine", "MySql")]
public sealed class MySqlConnectionTests
{
    private readonly MySqlConnector _connector = new();

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
        var result = await _connector.TestConnectionAsync(TestDatabases.MariaDb(), CancellationToken.None);
        Assert.True(result.Success, result.Message);
        Assert.Contains("MariaDB", result.ServerVersion, StringComparison.Ordinal);
        Assert.Equal("mariadb-dump", result.ToolName);
        Assert.StartsWith("10.11", result.ToolVersion, StringComparison.Ordinal);
        Assert.True(File.Exists(result.ToolPath));
        Assert.NotNull(result.Latency);
    }

    [Fact]
    public async Task Describe_ReportsVersionsAndSize()
    {
        await using var db = await TestDatabases.CreateMariaDbAsync();
        await TestDatabases.MariaDbExecuteAsync(db.Name, "CREATE TABLE t (id int PRIMARY KEY, v text); INSERT INTO t SELECT seq, REPEAT('x', 100) FROM seq_1_to_1000;");
        var description = await _connector.DescribeAsync(db.Options, CancellationToken.None);
        Assert.Contains("MariaDB", description.ServerVersion, StringComparison.Ordinal);
        Assert.Equal("mariadb-dump", description.ToolName);
        Assert.True(description.EstimatedSize > 10_000, $"size {description.EstimatedSize}");
    }

    [Fact]
    public async Task UnresolvableHost_IsHostUnreachable()
    {
        var result = await _connector.TestConnectionAsync(With(TestDatabases.MariaDb(), host: LocalEndpoints.UnresolvableHost), CancellationToken.None);
        AssertFailure(result, ErrorIds.HostUnreachable, LocalEndpoints.UnresolvableHost);
    }

    [Fact]
    public async Task ClosedPort_IsConnectionRefused()
    {
        var result = await _connector.TestConnectionAsync(With(TestDatabases.MariaDb(), port: LocalEndpoints.ClosedPort()), CancellationToken.None);
        AssertFailure(result, ErrorIds.ConnectionRefused, "refused");
    }

    [Fact]
    public async Task SilentServer_IsConnectionTimeout_WithinTheConfiguredTimeout()
    {
        using var silent = new SilentListener();
        var stopwatch = Stopwatch.StartNew();
        var result = await _connector.TestConnectionAsync(With(TestDatabases.MariaDb(), port: silent.Port, timeout: TimeSpan.FromSeconds(2)), CancellationToken.None);
        AssertFailure(result, ErrorIds.ConnectionTimeout, "2 s");
        Assert.InRange(stopwatch.Elapsed, TimeSpan.FromSeconds(1.5), TimeSpan.FromSeconds(15));
    }

    [Fact]
    public async Task WrongPassword_IsAuthenticationFailed()
    {
        var result = await _connector.TestConnectionAsync(With(TestDatabases.MariaDb(), password: "not-the-password"), CancellationToken.None);
        AssertFailure(result, ErrorIds.AuthenticationFailed, "Access denied");
    }

    [Fact]
    public async Task MissingDatabase_IsDatabaseNotFound()
    {
        var result = await _connector.TestConnectionAsync(TestDatabases.MariaDb("no_such_db_" + Guid.NewGuid().ToString("N")[..8]), CancellationToken.None);
        AssertFailure(result, ErrorIds.DatabaseNotFound, "no_such_db_");
    }

    [Fact]
    public async Task LowPrivilegeUser_NeedsTheDocumentedPrivileges_AndThenDumpsEverything()
    {
        await using var db = await TestDatabases.CreateMariaDbAsync();
        await TestDatabases.MariaDbExecuteAsync(db.Name, """
            CREATE TABLE t (id int PRIMARY KEY);
            INSERT INTO t VALUES (1), (2);
            CREATE VIEW v AS SELECT id FROM t;
            CREATE PROCEDURE p() SELECT 1;
            """);
        await using var user = await LowPrivilegeMariaDbUser.CreateAsync();
        var options = user.Options(db.Name);

        var none = await _connector.TestConnectionAsync(options, CancellationToken.None);
        AssertFailure(none, ErrorIds.InsufficientPrivilege, "Access denied");

        await TestDatabases.MariaDbExecuteAsync(null, $"GRANT SELECT ON `{db.Name}`.* TO '{user.Name}'@'%'");
        var selectOnly = await _connector.TestConnectionAsync(options, CancellationToken.None);
        AssertFailure(selectOnly, ErrorIds.InsufficientPrivilege, "SHOW VIEW, TRIGGER, EVENT");
        Assert.Contains("mysql.proc", selectOnly.Message, StringComparison.Ordinal);

        await TestDatabases.MariaDbExecuteAsync(null, $"GRANT SHOW VIEW, TRIGGER, EVENT ON `{db.Name}`.* TO '{user.Name}'@'%'");
        var noRoutines = await _connector.TestConnectionAsync(options, CancellationToken.None);
        AssertFailure(noRoutines, ErrorIds.InsufficientPrivilege, "SELECT on mysql.proc");

        await TestDatabases.MariaDbExecuteAsync(null, $"GRANT SELECT ON mysql.proc TO '{user.Name}'@'%'");
        var enough = await _connector.TestConnectionAsync(options, CancellationToken.None);
        Assert.True(enough.Success, enough.Message);

        using var output = new MemoryStream();
        await _connector.DumpAsync(options, output, CancellationToken.None);
        var text = System.Text.Encoding.UTF8.GetString(output.ToArray());
        Assert.Contains("PROCEDURE `p`", text, StringComparison.Ordinal);
        Assert.Contains("VIEW `v`", text, StringComparison.Ordinal);
        Assert.Matches(@"INSERT INTO `t` VALUES\s*\(1\),\s*\(2\);", text);
    }

    [Fact]
    public async Task LowPrivilegeUser_WithTheDocumentedRestorePrivileges_RestoresIntoANewDatabase()
    {
        await using var source = await TestDatabases.CreateMariaDbAsync();
        await TestDatabases.MariaDbExecuteAsync(source.Name, """
            CREATE TABLE t (id int PRIMARY KEY, parent int, KEY (parent), FOREIGN KEY (parent) REFERENCES t (id));
            INSERT INTO t VALUES (1, NULL), (2, 1);
            CREATE VIEW v AS SELECT id FROM t;
            CREATE TRIGGER t_bi BEFORE INSERT ON t FOR EACH ROW SET NEW.parent = NEW.parent;
            CREATE PROCEDURE p() SELECT 1;
            CREATE EVENT e ON SCHEDULE EVERY 1 DAY STARTS '2030-01-01 00:00:00' DISABLE DO SELECT 1;
            """);
        using var dump = new MemoryStream();
        await _connector.DumpAsync(source.Options, dump, CancellationToken.None);

        await using var user = await LowPrivilegeMariaDbUser.CreateAsync();
        var target = user.Options(TestDatabases.UniqueName("r"));
        try
        {
            await TestDatabases.MariaDbExecuteAsync(null, $"GRANT {MySqlRestorePrivileges} ON `{target.Database}`.* TO '{user.Name}'@'%'");
            // The dump carries DEFINER=<the source's admin>; recreating objects for another definer needs SET USER.
            await TestDatabases.MariaDbExecuteAsync(null, $"GRANT SET USER ON *.* TO '{user.Name}'@'%'");
            // The test server writes a binary log: without SUPER, creating triggers/routines needs this server setting.
            await TestDatabases.MariaDbExecuteAsync(null, "SET GLOBAL log_bin_trust_function_creators = ON");
            dump.Position = 0;
            await _connector.RestoreAsync(target, dump, CancellationToken.None);
            Assert.Equal("2", (await TestDatabases.MariaDbExecuteAsync(target.Database, "SELECT COUNT(*) FROM v")).Trim());
            Assert.Equal("1", (await TestDatabases.MariaDbExecuteAsync(target.Database, $"SELECT COUNT(*) FROM information_schema.EVENTS WHERE EVENT_SCHEMA = '{target.Database}'")).Trim());
        }
        finally
        {
            await TestDatabases.DropMariaDbAsync(target.Database);
        }
    }

    /// <summary>The restore privileges listed in docs/privileges.md.</summary>
    internal const string MySqlRestorePrivileges =
        "CREATE, DROP, ALTER, INDEX, REFERENCES, INSERT, SELECT, LOCK TABLES, CREATE VIEW, SHOW VIEW, TRIGGER, CREATE ROUTINE, ALTER ROUTINE, EVENT";

    [Fact]
    public async Task NoClientAnywhere_IsToolNotFound()
    {
        using var empty = new TempDirectory();
        ToolLocator.PathOverride.Value = empty.Path;
        var result = await _connector.TestConnectionAsync(TestDatabases.MariaDb(), CancellationToken.None);
        AssertFailure(result, ErrorIds.ToolNotFound, "mariadb or mysql");
        Assert.Contains("mariadb-client", result.RecommendedAction, StringComparison.Ordinal);
    }

    [Fact]
    public async Task OldDumpToolInToolDirectory_IsToolTooOld()
    {
        using var tools = new TempDirectory();
        tools.Script("mariadb-dump", "echo 'mariadb-dump  Ver 10.17 Distrib 10.3.39-MariaDB, for debian-linux-gnu (x86_64)'");
        var options = With(TestDatabases.MariaDb(), toolDirectory: tools.Path);
        var result = await _connector.TestConnectionAsync(options, CancellationToken.None);
        AssertFailure(result, ErrorIds.ToolTooOld, "10.3.39");
        Assert.Contains("10.11", result.Message, StringComparison.Ordinal);

        var e = await Assert.ThrowsAsync<ToolException>(() => _connector.DumpAsync(options, Stream.Null, CancellationToken.None));
        Assert.Equal(ErrorIds.ToolTooOld, e.ErrorId);
    }

    [Fact]
    public async Task Password_NeverAppearsOnAChildsCommandLine_AndTheOptionFileIs0600AndRemoved()
    {
        var options = TestDatabases.MariaDb();
        await using var db = await TestDatabases.CreateMariaDbAsync();
        await TestDatabases.MariaDbExecuteAsync(db.Name, "CREATE TABLE big (id int PRIMARY KEY, pad text); INSERT INTO big SELECT seq, REPEAT('x', 200) FROM seq_1_to_50000;");
        using var probe = new ChildProcessProbe();
        var target = TestDatabases.MariaDb(TestDatabases.UniqueName("p"));
        using (var output = new MemoryStream())
        {
            await _connector.DumpAsync(db.Options, output, CancellationToken.None);
            output.Position = 0;
            try
            {
                await _connector.RestoreAsync(target, output, CancellationToken.None);
            }
            finally
            {
                await _connector.DropAsync(target, CancellationToken.None);
            }
        }
        // The probe sees every child of the process, including those of tests running in parallel: pick ours by database name.
        var children = probe.Children;
        var seen = string.Join("\n", children.Select(c => $"{c.Tool}: '{c.CommandLine}' ({c.OptionFileMode})"));
        var dumps = children.Where(c => c.Tool == "mariadb-dump" && c.CommandLine.Contains("--single-transaction", StringComparison.Ordinal)
            && c.CommandLine.Contains(db.Name, StringComparison.Ordinal)).ToList();
        Assert.True(dumps.Count == 1, $"expected one mariadb-dump of {db.Name} among the children seen:\n{seen}");
        var dump = dumps[0];
        Assert.StartsWith(dump.CommandLine.Split(' ')[0] + " --defaults-extra-file=", dump.CommandLine, StringComparison.Ordinal);
        Assert.Equal((UnixFileMode.UserRead | UnixFileMode.UserWrite).ToString(), dump.OptionFileMode);
        var restores = children.Where(c => c.Tool == "mariadb" && c.CommandLine.Contains("--binary-mode", StringComparison.Ordinal)
            && c.CommandLine.Contains(target.Database, StringComparison.Ordinal)).ToList();
        Assert.True(restores.Count == 1, $"expected one mariadb restore into {target.Database} among the children seen:\n{seen}");
        var restore = restores[0];
        Assert.All(children, c => Assert.DoesNotContain(options.Password!.Reveal(), c.CommandLine, StringComparison.Ordinal));
        // Only our own children's option files must be gone by now: a parallel test's child may still be running with its own.
        var optionFiles = new[] { dump, restore }.SelectMany(c => c.CommandLine.Split(' ')).Where(a => a.StartsWith("--defaults-extra-file=", StringComparison.Ordinal)).ToList();
        Assert.Equal(2, optionFiles.Count);
        Assert.All(optionFiles, a => Assert.False(File.Exists(a["--defaults-extra-file=".Length..]), $"{a} was not removed"));
    }
}

/// <summary>A MariaDB account created for one test (no privileges), dropped on dispose.</summary>
internal sealed class LowPrivilegeMariaDbUser : IAsyncDisposable
{
    private LowPrivilegeMariaDbUser(string name, string password) { Name = name; Password = password; }

    public string Name { get; }
    public string Password { get; }

    public static async Task<LowPrivilegeMariaDbUser> CreateAsync()
    {
        var user = new LowPrivilegeMariaDbUser(TestDatabases.UniqueName("u"), "pw-" + Guid.NewGuid().ToString("N"));
        await TestDatabases.MariaDbExecuteAsync(null, $"CREATE USER '{user.Name}'@'%' IDENTIFIED BY '{user.Password}'");
        return user;
    }

    public ConnectionOptions Options(string database) => new()
    {
        Engine = DatabaseEngine.MySql,
        Host = TestServers.Require("DBBACKUP_TEST_MARIADB_HOST"),
        Port = int.Parse(TestServers.Require("DBBACKUP_TEST_MARIADB_PORT"), System.Globalization.CultureInfo.InvariantCulture),
        Username = Name,
        Password = new SecretValue(Password),
        Database = database,
    };

    public async ValueTask DisposeAsync() => await TestDatabases.MariaDbExecuteAsync(null, $"DROP USER IF EXISTS '{Name}'@'%'");
}
