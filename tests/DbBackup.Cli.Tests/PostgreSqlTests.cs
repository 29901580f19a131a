using System.Diagnostics;
using DbBackup.Cli.Tests.Support;
using DbBackup.TestSupport;
using Xunit;

namespace DbBackup.Cli.Tests;

/// <summary>End to end through the dbbackup child process against the real PostgreSQL of tests/run-tests.sh.</summary>
[Trait("Engine", "PostgreSql")]
public sealed class PostgreSqlTests : IAsyncLifetime
{
    private readonly Workspace _workspace = new();
    private readonly List<string> _databases = [];

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        foreach (var name in _databases)
        {
            await TestDatabases.DropPostgresAsync(name);
        }
        _workspace.Dispose();
    }

    private string NewName()
    {
        var name = TestDatabases.UniqueName();
        _databases.Add(name);
        return name;
    }

    private async Task<string> CreateSourceAsync()
    {
        var name = NewName();
        await TestDatabases.PgExecuteAsync("postgres", $"CREATE DATABASE \"{name}\"");
        await Fixtures.LoadPostgresAsync(name);
        return name;
    }

    [Fact]
    public async Task Round_trip_backup_history_verify_restore_dump_equal()
    {
        var source = await CreateSourceAsync();
        var password = TestServers.Require("DBBACKUP_TEST_PG_PASSWORD");
        await using (var child = _workspace.Cli.Start(["backup", .. Servers.PgArgs(source), "--repository", _workspace.Repository, "--output", "json"], Servers.PgEnv()))
        {
            // The password reaches the CLI only through its environment: never in its argv.
            var cmdline = await child.CommandLineAsync();
            Assert.DoesNotContain(password, cmdline, StringComparison.Ordinal);
            child.Process.StandardInput.Close();
            var backup = (await child.WaitAsync(DbBackupCli.DefaultTimeout)).EnsureSuccess();
            var record = backup.Json();
            Assert.DoesNotContain(password, backup.StandardOutput + backup.StandardError, StringComparison.Ordinal);
            Assert.Equal("PostgreSql", record.Str("engine"));
            var id = record.Str("backupId");

            var history = await Steps.HistoryFreshAsync(_workspace, "--database", source);
            Assert.Equal(id, Assert.Single(history).Str("backupId"));
            await Steps.VerifyValidAsync(_workspace, id);

            var target = NewName();
            (await Steps.RestoreAsync(_workspace, id, Servers.PgTargetArgs(target), Servers.PgEnv())).EnsureSuccess();
            var expected = await NativeDumps.PostgresAsync(source);
            DumpComparer.AssertEquivalent(DatabaseEngine.PostgreSql, expected, await NativeDumps.PostgresAsync(target));

            await TestDatabases.PgExecuteAsync(target, "UPDATE sales.orders SET ratio = -12345.678 WHERE id = (SELECT min(id) FROM sales.orders)");
            Assert.False(DumpComparer.Compare(DatabaseEngine.PostgreSql, expected, await NativeDumps.PostgresAsync(target)).Equal,
                "negative control: a changed row must fail the comparison");
        }
    }

    [Fact]
    public async Task Encrypted_with_passphrase_from_env_round_trips()
    {
        var source = await CreateSourceAsync();
        var env = Servers.Merge(Servers.PgEnv(), new() { ["DBBACKUP_PASSPHRASE"] = "pg passphrase" });
        var record = await Steps.BackupAsync(_workspace, Servers.PgArgs(source), env, "--compression", "zstd", "--compression-level", "3");
        Assert.Equal("Passphrase", record.Str("encryption"));
        var id = record.Str("backupId");
        await Steps.VerifyValidAsync(_workspace, id, env);
        var target = NewName();
        (await Steps.RestoreAsync(_workspace, id, Servers.PgTargetArgs(target), env)).EnsureSuccess();
        DumpComparer.AssertEquivalent(DatabaseEngine.PostgreSql, await NativeDumps.PostgresAsync(source), await NativeDumps.PostgresAsync(target));
    }

    [Fact]
    public async Task Manual_restore_from_format_doc_cat_zstd_d_pg_restore()
    {
        var source = await CreateSourceAsync();
        var id = (await Steps.BackupAsync(_workspace, Servers.PgArgs(source), Servers.PgEnv(), "--compression", "zstd", "--volume-size", "5MiB")).Str("backupId");
        var target = NewName();
        await TestDatabases.PgExecuteAsync("postgres", $"CREATE DATABASE \"{target}\"");
        var env = new Dictionary<string, string>
        {
            ["PGHOST"] = TestServers.Require("DBBACKUP_TEST_PG_HOST"),
            ["PGPORT"] = TestServers.Require("DBBACKUP_TEST_PG_PORT"),
            ["PGUSER"] = TestServers.Require("DBBACKUP_TEST_PG_USER"),
            ["PGPASSWORD"] = TestServers.Require("DBBACKUP_TEST_PG_PASSWORD"),
        };
        var run = await ToolRunner.RunAsync("bash",
            ["-c", "set -euo pipefail; cat \"$1\"/data.* | zstd -d | \"$2\" --exit-on-error -d \"$3\"", "bash",
             _workspace.BackupDirectory(id), TestDatabases.PgTool("pg_restore"), target], env);
        run.EnsureSuccess("cat | zstd -d | pg_restore");
        DumpComparer.AssertEquivalent(DatabaseEngine.PostgreSql, await NativeDumps.PostgresAsync(source), await NativeDumps.PostgresAsync(target));
    }

    [Fact]
    public async Task Restore_over_non_empty_database_needs_force()
    {
        var source = await CreateSourceAsync();
        var id = (await Steps.BackupAsync(_workspace, Servers.PgArgs(source), Servers.PgEnv())).Str("backupId");
        var target = NewName();
        await TestDatabases.PgExecuteAsync("postgres", $"CREATE DATABASE \"{target}\"");
        await TestDatabases.PgExecuteAsync(target, "CREATE TABLE keep(x int); INSERT INTO keep VALUES (1);");
        var before = await NativeDumps.PostgresAsync(target);

        var refused = await Steps.RestoreAsync(_workspace, id, Servers.PgTargetArgs(target), Servers.PgEnv());
        Steps.AssertFailed(refused, 7, "TargetNotEmpty");
        DumpComparer.AssertEquivalent(DatabaseEngine.PostgreSql, before, await NativeDumps.PostgresAsync(target), minimumLines: 10);

        var forced = (await Steps.RestoreAsync(_workspace, id, Servers.PgTargetArgs(target), Servers.PgEnv(), "--force")).EnsureSuccess().Json();
        Assert.True(forced.GetProperty("replacedExisting").GetBoolean());
        DumpComparer.AssertEquivalent(DatabaseEngine.PostgreSql, await NativeDumps.PostgresAsync(source), await NativeDumps.PostgresAsync(target));
    }

    [Fact]
    public async Task Tampered_volume_or_wrong_passphrase_leaves_targets_untouched()
    {
        var source = await CreateSourceAsync();
        var env = Servers.Merge(Servers.PgEnv(), new() { ["DBBACKUP_PASSPHRASE"] = "right" });
        var id = (await Steps.BackupAsync(_workspace, Servers.PgArgs(source), env)).Str("backupId");

        // Wrong passphrase: a new target is never created; an existing one is unchanged even with --force.
        var wrong = Servers.Merge(Servers.PgEnv(), new() { ["DBBACKUP_PASSPHRASE"] = "wrong" });
        var fresh = NewName();
        Steps.AssertFailed(await Steps.RestoreAsync(_workspace, id, Servers.PgTargetArgs(fresh), wrong), 5, "WrongKey");
        Assert.False(await TestDatabases.PgDatabaseExistsAsync(fresh));

        var existing = NewName();
        await TestDatabases.PgExecuteAsync("postgres", $"CREATE DATABASE \"{existing}\"");
        await TestDatabases.PgExecuteAsync(existing, "CREATE TABLE keep(x int); INSERT INTO keep VALUES (42);");
        var before = await NativeDumps.PostgresAsync(existing);
        Steps.AssertFailed(await Steps.RestoreAsync(_workspace, id, Servers.PgTargetArgs(existing), wrong, "--force"), 5, "WrongKey");

        // A flipped byte in a volume: rejected, new target not created, existing target unchanged.
        Steps.FlipByte(_workspace.DataVolumes(id)[0]);
        Steps.AssertFailed(await Steps.RestoreAsync(_workspace, id, Servers.PgTargetArgs(fresh), env), 5, Steps.EncryptedIntegrityIds);
        Assert.False(await TestDatabases.PgDatabaseExistsAsync(fresh));
        Steps.AssertFailed(await Steps.RestoreAsync(_workspace, id, Servers.PgTargetArgs(existing), env, "--force"), 5, Steps.EncryptedIntegrityIds);
        DumpComparer.AssertEquivalent(DatabaseEngine.PostgreSql, before, await NativeDumps.PostgresAsync(existing), minimumLines: 10);

        var leftovers = await TestDatabases.PgScalarAsync<long>("postgres",
            $"SELECT count(*) FROM pg_database WHERE datname LIKE '%{fresh}%' OR datname LIKE '%{existing}%'");
        Assert.True(leftovers == 1, $"staging databases left behind: {leftovers - 1}");
    }

    [Fact]
    public async Task Test_connection_reports_success_and_missing_database()
    {
        var ok = await _workspace.Cli.RunAsync(["test-connection", .. Servers.PgArgs("postgres"), "--output", "json"], Servers.PgEnv());
        Assert.True(ok.EnsureSuccess().Json().GetProperty("success").GetBoolean());

        var missing = await _workspace.Cli.RunAsync(["test-connection", .. Servers.PgArgs("no_such_db_" + Stopwatch.GetTimestamp()), "--output", "json"], Servers.PgEnv());
        Steps.AssertFailed(missing, 4, "DatabaseNotFound");
        Assert.False(missing.Json().GetProperty("success").GetBoolean());

        var badPassword = await _workspace.Cli.RunAsync(["test-connection", .. Servers.PgArgs("postgres"), "--output", "json"],
            new Dictionary<string, string?> { ["DBBACKUP_PASSWORD"] = "not-the-password" });
        Steps.AssertFailed(badPassword, 3, "AuthenticationFailed");

        // The other two password sources: PGPASSWORD as the engine's fallback, and --password-prompt reading stdin.
        var password = TestServers.Require("DBBACKUP_TEST_PG_PASSWORD");
        (await _workspace.Cli.RunAsync(["test-connection", .. Servers.PgArgs("postgres")], new Dictionary<string, string?> { ["PGPASSWORD"] = password })).EnsureSuccess();
        (await _workspace.Cli.RunAsync(["test-connection", .. Servers.PgArgs("postgres"), "--password-prompt"], null, password + "\n")).EnsureSuccess();
    }
}
