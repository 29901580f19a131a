using System.Globalization;
using DbBackup.TestSupport;

namespace DbBackup.Cli.Tests.Support;

/// <summary>
/// CLI arguments and environment for the real test servers. The password goes only through DBBACKUP_PASSWORD in
/// the child's environment — the CLI has no option that takes a password value.
/// </summary>
public static class Servers
{
    public static string[] PgArgs(string database) =>
    [
        "--engine", "postgresql",
        "--server", TestServers.Require("DBBACKUP_TEST_PG_HOST"),
        "--port", TestServers.Require("DBBACKUP_TEST_PG_PORT"),
        "--username", TestServers.Require("DBBACKUP_TEST_PG_USER"),
        "--database", database,
    ];

    /// <summary>Target connection for a restore (no --database: that names the source there).</summary>
    public static string[] PgTargetArgs(string target) =>
    [
        "--engine", "postgresql",
        "--server", TestServers.Require("DBBACKUP_TEST_PG_HOST"),
        "--port", TestServers.Require("DBBACKUP_TEST_PG_PORT"),
        "--username", TestServers.Require("DBBACKUP_TEST_PG_USER"),
        "--target-database", target,
    ];

    public static Dictionary<string, string?> PgEnv() => new() { ["DBBACKUP_PASSWORD"] = TestServers.Require("DBBACKUP_TEST_PG_PASSWORD") };

    public static string[] MariaDbArgs(string database) =>
    [
        "--engine", "mariadb",
        "--server", TestServers.Require("DBBACKUP_TEST_MARIADB_HOST"),
        "--port", TestServers.Require("DBBACKUP_TEST_MARIADB_PORT"),
        "--username", TestServers.Require("DBBACKUP_TEST_MARIADB_USER"),
        "--database", database,
    ];

    public static string[] MariaDbTargetArgs(string target) =>
    [
        "--engine", "mariadb",
        "--server", TestServers.Require("DBBACKUP_TEST_MARIADB_HOST"),
        "--port", TestServers.Require("DBBACKUP_TEST_MARIADB_PORT"),
        "--username", TestServers.Require("DBBACKUP_TEST_MARIADB_USER"),
        "--target-database", target,
    ];

    public static Dictionary<string, string?> MariaDbEnv() => new() { ["DBBACKUP_PASSWORD"] = TestServers.Require("DBBACKUP_TEST_MARIADB_PASSWORD") };

    public static string Port(int port) => port.ToString(CultureInfo.InvariantCulture);

    public static string[] Concat(params string[][] parts) => parts.SelectMany(p => p).ToArray();

    public static Dictionary<string, string?> Merge(params Dictionary<string, string?>[] parts)
    {
        var merged = new Dictionary<string, string?>(StringComparer.Ordinal);
        foreach (var part in parts)
        {
            foreach (var (key, value) in part)
            {
                merged[key] = value;
            }
        }
        return merged;
    }
}

/// <summary>
/// Sends a POSIX signal with kill(2) directly: starting a `kill` child can take seconds on a loaded machine, long
/// enough for the backup under test to finish before the signal arrives.
/// </summary>
public static partial class Signals
{
    public static void Send(int pid, string signal)
    {
        var number = signal switch
        {
            "INT" => 2,
            "KILL" => 9,
            "TERM" => 15,
            _ => throw new ArgumentOutOfRangeException(nameof(signal), signal, "INT, KILL or TERM"),
        };
        if (Kill(pid, number) != 0)
        {
            throw new InvalidOperationException($"kill({pid}, SIG{signal}) failed with errno {System.Runtime.InteropServices.Marshal.GetLastPInvokeError()}");
        }
    }

    [System.Runtime.InteropServices.LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static partial int Kill(int pid, int signal);
}

