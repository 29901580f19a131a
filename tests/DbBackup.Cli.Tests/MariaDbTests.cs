using DbBackup.Cli.Tests.Support;
using DbBackup.TestSupport;
using Xunit;

namespace DbBackup.Cli.Tests;

/// <summary>End to end through the dbbackup child process against the real MariaDB of tests/run-tests.sh.</summary>
[Trait("Engine", "MySql")]
public sealed class MariaDbTests : IAsyncLifetime
{
    private readonly Workspace _workspace = new();
    private readonly List<string> _databases = [];

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        foreach (var name in _databases)
        {
            await TestDatabases.DropMariaDbAsync(name);
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
        await TestDatabases.MariaDbExecuteAsync(null, $"CREATE DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci");
        await Fixtures.LoadMariaDbAsync(name);
        return name;
    }

    [Fact]
    public async Task Round_trip_backup_history_verify_restore_dump_equal()
    {
        var source = await CreateSourceAsync();
        var record = await Steps.BackupAsync(_workspace, Servers.MariaDbArgs(source), Servers.MariaDbEnv());
        Assert.Equal("MySql", record.Str("engine"));
        var id = record.Str("backupId");

        var history = await Steps.HistoryFreshAsync(_workspace, "--engine", "mariadb");
        Assert.Equal(id, Assert.Single(history).Str("backupId"));
        await Steps.VerifyValidAsync(_workspace, id);

        var target = NewName();
        var restored = (await Steps.RestoreAsync(_workspace, id, Servers.MariaDbTargetArgs(target), Servers.MariaDbEnv())).EnsureSuccess().Json();
        Assert.Equal("VerifiedThenRestored", restored.Str("method"));
        var expected = await NativeDumps.MariaDbAsync(source);
        DumpComparer.AssertEquivalent(DatabaseEngine.MySql, expected, await NativeDumps.MariaDbAsync(target));

        await TestDatabases.MariaDbExecuteAsync(target, "UPDATE orders SET amount = amount + 1 ORDER BY id LIMIT 1");
        Assert.False(DumpComparer.Compare(DatabaseEngine.MySql, expected, await NativeDumps.MariaDbAsync(target)).Equal,
            "negative control: a changed row must fail the comparison");
    }

    [Fact]
    public async Task Encrypted_with_key_file_and_gzip_round_trips()
    {
        var source = await CreateSourceAsync();
        var keyFile = _workspace.PathOf("mariadb.key");
        await File.WriteAllBytesAsync(keyFile, System.Security.Cryptography.RandomNumberGenerator.GetBytes(32));
        var record = await Steps.BackupAsync(_workspace, Servers.MariaDbArgs(source), Servers.MariaDbEnv(), "--compression", "gzip", "--key-file", keyFile);
        Assert.Equal("KeyFile", record.Str("encryption"));
        Assert.Equal("Gzip", record.Str("compression"));
        var id = record.Str("backupId");
        await Steps.VerifyValidAsync(_workspace, id, null, "--key-file", keyFile);

        // Without the key nothing is restored.
        var target = NewName();
        Steps.AssertFailed(await Steps.RestoreAsync(_workspace, id, Servers.MariaDbTargetArgs(target), Servers.MariaDbEnv()), 2, "KeyRequired");
        Assert.False(await TestDatabases.MariaDbDatabaseExistsAsync(target));

        (await Steps.RestoreAsync(_workspace, id, Servers.MariaDbTargetArgs(target), Servers.MariaDbEnv(), "--key-file", keyFile)).EnsureSuccess();
        DumpComparer.AssertEquivalent(DatabaseEngine.MySql, await NativeDumps.MariaDbAsync(source), await NativeDumps.MariaDbAsync(target));
    }

    [Fact]
    public async Task Manual_restore_from_format_doc_cat_zstd_d_mariadb()
    {
        var source = await CreateSourceAsync();
        var id = (await Steps.BackupAsync(_workspace, Servers.MariaDbArgs(source), Servers.MariaDbEnv(), "--compression", "zstd", "--volume-size", "5MiB")).Str("backupId");
        var target = NewName();
        await TestDatabases.MariaDbExecuteAsync(null, $"CREATE DATABASE `{target}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci");
        var run = await ToolRunner.RunAsync("bash",
            ["-c", "set -euo pipefail; cat \"$1\"/data.* | zstd -d | mariadb --no-defaults --protocol=TCP --host=\"$2\" --port=\"$3\" --user=\"$4\" \"$5\"",
             "bash", _workspace.BackupDirectory(id), TestServers.Require("DBBACKUP_TEST_MARIADB_HOST"), TestServers.Require("DBBACKUP_TEST_MARIADB_PORT"),
             TestServers.Require("DBBACKUP_TEST_MARIADB_USER"), target],
            new Dictionary<string, string> { ["MYSQL_PWD"] = TestServers.Require("DBBACKUP_TEST_MARIADB_PASSWORD") });
        run.EnsureSuccess("cat | zstd -d | mariadb");
        DumpComparer.AssertEquivalent(DatabaseEngine.MySql, await NativeDumps.MariaDbAsync(source), await NativeDumps.MariaDbAsync(target));
    }

    [Fact]
    public async Task Tampered_volume_is_rejected_before_the_target_is_touched()
    {
        var source = await CreateSourceAsync();
        var id = (await Steps.BackupAsync(_workspace, Servers.MariaDbArgs(source), Servers.MariaDbEnv())).Str("backupId");
        Steps.FlipByte(_workspace.DataVolumes(id)[^1]);
        var target = NewName();
        Steps.AssertFailed(await Steps.RestoreAsync(_workspace, id, Servers.MariaDbTargetArgs(target), Servers.MariaDbEnv()), 5, "BackupCorrupted");
        Assert.False(await TestDatabases.MariaDbDatabaseExistsAsync(target));
    }

    [Fact]
    public async Task Test_connection_takes_the_password_from_mysql_pwd_and_reports_bad_ones()
    {
        var password = TestServers.Require("DBBACKUP_TEST_MARIADB_PASSWORD");
        var ok = await _workspace.Cli.RunAsync(["test-connection", .. Servers.MariaDbArgs("mysql"), "--output", "json"],
            new Dictionary<string, string?> { ["MYSQL_PWD"] = password });
        Assert.True(ok.EnsureSuccess().Json().GetProperty("success").GetBoolean());

        var bad = await _workspace.Cli.RunAsync(["test-connection", .. Servers.MariaDbArgs("mysql")],
            new Dictionary<string, string?> { ["DBBACKUP_PASSWORD"] = "not-the-password" });
        Steps.AssertFailed(bad, 3, "AuthenticationFailed");
        Assert.DoesNotContain("not-the-password", bad.StandardOutput + bad.StandardError, StringComparison.Ordinal);
    }
}
