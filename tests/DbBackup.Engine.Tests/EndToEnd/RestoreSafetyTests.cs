using DbBackup.Engine.Connectors;
using DbBackup.Engine.Errors;
using DbBackup.Engine.Pipeline;
using DbBackup.TestSupport;
using Xunit;

namespace DbBackup.Engine.Tests.EndToEnd;

/// <summary>
/// Restore never harms the target: damaged, tampered or wrong-key backups are rejected with the target
/// untouched, and a non-empty target is only replaced when asked. Real PostgreSQL, MariaDB and SQLite.
/// </summary>
public sealed class RestoreSafetyTests
{
    private static readonly CancellationToken None = CancellationToken.None;

    [Fact]
    [Trait("Engine", "PostgreSql")]
    public async Task Postgres_corrupted_backup_is_rejected_and_neither_target_nor_staging_exists_afterwards()
    {
        using var scope = new ServiceScope();
        await using var source = await TestDatabases.CreatePostgresAsync();
        await TestDatabases.PgExecuteAsync(source.Name, "CREATE TABLE t(id int primary key, v text); INSERT INTO t SELECT g, md5(g::text) FROM generate_series(1, 20000) g;");
        var record = await scope.Service.BackupAsync(new BackupRequest { Source = source.Options, Repository = scope.Repository }, null, None);
        scope.FlipBitInFirstVolume(record);
        var target = TestDatabases.UniqueName("r");

        var e = await Assert.ThrowsAsync<BackupIntegrityException>(() => scope.Service.RestoreAsync(
            new RestoreRequest { Repository = scope.Repository, BackupId = record.BackupId, Target = TestDatabases.Postgres(target) }, null, None));

        Assert.Equal(ErrorIds.BackupCorrupted, e.ErrorId);
        Assert.False(await TestDatabases.PgDatabaseExistsAsync(target));
        var leftovers = await TestDatabases.PgScalarAsync<long>("postgres", $"SELECT count(*) FROM pg_database WHERE datname LIKE '{target}%'");
        Assert.Equal(0, leftovers);
    }

    [Fact]
    [Trait("Engine", "PostgreSql")]
    public async Task Postgres_replacing_a_non_empty_database_needs_consent_and_then_swaps_it_in()
    {
        using var scope = new ServiceScope();
        await using var source = await TestDatabases.CreatePostgresAsync();
        await TestDatabases.PgExecuteAsync(source.Name, "CREATE TABLE t(id int primary key); INSERT INTO t VALUES (1), (2), (3);");
        var record = await scope.Service.BackupAsync(new BackupRequest { Source = source.Options, Repository = scope.Repository }, null, None);
        await using var target = await TestDatabases.CreatePostgresAsync();
        await TestDatabases.PgExecuteAsync(target.Name, "CREATE TABLE keep_me(x int); INSERT INTO keep_me VALUES (42);");
        var request = new RestoreRequest { Repository = scope.Repository, BackupId = record.BackupId, Target = target.Options };

        var refused = await Assert.ThrowsAsync<DbBackupException>(() => scope.Service.RestoreAsync(request, null, None));
        Assert.Equal(ErrorIds.TargetNotEmpty, refused.ErrorId);
        Assert.Equal(42, await TestDatabases.PgScalarAsync<int>(target.Name, "SELECT x FROM keep_me"));

        var result = await scope.Service.RestoreAsync(new RestoreRequest { Repository = scope.Repository, BackupId = record.BackupId, Target = target.Options, ReplaceExisting = true }, null, None);

        Assert.True(result.ReplacedExisting);
        Assert.Equal(RestoreMethod.StagingSwap, result.Method);
        Assert.Equal(3L, await TestDatabases.PgScalarAsync<long>(target.Name, "SELECT count(*) FROM t"));
        Assert.Equal(0L, await TestDatabases.PgScalarAsync<long>(target.Name, "SELECT count(*) FROM pg_tables WHERE tablename = 'keep_me'"));
    }

    [Fact]
    [Trait("Engine", "PostgreSql")]
    public async Task Postgres_wrong_passphrase_is_rejected_before_anything_is_created()
    {
        using var scope = new ServiceScope();
        await using var source = await TestDatabases.CreatePostgresAsync();
        await TestDatabases.PgExecuteAsync(source.Name, "CREATE TABLE t(id int); INSERT INTO t VALUES (1);");
        var record = await scope.Service.BackupAsync(new BackupRequest
        {
            Source = source.Options, Repository = scope.Repository,
            Encryption = new EncryptionOptions { Passphrase = new SecretValue("correct horse battery staple") },
        }, null, None);
        var target = TestDatabases.UniqueName("r");

        var e = await Assert.ThrowsAsync<BackupIntegrityException>(() => scope.Service.RestoreAsync(new RestoreRequest
        {
            Repository = scope.Repository, BackupId = record.BackupId, Target = TestDatabases.Postgres(target),
            Encryption = new EncryptionOptions { Passphrase = new SecretValue("wrong") },
        }, null, None));

        Assert.Equal(ErrorIds.WrongKey, e.ErrorId);
        Assert.DoesNotContain("wrong", e.Message);
        Assert.False(await TestDatabases.PgDatabaseExistsAsync(target));
    }

    [Fact]
    [Trait("Engine", "MySql")]
    public async Task MariaDb_corrupted_backup_is_rejected_before_the_target_is_touched()
    {
        using var scope = new ServiceScope();
        await using var source = await TestDatabases.CreateMariaDbAsync();
        await TestDatabases.MariaDbExecuteAsync(source.Name, "CREATE TABLE t(id int primary key, v text); INSERT INTO t SELECT seq, md5(seq) FROM seq_1_to_20000;");
        var record = await scope.Service.BackupAsync(new BackupRequest { Source = source.Options, Repository = scope.Repository, Compression = CompressionCodec.None }, null, None);
        await using var target = await TestDatabases.CreateMariaDbAsync();
        await TestDatabases.MariaDbExecuteAsync(target.Name, "CREATE TABLE keep_me(x int); INSERT INTO keep_me VALUES (42);");
        scope.FlipBitInFirstVolume(record);

        var e = await Assert.ThrowsAsync<BackupIntegrityException>(() => scope.Service.RestoreAsync(
            new RestoreRequest { Repository = scope.Repository, BackupId = record.BackupId, Target = target.Options, ReplaceExisting = true }, null, None));

        Assert.Equal(ErrorIds.BackupCorrupted, e.ErrorId);
        Assert.Equal("42", (await TestDatabases.MariaDbExecuteAsync(target.Name, "SELECT x FROM keep_me")).Trim().Split('\n').Last().Trim());
    }

    [Fact]
    [Trait("Engine", "MySql")]
    public async Task MariaDb_restore_verifies_first_then_restores()
    {
        using var scope = new ServiceScope();
        await using var source = await TestDatabases.CreateMariaDbAsync();
        await TestDatabases.MariaDbExecuteAsync(source.Name, "CREATE TABLE t(id int primary key); INSERT INTO t VALUES (1),(2);");
        var record = await scope.Service.BackupAsync(new BackupRequest { Source = source.Options, Repository = scope.Repository }, null, None);
        var target = TestDatabases.UniqueName("r");
        try
        {
            var result = await scope.Service.RestoreAsync(new RestoreRequest { Repository = scope.Repository, BackupId = record.BackupId, Target = TestDatabases.MariaDb(target) }, null, None);

            Assert.Equal(RestoreMethod.VerifiedThenRestored, result.Method);
            Assert.False(result.ReplacedExisting);
            Assert.Equal("2", (await TestDatabases.MariaDbExecuteAsync(target, "SELECT count(*) FROM t")).Trim().Split('\n').Last().Trim());
        }
        finally
        {
            await TestDatabases.DropMariaDbAsync(target);
        }
    }

    [Fact]
    [Trait("Engine", "Sqlite")]
    public async Task Sqlite_tampered_encrypted_backup_leaves_the_existing_target_file_byte_for_byte_unchanged()
    {
        using var scope = new ServiceScope();
        var sourcePath = Path.Combine(scope.Root, "source.db");
        await Fixtures.CreateSqliteAsync(sourcePath);
        var keyFile = Path.Combine(scope.Root, "backup.key");
        await File.WriteAllBytesAsync(keyFile, System.Security.Cryptography.RandomNumberGenerator.GetBytes(32));
        var encryption = new EncryptionOptions { KeyFile = keyFile };
        var record = await scope.Service.BackupAsync(new BackupRequest
        {
            Source = new ConnectionOptions { Engine = DatabaseEngine.Sqlite, Database = sourcePath }, Repository = scope.Repository, Encryption = encryption,
        }, null, None);
        var targetPath = Path.Combine(scope.Root, "target.db");
        File.Copy(sourcePath, targetPath);
        await TestDatabases_Sqlite.ExecuteAsync(targetPath, "CREATE TABLE marker(x); INSERT INTO marker VALUES ('original');");
        var before = await File.ReadAllBytesAsync(targetPath);
        scope.FlipBitInFirstVolume(record);

        var e = await Assert.ThrowsAsync<BackupIntegrityException>(() => scope.Service.RestoreAsync(new RestoreRequest
        {
            Repository = scope.Repository, BackupId = record.BackupId, ReplaceExisting = true, Encryption = encryption,
            Target = new ConnectionOptions { Engine = DatabaseEngine.Sqlite, Database = targetPath },
        }, null, None));

        Assert.Contains(e.ErrorId, new[] { ErrorIds.BackupTampered, ErrorIds.BackupCorrupted });
        Assert.Equal(before, await File.ReadAllBytesAsync(targetPath));
        Assert.Equal(new[] { "source.db", "target.db" }, Directory.GetFiles(scope.Root, "*.db*").Select(Path.GetFileName).Where(n => !n!.StartsWith("catalog", StringComparison.Ordinal)).Order(StringComparer.Ordinal));
    }

    [Fact]
    [Trait("Engine", "Sqlite")]
    public async Task Cancelled_backup_leaves_nothing_visible_and_no_objects()
    {
        using var scope = new ServiceScope();
        var sourcePath = Path.Combine(scope.Root, "big.db");
        await TestDatabases_Sqlite.ExecuteAsync(sourcePath,
            "CREATE TABLE t(id INTEGER PRIMARY KEY, v BLOB); WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM s WHERE i < 60000) INSERT INTO t SELECT i, randomblob(2000) FROM s;");
        using var cts = new CancellationTokenSource();
        // Progress<T> runs handlers on the thread pool, possibly after the test has disposed cts: cancel exactly once.
        var cancelled = 0;
        var events = new Progress<EngineEvent>(e => { if (e is ProgressEvent { Bytes: > 4_000_000 } && Interlocked.Exchange(ref cancelled, 1) == 0) cts.Cancel(); });

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => scope.Service.BackupAsync(new BackupRequest
        {
            Source = new ConnectionOptions { Engine = DatabaseEngine.Sqlite, Database = sourcePath }, Repository = scope.Repository, VolumeSize = 8 << 20,
        }, events, cts.Token));

        Assert.Empty(await scope.FreshService().GetHistoryAsync(new HistoryQuery { Repository = scope.Repository, Refresh = true }, null, None));
        Assert.Empty(Directory.Exists(scope.Repository) ? Directory.GetFiles(scope.Repository, "*", SearchOption.AllDirectories) : Array.Empty<string>());
    }

    [Fact]
    [Trait("Engine", "Sqlite")]
    public async Task A_fresh_catalog_rebuilt_from_the_repository_finds_the_backup_and_restores_it()
    {
        using var scope = new ServiceScope();
        var sourcePath = Path.Combine(scope.Root, "shop.db");
        await Fixtures.CreateSqliteAsync(sourcePath);
        var record = await scope.Service.BackupAsync(new BackupRequest { Source = new ConnectionOptions { Engine = DatabaseEngine.Sqlite, Database = sourcePath }, Repository = scope.Repository }, null, None);

        var fresh = scope.FreshService();
        var history = await fresh.GetHistoryAsync(new HistoryQuery { Repository = scope.Repository, Refresh = true, Database = "sho*" }, null, None);
        var found = Assert.Single(history);
        Assert.Equal(record.BackupId, found.BackupId);
        Assert.Equal(record.PlaintextSha256, found.PlaintextSha256);

        var targetPath = Path.Combine(scope.Root, "shop_copy.db");
        var result = await fresh.RestoreAsync(new RestoreRequest { Repository = found.Repository, BackupId = found.BackupId, Target = new ConnectionOptions { Engine = DatabaseEngine.Sqlite, Database = targetPath } }, null, None);

        Assert.Equal(RestoreMethod.StagingSwap, result.Method);
        DumpComparer.AssertEquivalent(DatabaseEngine.Sqlite, await NativeDumps.SqliteAsync(sourcePath), await NativeDumps.SqliteAsync(targetPath), minimumLines: 10);
        var verification = await fresh.VerifyAsync(new VerifyRequest { Repository = scope.Repository, BackupId = record.BackupId }, null, None);
        Assert.True(verification.IsValid);
        Assert.Equal(record.FrameCount, verification.FramesChecked);
    }
}

internal static class TestDatabases_Sqlite
{
    public static async Task ExecuteAsync(string path, string sql)
        => (await ToolRunner.RunAsync("sqlite3", ["-bail", path], null, sql, CancellationToken.None)).EnsureSuccess("sqlite3");
}
