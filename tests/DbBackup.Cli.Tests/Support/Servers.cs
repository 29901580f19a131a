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

/// <summary>Sends POSIX signals to child processes through kill(1) (Process.Kill only sends SIGKILL).</summary>
public static class Signals
{
    public static void Send(int pid, string signal)
    {
        using var kill = System.Diagnostics.Process.Start("kill", ["-s", signal, pid.ToString(CultureInfo.InvariantCulture)])
            ?? throw new InvalidOperationException("could not start kill");
        kill.WaitForExit();
        if (kill.ExitCode != 0)
        {
            throw new InvalidOperationException($"kill -s {signal} {pid} failed with exit code {kill.ExitCode}");
        }
    }
}
