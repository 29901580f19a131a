using DbBackup.Engine.Connectors;
using DbBackup.Engine.Errors;
using DbBackup.Engine.Pipeline;
using DbBackup.Engine.Repository;
using DbBackup.TestSupport;
using Xunit;

namespace DbBackup.Engine.Tests.EndToEnd;

/// <summary>
/// Copies of a backup into further repositories ("local, then cloud"), local to local here (the cloud adapters run the
/// same operation): verified copies, resume after an interruption, a damaged source, a foreign repository key, and one
/// failing target beside a good one. Real SQLite databases through the real engine.
/// </summary>
[Trait("Engine", "Sqlite")]
public sealed class CopyTests
{
    private static readonly CancellationToken None = CancellationToken.None;

    private sealed class SyncProgress(Action<EngineEvent> onEvent) : IProgress<EngineEvent>
    {
        public void Report(EngineEvent value) => onEvent(value);
    }

    /// <summary>A ~3 MB incompressible SQLite database backed up in 1 MiB volumes (several volumes).</summary>
    private static async Task<BackupRecord> BackupAsync(ServiceScope scope, string name = "source.db", EncryptionOptions? encryption = null, string? repository = null)
    {
        var path = Path.Combine(scope.Root, name);
        await TestDatabases_Sqlite.ExecuteAsync(path,
            "CREATE TABLE t(id INTEGER PRIMARY KEY, v BLOB); WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM s WHERE i < 1500) INSERT INTO t SELECT i, randomblob(2000) FROM s;");
        var record = await scope.Service.BackupAsync(new BackupRequest
        {
            Source = Sqlite(path), Repository = repository ?? scope.Repository, VolumeSize = 1 << 20, Encryption = encryption,
            Compression = CompressionCodec.Gzip,
        }, null, None);
        Assert.True(record.VolumeCount >= 3, $"the test needs several volumes, got {record.VolumeCount}");
        return record;
    }

    private static ConnectionOptions Sqlite(string path) => new() { Engine = DatabaseEngine.Sqlite, Database = path };

    private static string Target(ServiceScope scope, string name) => Path.Combine(scope.Root, name);

    private static bool HasManifest(string repository, BackupRecord record)
        => File.Exists(Path.Combine(repository, BackupRepository.FolderOf(record.Database), record.BackupId, BackupRepository.ManifestName));

    private static async Task<long> RestoredRowCountAsync(ServiceScope scope, DbBackupService service, string repository, BackupRecord record, EncryptionOptions? encryption = null)
    {
        var restored = Path.Combine(scope.Root, "restored-" + Guid.NewGuid().ToString("N")[..6] + ".db");
        await service.RestoreAsync(new RestoreRequest { Repository = repository, BackupId = record.BackupId, Target = Sqlite(restored), Encryption = encryption }, null, None);
        var run = await ToolRunner.RunAsync("sqlite3", [restored, "SELECT count(*) FROM t;"], null, null, None);
        run.EnsureSuccess("sqlite3");
        return long.Parse(run.StandardOutput.Trim(), System.Globalization.CultureInfo.InvariantCulture);
    }

    [Fact]
    public async Task A_copy_is_verified_in_its_target_and_restores_on_a_machine_that_never_saw_the_source()
    {
        using var scope = new ServiceScope();
        var record = await BackupAsync(scope);
        var target = Target(scope, "copy");

        var results = await scope.Service.CopyAsync(new CopyRequest { Source = scope.Repository, Targets = [target], BackupId = record.BackupId }, null, None);

        var result = Assert.Single(results);
        Assert.True(result.Succeeded, result.Message);
        Assert.True(result.Verified);
        Assert.Equal(record.VolumeCount + 1, result.ObjectsCopied); // volumes + frame index (the manifest is the commit)
        Assert.Equal(0, result.ObjectsSkipped);
        Assert.Equal(record.StoredSize, result.BytesCopied - new FileInfo(Path.Combine(target, BackupRepository.FolderOf(record.Database), record.BackupId, "index")).Length);
        Assert.False(File.Exists(Path.Combine(target, BackupRepository.FolderOf(record.Database), record.BackupId, BackupRepository.LeaseName)));
        Assert.Contains(scope.Service.Catalog.Query(new HistoryQuery { Repository = result.Target }), r => r.BackupId == record.BackupId);

        var fresh = scope.FreshService();
        var history = await fresh.GetHistoryAsync(new HistoryQuery { Repository = target, Refresh = true }, null, None);
        Assert.Equal(record.BackupId, Assert.Single(history).BackupId);
        Assert.Equal(1500, await RestoredRowCountAsync(scope, fresh, target, record));
    }

    [Fact]
    public async Task Backup_to_several_targets_writes_once_and_copies_to_each_further_repository()
    {
        using var scope = new ServiceScope();
        var path = Path.Combine(scope.Root, "multi.db");
        await TestDatabases_Sqlite.ExecuteAsync(path, "CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT); INSERT INTO t VALUES (1, 'one'), (2, 'two');");
        var (b, c) = (Target(scope, "b"), Target(scope, "c"));

        var outcome = await scope.Service.BackupToTargetsAsync(new BackupRequest { Source = Sqlite(path), Repository = scope.Repository }, [b, c], null, None);

        Assert.True(outcome.AllSucceeded);
        Assert.Equal([Path.GetFullPath(b), Path.GetFullPath(c)], outcome.Copies.Select(x => x.Target));
        Assert.All(outcome.Copies, x => Assert.True(x.Verified));
        foreach (var repository in new[] { scope.Repository, b, c })
        {
            Assert.True(HasManifest(repository, outcome.Backup), repository);
            var verification = await scope.Service.VerifyAsync(new VerifyRequest { Repository = repository, BackupId = outcome.Backup.BackupId }, null, None);
            Assert.True(verification.IsValid, repository);
        }
    }

    [Fact]
    public async Task An_interrupted_copy_leaves_nothing_visible_and_resumes_from_the_last_complete_volume()
    {
        using var scope = new ServiceScope();
        var record = await BackupAsync(scope);
        var target = Target(scope, "resume");
        using var cts = new CancellationTokenSource();
        var progress = new SyncProgress(e =>
        {
            if (e is MessageEvent { Message: var text } && text.StartsWith("Volume data.000002", StringComparison.Ordinal)) cts.Cancel();
        });

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() =>
            scope.Service.CopyAsync(new CopyRequest { Source = scope.Repository, Targets = [target], BackupId = record.BackupId }, progress, cts.Token));
        Assert.False(HasManifest(target, record));
        Assert.Empty(await scope.FreshService().GetHistoryAsync(new HistoryQuery { Repository = target, Refresh = true }, null, None));

        var result = Assert.Single(await scope.Service.CopyAsync(new CopyRequest { Source = scope.Repository, Targets = [target], BackupId = record.BackupId }, null, None));
        Assert.True(result.Succeeded, result.Message);
        Assert.Equal(2, result.ObjectsSkipped); // data.000001 and data.000002 were complete
        Assert.Equal(record.VolumeCount - 2 + 1, result.ObjectsCopied);
        Assert.True((await scope.Service.VerifyAsync(new VerifyRequest { Repository = target, BackupId = record.BackupId }, null, None)).IsValid);

        var again = Assert.Single(await scope.Service.CopyAsync(new CopyRequest { Source = scope.Repository, Targets = [target], BackupId = record.BackupId }, null, None));
        Assert.True(again.Succeeded);
        Assert.Equal(0, again.ObjectsCopied); // already there: nothing sent again
    }

    [Fact]
    public async Task A_damaged_source_volume_is_detected_and_nothing_is_visible_in_the_target()
    {
        using var scope = new ServiceScope();
        var record = await BackupAsync(scope);
        scope.FlipBitInFirstVolume(record);
        var target = Target(scope, "from-damaged");

        var result = Assert.Single(await scope.Service.CopyAsync(new CopyRequest { Source = scope.Repository, Targets = [target], BackupId = record.BackupId }, null, None));

        Assert.False(result.Succeeded);
        Assert.False(result.Verified);
        Assert.Equal(ErrorIds.BackupCorrupted, result.ErrorId);
        Assert.Contains("data.000001", result.Message, StringComparison.Ordinal);
        Assert.False(HasManifest(target, record));
        Assert.Empty(Directory.Exists(target) ? Directory.GetFiles(target, "data.*", SearchOption.AllDirectories) : []);
    }

    [Fact]
    public async Task An_encrypted_backup_brings_its_repository_key_and_a_target_with_another_key_is_refused()
    {
        using var scope = new ServiceScope();
        var keyFile = Path.Combine(scope.Root, "backup.key");
        await File.WriteAllBytesAsync(keyFile, System.Security.Cryptography.RandomNumberGenerator.GetBytes(32));
        var encryption = new EncryptionOptions { KeyFile = keyFile };
        var record = await BackupAsync(scope, encryption: encryption);

        // A new target receives the source's repository key, and the copy restores with the same key file.
        var fresh = Target(scope, "fresh");
        var copied = Assert.Single(await scope.Service.CopyAsync(new CopyRequest { Source = scope.Repository, Targets = [fresh], BackupId = record.BackupId }, null, None));
        Assert.True(copied.Succeeded, copied.Message);
        Assert.Equal(await File.ReadAllBytesAsync(Path.Combine(scope.Repository, BackupRepository.KeyFileName)), await File.ReadAllBytesAsync(Path.Combine(fresh, BackupRepository.KeyFileName)));
        Assert.Equal(1500, await RestoredRowCountAsync(scope, scope.FreshService(), fresh, record, encryption));

        // A repository that made its own key (even under the same key file) holds a different key.
        var foreign = Target(scope, "foreign");
        await BackupAsync(scope, "other.db", encryption, foreign);
        var foreignKey = await File.ReadAllBytesAsync(Path.Combine(foreign, BackupRepository.KeyFileName));
        foreach (var given in new[] { null, encryption })
        {
            var refused = Assert.Single(await scope.Service.CopyAsync(new CopyRequest { Source = scope.Repository, Targets = [foreign], BackupId = record.BackupId, Encryption = given }, null, None));
            Assert.False(refused.Succeeded);
            Assert.Equal(ErrorIds.RepositoryKeyMismatch, refused.ErrorId);
            Assert.Contains(Path.GetFullPath(foreign), refused.Message, StringComparison.Ordinal);
            Assert.False(HasManifest(foreign, record));
            Assert.False(Directory.Exists(Path.Combine(foreign, BackupRepository.FolderOf(record.Database), record.BackupId)));
            Assert.Equal(foreignKey, await File.ReadAllBytesAsync(Path.Combine(foreign, BackupRepository.KeyFileName)));
        }
    }

    [Fact]
    public async Task One_failing_target_is_reported_and_the_others_still_get_their_copy()
    {
        using var scope = new ServiceScope();
        var record = await BackupAsync(scope);
        var unwritable = Target(scope, "not-a-folder");
        await File.WriteAllTextAsync(unwritable, "a file where the repository folder should be");
        var good = Target(scope, "good");

        var results = await scope.Service.CopyAsync(new CopyRequest { Source = scope.Repository, Targets = [unwritable, good], BackupId = record.BackupId }, null, None);

        Assert.Equal(2, results.Count);
        Assert.False(results[0].Succeeded);
        Assert.NotNull(results[0].ErrorId);
        Assert.False(string.IsNullOrWhiteSpace(results[0].Message));
        Assert.True(results[1].Succeeded, results[1].Message);
        Assert.True(HasManifest(good, record));
        Assert.Equal("a file where the repository folder should be", await File.ReadAllTextAsync(unwritable));
    }

    [Fact]
    public async Task Copying_a_backup_that_does_not_exist_fails_before_any_target_is_touched()
    {
        using var scope = new ServiceScope();
        await BackupAsync(scope);
        var target = Target(scope, "never");
        var e = await Assert.ThrowsAsync<BackupNotFoundException>(() =>
            scope.Service.CopyAsync(new CopyRequest { Source = scope.Repository, Targets = [target], BackupId = "20200101T000000Z-000000" }, null, None));
        Assert.Equal(ErrorIds.BackupNotFound, e.ErrorId);
        Assert.False(Directory.Exists(target));
    }

    [Fact]
    public async Task Without_verification_the_copy_is_reported_as_not_verified()
    {
        using var scope = new ServiceScope();
        var record = await BackupAsync(scope);
        var result = Assert.Single(await scope.Service.CopyAsync(new CopyRequest { Source = scope.Repository, Targets = [Target(scope, "nv")], BackupId = record.BackupId, Verify = false }, null, None));
        Assert.True(result.Succeeded);
        Assert.False(result.Verified);
    }
}
