using DbBackup.Cli.Tests.Support;
using DbBackup.TestSupport;
using Xunit;

namespace DbBackup.Cli.Tests;

/// <summary>End to end through the dbbackup child process with SQLite databases (no server needed).</summary>
[Trait("Engine", "Sqlite")]
public sealed class SqliteTests : IDisposable
{
    private readonly Workspace _workspace = new();

    public void Dispose() => _workspace.Dispose();

    private async Task<string> CreateSourceAsync(string name = "source.db")
    {
        var path = _workspace.PathOf(name);
        await Fixtures.CreateSqliteAsync(path);
        return path;
    }

    private static string[] Source(string path) => ["--engine", "sqlite", "--database", path];

    [Fact]
    public async Task Round_trip_backup_history_verify_restore_dump_equal()
    {
        var source = await CreateSourceAsync();
        var record = await Steps.BackupAsync(_workspace, Source(source));
        var id = record.Str("backupId");
        Assert.Equal("Sqlite", record.Str("engine"));

        var history = await Steps.HistoryFreshAsync(_workspace);
        Assert.Equal(id, Assert.Single(history).Str("backupId"));

        await Steps.VerifyValidAsync(_workspace, id);

        // No --engine: the CLI looks the backup up in the catalog.
        var target = _workspace.PathOf("restored.db");
        var restore = (await Steps.RestoreAsync(_workspace, id, ["--target-database", target])).EnsureSuccess().Json();
        Assert.Equal(id, restore.Str("backupId"));
        Assert.False(restore.GetProperty("replacedExisting").GetBoolean());

        var expected = await NativeDumps.SqliteAsync(source);
        DumpComparer.AssertEquivalent(DatabaseEngine.Sqlite, expected, await NativeDumps.SqliteAsync(target));

        // Negative control: one changed row must make the comparison fail.
        (await ToolRunner.RunAsync("sqlite3", [target, "UPDATE customers SET balance = balance + 1 WHERE id = 42;"])).EnsureSuccess("sqlite3");
        Assert.False(DumpComparer.Compare(DatabaseEngine.Sqlite, expected, await NativeDumps.SqliteAsync(target)).Equal);
    }

    public static TheoryData<string, string> Combinations()
    {
        var data = new TheoryData<string, string>();
        foreach (var compression in new[] { "zstd", "gzip", "none" })
        {
            foreach (var encryption in new[] { "none", "passphrase-env", "key-file" })
            {
                data.Add(compression, encryption);
            }
        }
        return data;
    }

    /// <summary>Every compression x encryption combination, each a real round trip through the CLI.</summary>
    [Theory]
    [MemberData(nameof(Combinations))]
    public async Task Compression_and_encryption_combination_round_trips(string compression, string encryption)
    {
        var source = await CreateSourceAsync();
        var (keyArgs, keyEnv, mode) = Keys(encryption);
        var record = await Steps.BackupAsync(_workspace, Source(source), keyEnv, ["--compression", compression, .. keyArgs]);
        var id = record.Str("backupId");
        Assert.Equal(compression, record.Str("compression"), ignoreCase: true);
        Assert.Equal(mode, record.Str("encryption"));

        await Steps.VerifyValidAsync(_workspace, id, keyEnv, keyArgs);
        var target = _workspace.PathOf("restored.db");
        (await Steps.RestoreAsync(_workspace, id, ["--engine", "sqlite", "--target-database", target], keyEnv, keyArgs)).EnsureSuccess();
        DumpComparer.AssertEquivalent(DatabaseEngine.Sqlite, await NativeDumps.SqliteAsync(source), await NativeDumps.SqliteAsync(target));
    }

    private (string[] Args, Dictionary<string, string?> Env, string Mode) Keys(string encryption)
    {
        switch (encryption)
        {
            case "passphrase-env":
                return ([], new() { ["DBBACKUP_PASSPHRASE"] = "correct horse battery staple" }, "Passphrase");
            case "key-file":
                var keyFile = _workspace.PathOf("backup.key");
                if (!File.Exists(keyFile))
                {
                    File.WriteAllBytes(keyFile, System.Security.Cryptography.RandomNumberGenerator.GetBytes(32));
                }
                return (["--key-file", keyFile], new(), "KeyFile");
            default:
                return ([], new(), "None");
        }
    }

    [Fact]
    public async Task Passphrase_from_file_and_from_stdin_prompt_work()
    {
        var source = await CreateSourceAsync();
        var file = _workspace.PathOf("passphrase.txt");
        await File.WriteAllTextAsync(file, "from a file\n");
        var id = (await Steps.BackupAsync(_workspace, Source(source), null, "--passphrase-file", file)).Str("backupId");

        // --passphrase-prompt with stdin not a terminal reads one line of stdin: the same passphrase works.
        var verify = await _workspace.Cli.RunAsync(
            ["verify", "--repository", _workspace.Repository, "--backup-id", id, "--passphrase-prompt", "--output", "json"], null, "from a file\n");
        Assert.True(verify.EnsureSuccess().Json()[0].GetProperty("isValid").GetBoolean());
    }

    [Fact]
    public async Task Manual_restore_from_format_doc_cat_gzip_d()
    {
        var source = await CreateSourceAsync();
        // ~12 MB of incompressible rows: several 5 MiB volumes, so the concatenation really joins volumes.
        (await ToolRunner.RunAsync("sqlite3", [source, "CREATE TABLE filler(b BLOB); WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM n WHERE i < 3000) INSERT INTO filler SELECT randomblob(4000) FROM n;"]))
            .EnsureSuccess("sqlite3");
        var record = await Steps.BackupAsync(_workspace, Source(source), null, "--compression", "gzip", "--volume-size", "5MiB");
        Assert.True(record.GetProperty("volumeCount").GetInt32() > 1, record.ToString());
        var id = record.Str("backupId");
        var dir = _workspace.BackupDirectory(id);
        var restored = _workspace.PathOf("by-hand.db");
        // docs/format.md: an unencrypted backup's volumes, concatenated, are one standard compressed file.
        var run = await ToolRunner.RunAsync("bash", ["-c", "set -euo pipefail; cat \"$1\"/data.* | gzip -d > \"$2\"", "bash", dir, restored]);
        run.EnsureSuccess("cat | gzip -d");
        DumpComparer.AssertEquivalent(DatabaseEngine.Sqlite, await NativeDumps.SqliteAsync(source), await NativeDumps.SqliteAsync(restored));
    }

    [Fact]
    public async Task Restore_over_non_empty_target_needs_force()
    {
        var source = await CreateSourceAsync();
        var id = (await Steps.BackupAsync(_workspace, Source(source))).Str("backupId");
        var target = _workspace.PathOf("existing.db");
        (await ToolRunner.RunAsync("sqlite3", [target, "CREATE TABLE keep(x); INSERT INTO keep VALUES (1);"])).EnsureSuccess("sqlite3");
        var before = await File.ReadAllBytesAsync(target);

        var refused = await Steps.RestoreAsync(_workspace, id, ["--engine", "sqlite", "--target-database", target]);
        Steps.AssertFailed(refused, 7, "TargetNotEmpty");
        Assert.Equal(before, await File.ReadAllBytesAsync(target));

        var forced = (await Steps.RestoreAsync(_workspace, id, ["--engine", "sqlite", "--target-database", target], null, "--force")).EnsureSuccess().Json();
        Assert.True(forced.GetProperty("replacedExisting").GetBoolean());
        DumpComparer.AssertEquivalent(DatabaseEngine.Sqlite, await NativeDumps.SqliteAsync(source), await NativeDumps.SqliteAsync(target));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Flipped_byte_is_rejected_and_target_file_unchanged(bool encrypted)
    {
        var source = await CreateSourceAsync();
        var env = encrypted ? new Dictionary<string, string?> { ["DBBACKUP_PASSPHRASE"] = "pass" } : null;
        var id = (await Steps.BackupAsync(_workspace, Source(source), env)).Str("backupId");
        Steps.FlipByte(_workspace.DataVolumes(id)[0]);

        var target = _workspace.PathOf("existing.db");
        (await ToolRunner.RunAsync("sqlite3", [target, "CREATE TABLE keep(x); INSERT INTO keep VALUES (1);"])).EnsureSuccess("sqlite3");
        var before = await File.ReadAllBytesAsync(target);

        var restore = await Steps.RestoreAsync(_workspace, id, ["--engine", "sqlite", "--target-database", target], env, "--force");
        Steps.AssertFailed(restore, 5, encrypted ? Steps.EncryptedIntegrityIds : ["BackupCorrupted"]);
        Assert.Equal(before, await File.ReadAllBytesAsync(target));

        var verify = await _workspace.Cli.RunAsync(["verify", "--repository", _workspace.Repository, "--backup-id", id, "--output", "json"], env);
        Assert.True(verify.ExitCode == 5, verify.ToString());
    }

    [Fact]
    public async Task Wrong_or_missing_passphrase_is_rejected_and_target_not_created()
    {
        var source = await CreateSourceAsync();
        var id = (await Steps.BackupAsync(_workspace, Source(source), new Dictionary<string, string?> { ["DBBACKUP_PASSPHRASE"] = "right" })).Str("backupId");
        var target = _workspace.PathOf("never.db");

        var wrong = await Steps.RestoreAsync(_workspace, id, ["--engine", "sqlite", "--target-database", target],
            new Dictionary<string, string?> { ["DBBACKUP_PASSPHRASE"] = "wrong" });
        Steps.AssertFailed(wrong, 5, "WrongKey");
        Assert.False(File.Exists(target));

        var missing = await Steps.RestoreAsync(_workspace, id, ["--engine", "sqlite", "--target-database", target]);
        Steps.AssertFailed(missing, 2, "KeyRequired");
        Assert.False(File.Exists(target));
    }

    [Fact]
    public async Task Missing_backup_and_missing_source_are_reported()
    {
        Directory.CreateDirectory(_workspace.Repository);
        var restore = await Steps.RestoreAsync(_workspace, "no-such-backup", ["--target-database", _workspace.PathOf("x.db")]);
        Steps.AssertFailed(restore, 4, "BackupNotFound");

        var backup = await _workspace.Cli.RunAsync(["backup", "--engine", "sqlite", "--database", _workspace.PathOf("absent.db"), "--repository", _workspace.Repository]);
        Steps.AssertFailed(backup, 4, "DatabaseNotFound");
        Assert.Empty(_workspace.RepositoryFiles());
    }

    [Fact]
    public async Task Progress_goes_to_stderr_only_when_asked_and_results_to_stdout()
    {
        var source = await CreateSourceAsync();
        // stderr is redirected here (not a terminal): no progress by default, line-per-update progress with --progress.
        var silent = (await _workspace.Cli.RunAsync(["backup", .. Source(source), "--repository", _workspace.Repository])).EnsureSuccess();
        Assert.Equal("", silent.StandardError);
        Assert.False(string.IsNullOrEmpty(silent.Json().Str("backupId"))); // stdout redirected: JSON by default

        var progress = (await _workspace.Cli.RunAsync(["backup", .. Source(source), "--repository", _workspace.Repository, "--progress"])).EnsureSuccess();
        var lines = progress.StandardError.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.NotEmpty(lines);
        Assert.All(lines, line => Assert.Matches(@"\d+(\.\d)? (B|KiB|MiB|GiB)", line));
        Assert.Contains(lines, line => line.TrimEnd().EndsWith("done", StringComparison.Ordinal));
        Assert.DoesNotContain('\r', progress.StandardError);
        progress.Json();

        var quiet = (await _workspace.Cli.RunAsync(["backup", .. Source(source), "--repository", _workspace.Repository, "--progress", "--quiet"])).EnsureSuccess();
        Assert.Equal("", quiet.StandardError);

        var table = (await _workspace.Cli.RunAsync(["history", "--output", "table"])).EnsureSuccess();
        Assert.StartsWith("Database", table.StandardOutput);
        Assert.Equal(3, table.StandardOutput.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length - 2);
    }

    [Fact]
    public async Task Verify_without_id_checks_every_backup_and_reports_the_bad_one()
    {
        var source = await CreateSourceAsync();
        var good = (await Steps.BackupAsync(_workspace, Source(source))).Str("backupId");
        var bad = (await Steps.BackupAsync(_workspace, Source(source))).Str("backupId");
        Steps.FlipByte(_workspace.DataVolumes(bad)[0]);

        var run = await _workspace.Cli.RunAsync(["verify", "--repository", _workspace.Repository, "--catalog", _workspace.FreshCatalog(), "--output", "json"]);
        Assert.True(run.ExitCode == 5, run.ToString());
        var results = run.Json().EnumerateArray().ToList();
        Assert.Contains(results, r => r.Str("backupId") == good && r.GetProperty("isValid").GetBoolean());
        Assert.DoesNotContain(results, r => r.Str("backupId") == bad && r.GetProperty("isValid").GetBoolean());
        Assert.Contains(run.ErrorLines, line => line.StartsWith("dbbackup: error BackupCorrupted: ", StringComparison.Ordinal) && line.Contains(bad, StringComparison.Ordinal));
    }

    [Fact]
    public async Task Restore_without_target_goes_to_a_new_name_in_the_current_directory()
    {
        var source = await CreateSourceAsync("shop.db");
        var id = (await Steps.BackupAsync(_workspace, Source(source))).Str("backupId");
        var cwd = Directory.CreateDirectory(_workspace.PathOf("cwd")).FullName;
        _workspace.Cli.WorkingDirectory = cwd;

        var restored = (await Steps.RestoreAsync(_workspace, id, [])).EnsureSuccess().Json();
        var target = restored.Str("targetDatabase");
        Assert.Equal(cwd, Path.GetDirectoryName(target));
        Assert.Matches(@"^shop_restored_\d{14}\.db$", Path.GetFileName(target));
        DumpComparer.AssertEquivalent(DatabaseEngine.Sqlite, await NativeDumps.SqliteAsync(source), await NativeDumps.SqliteAsync(target));
    }
}
