using System.Text;
using System.Text.RegularExpressions;

namespace DbBackup.TestSupport;

/// <summary>The result of comparing two engine-native dumps after removing volatile lines.</summary>
public sealed record DumpComparison(bool Equal, int ComparedLines, string? FirstDifference);

/// <summary>
/// Compares two engine-native text dumps (pg_dump -Fp, mariadb-dump --hex-blob --skip-dump-date, sqlite3 .dump)
/// line by line after removing a fixed, listed set of volatile lines (see ENVIRONMENT.md "Pitfalls"). Lines are
/// compared as text decoded from UTF-8 (never through grep, which would collapse binary dumps into one message).
/// </summary>
public static partial class DumpComparer
{
    /// <summary>Whole lines removed before comparing, per engine. Nothing else is ignored.</summary>
    public static IReadOnlyList<Regex> VolatileLines(DatabaseEngine engine) => engine switch
    {
        DatabaseEngine.PostgreSql =>
        [
            PgRestrict(),      // \restrict <random> / \unrestrict <random> (pg_dump 15.14+), random per run
            PgDumpedFrom(),    // -- Dumped from database version ... / -- Dumped by pg_dump version ...
        ],
        DatabaseEngine.MySql =>
        [
            MariaDbHost(),     // -- Host: 127.0.0.1    Database: <name>
            MariaDbDumping(),  // -- Dumping events|routines for database '<name>'
            MariaDbCompleted(),// -- Dump completed [on <date>]
        ],
        _ => [],
    };

    /// <summary>The dump as the list of lines that take part in the comparison.</summary>
    public static IReadOnlyList<string> Normalize(DatabaseEngine engine, string dump)
    {
        var volatileLines = VolatileLines(engine);
        var lines = new List<string>();
        foreach (var raw in dump.Split('\n'))
        {
            var line = raw.TrimEnd('\r');
            if (volatileLines.Any(r => r.IsMatch(line)))
            {
                continue;
            }
            if (engine == DatabaseEngine.MySql)
            {
                // AUTO_INCREMENT=<n> in table options reflects the counter, not the data (ENVIRONMENT.md pitfalls).
                line = MariaDbAutoIncrement().Replace(line, "");
            }
            lines.Add(line);
        }
        return lines;
    }

    public static DumpComparison Compare(DatabaseEngine engine, string expected, string actual)
    {
        var a = Normalize(engine, expected);
        var b = Normalize(engine, actual);
        var n = Math.Min(a.Count, b.Count);
        for (var i = 0; i < n; i++)
        {
            if (!string.Equals(a[i], b[i], StringComparison.Ordinal))
            {
                return new DumpComparison(false, i, $"line {i + 1}:\n  expected: {Shorten(a[i])}\n  actual:   {Shorten(b[i])}");
            }
        }
        return a.Count == b.Count
            ? new DumpComparison(true, n, null)
            : new DumpComparison(false, n, $"line counts differ: expected {a.Count}, actual {b.Count}; first extra line: {Shorten(a.Count > n ? a[n] : b[n])}");
    }

    /// <summary>Fails (with the first difference) unless the dumps are equal; also fails on a trivially small dump.</summary>
    public static void AssertEquivalent(DatabaseEngine engine, string expected, string actual, int minimumLines = 50)
    {
        var result = Compare(engine, expected, actual);
        if (!result.Equal)
        {
            throw new Xunit.Sdk.XunitException($"The restored database's {engine} dump differs from the source's: {result.FirstDifference}");
        }
        if (result.ComparedLines < minimumLines)
        {
            throw new Xunit.Sdk.XunitException($"Only {result.ComparedLines} lines compared (< {minimumLines}): the dump is suspiciously small.");
        }
    }

    private static string Shorten(string line) => line.Length <= 300 ? line : string.Concat(line.AsSpan(0, 300), "…");

    [GeneratedRegex(@"^\\(un)?restrict\s")]
    private static partial Regex PgRestrict();
    [GeneratedRegex(@"^-- Dumped (from database version|by pg_dump version) ")]
    private static partial Regex PgDumpedFrom();
    [GeneratedRegex(@"^-- Host: .*Database: ")]
    private static partial Regex MariaDbHost();
    [GeneratedRegex(@"^-- Dumping (events|routines) for database '")]
    private static partial Regex MariaDbDumping();
    [GeneratedRegex(@"^-- Dump completed")]
    private static partial Regex MariaDbCompleted();
    [GeneratedRegex(@" AUTO_INCREMENT=\d+")]
    private static partial Regex MariaDbAutoIncrement();
}

/// <summary>Engine-native text dumps made by the engines' own tools, for comparisons.</summary>
public static class NativeDumps
{
    public static async Task<string> PostgresAsync(string database, CancellationToken cancellationToken = default)
    {
        var options = TestDatabases.Postgres(database);
        var run = await ToolRunner.RunAsync(TestDatabases.PgTool("pg_dump"),
            ["-Fp", "--no-password", "-h", options.Host!, "-p", options.Port!.Value.ToString(System.Globalization.CultureInfo.InvariantCulture), "-U", options.Username!, "-d", database],
            new Dictionary<string, string> { ["PGPASSWORD"] = options.Password!.Reveal() }, null, cancellationToken).ConfigureAwait(false);
        return run.EnsureSuccess("pg_dump -Fp").StandardOutput;
    }

    public static async Task<string> MariaDbAsync(string database, CancellationToken cancellationToken = default)
    {
        var options = TestDatabases.MariaDb(database);
        var run = await ToolRunner.RunAsync("mariadb-dump",
            ["--no-defaults", "--protocol=TCP", "--host=" + options.Host, "--port=" + options.Port, "--user=" + options.Username,
             "--single-transaction", "--routines", "--triggers", "--events", "--hex-blob", "--skip-dump-date",
             "--default-character-set=utf8mb4", "--order-by-primary", database],
            new Dictionary<string, string> { ["MYSQL_PWD"] = options.Password!.Reveal() }, null, cancellationToken).ConfigureAwait(false);
        return run.EnsureSuccess("mariadb-dump").StandardOutput;
    }

    public static async Task<string> SqliteAsync(string path, CancellationToken cancellationToken = default)
    {
        var run = await ToolRunner.RunAsync("sqlite3", ["-bail", path, ".dump"], null, null, cancellationToken).ConfigureAwait(false);
        return run.EnsureSuccess("sqlite3 .dump").StandardOutput;
    }
}

/// <summary>The hard-case fixtures in tests/DbBackup.TestSupport/Fixtures (copied next to every test assembly).</summary>
public static class Fixtures
{
    public const string Postgres = "postgres-hard-cases.sql";
    public const string MariaDb = "mariadb-hard-cases.sql";
    public const string Sqlite = "sqlite-hard-cases.sql";

    public static string PathOf(string name)
    {
        var path = System.IO.Path.Combine(AppContext.BaseDirectory, "Fixtures", name);
        return File.Exists(path) ? path : throw new FileNotFoundException($"fixture {name} not found next to the test assembly", path);
    }

    public static string Read(string name) => File.ReadAllText(PathOf(name), Encoding.UTF8);

    /// <summary>Loads the PostgreSQL hard cases into an existing database.</summary>
    public static Task LoadPostgresAsync(string database, CancellationToken cancellationToken = default) =>
        TestDatabases.PgExecuteAsync(database, Read(Postgres), cancellationToken);

    /// <summary>Loads the MariaDB hard cases (uses DELIMITER, so through the mariadb client).</summary>
    public static Task LoadMariaDbAsync(string database, CancellationToken cancellationToken = default) =>
        TestDatabases.MariaDbExecuteAsync(database, Read(MariaDb), cancellationToken);

    /// <summary>Creates a SQLite database file holding the hard cases (through the sqlite3 CLI).</summary>
    public static async Task CreateSqliteAsync(string path, CancellationToken cancellationToken = default)
    {
        var run = await ToolRunner.RunAsync("sqlite3", ["-bail", path], null, Read(Sqlite), cancellationToken).ConfigureAwait(false);
        run.EnsureSuccess("sqlite3 (fixture)");
    }
}
