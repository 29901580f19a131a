using System.Diagnostics;
using System.Text;
using System.Text.Json;
using DbBackup.Engine.Repository;
using DbBackup.Engine.Storage;
using Xunit;

namespace DbBackup.Engine.Tests.Repository;

public sealed class RepositorySweepTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("dbbackup-sweep-").FullName;
    private readonly BackupRepository _repository;

    public RepositorySweepTests() => _repository = new BackupRepository(new LocalFileStorage(_root));

    public void Dispose() => Directory.Delete(_root, recursive: true);

    private async Task PutAsync(string key, string content)
        => await _repository.PutAsync(key, Encoding.UTF8.GetBytes(content), CancellationToken.None);

    private Task PutLeaseAsync(string backupId, BackupLease lease)
        => PutAsync($"shop/{backupId}/{BackupRepository.LeaseName}", JsonSerializer.Serialize(lease, BackupManifest.JsonOptions));

    /// <summary>A process that has exited: its pid is dead (or reused by a process with another start time).</summary>
    private static async Task<(int Id, DateTimeOffset? Start)> ExitedProcessAsync()
    {
        // sleep keeps the child alive long enough to read its start time before it exits.
        using var child = Process.Start(new ProcessStartInfo("sleep", "0.2") { UseShellExecute = false })!;
        var start = new DateTimeOffset(child.StartTime.ToUniversalTime());
        await child.WaitForExitAsync();
        return (child.Id, start);
    }

    [Fact]
    public async Task Sweep_removes_a_backup_whose_writer_process_is_gone()
    {
        // A real process that has exited: its pid is dead (or reused with another start time).
        var (childId, startTime) = await ExitedProcessAsync();
        await PutAsync("shop/20260101T000000Z-aaaaaa/data.000001", "partial");
        await PutLeaseAsync("20260101T000000Z-aaaaaa", new BackupLease(Environment.MachineName, childId, startTime, DateTimeOffset.UtcNow));

        var removed = await _repository.SweepAsync("shop", CancellationToken.None);

        Assert.Equal(["20260101T000000Z-aaaaaa"], removed);
        Assert.False(Directory.Exists(Path.Combine(_root, "shop", "20260101T000000Z-aaaaaa")));
    }

    [Fact]
    public async Task Sweep_also_removes_temporary_files_of_writes_the_dead_process_never_committed()
    {
        var (childId, startTime) = await ExitedProcessAsync();
        await PutLeaseAsync("20260101T000000Z-abcdef", new BackupLease(Environment.MachineName, childId, startTime, DateTimeOffset.UtcNow));
        var pending = await _repository.Storage.OpenWriteAsync("shop/20260101T000000Z-abcdef/data.000001", CancellationToken.None);
        await pending.Stream.WriteAsync(new byte[1000]);
        await pending.Stream.FlushAsync(); // the writer "dies" here: never committed, never disposed

        Assert.Equal(["20260101T000000Z-abcdef"], await _repository.SweepAsync("shop", CancellationToken.None));
        await pending.DisposeAsync();
        Assert.False(Directory.Exists(Path.Combine(_root, "shop")));
    }

    [Fact]
    public async Task Sweep_never_touches_a_backup_still_being_written()
    {
        await PutAsync("shop/20260101T000000Z-bbbbbb/data.000001", "in progress");
        await _repository.WriteLeaseAsync("shop", "20260101T000000Z-bbbbbb", CancellationToken.None); // this live process

        var removed = await _repository.SweepAsync("shop", CancellationToken.None);

        Assert.Empty(removed);
        Assert.True(File.Exists(Path.Combine(_root, "shop", "20260101T000000Z-bbbbbb", "data.000001")));
    }

    [Fact]
    public async Task Sweep_keeps_committed_backups_and_recent_unleased_folders()
    {
        await PutAsync("shop/20260101T000000Z-cccccc/data.000001", "data");
        await PutAsync("shop/20260101T000000Z-cccccc/manifest.json", "{}");
        await PutAsync("shop/20260101T000000Z-dddddd/data.000001", "fresh, no lease yet");

        var removed = await _repository.SweepAsync("shop", CancellationToken.None);

        Assert.Empty(removed);
    }

    [Fact]
    public async Task Sweep_removes_old_unleased_leftovers()
    {
        await PutAsync("shop/20260101T000000Z-eeeeee/data.000001", "old");
        File.SetLastWriteTimeUtc(Path.Combine(_root, "shop", "20260101T000000Z-eeeeee", "data.000001"), DateTime.UtcNow - BackupRepository.ForeignLeaseLifetime - TimeSpan.FromMinutes(1));

        var removed = await _repository.SweepAsync("shop", CancellationToken.None);

        Assert.Equal(["20260101T000000Z-eeeeee"], removed);
    }

    [Fact]
    public async Task Sweep_respects_a_recent_lease_from_another_host()
    {
        await PutAsync("shop/20260101T000000Z-ffffff/data.000001", "remote writer");
        await PutLeaseAsync("20260101T000000Z-ffffff", new BackupLease("some-other-host", 1, null, DateTimeOffset.UtcNow));

        Assert.Empty(await _repository.SweepAsync("shop", CancellationToken.None));
    }

    [Fact]
    public async Task Listing_sees_only_committed_backups_and_ignores_temporary_objects()
    {
        await PutAsync("shop/20260101T000000Z-111111/manifest.json", "{}");
        await PutAsync("shop/20260101T000000Z-222222/data.000001", "uncommitted");
        await using (var writer = await _repository.Storage.OpenWriteAsync("shop/20260101T000000Z-333333/manifest.json", CancellationToken.None))
        {
            await writer.Stream.WriteAsync("{}"u8.ToArray());
            // not committed: disposed without CommitAsync
        }

        var found = new List<(string, string)>();
        await foreach (var b in _repository.ListBackupsAsync(null, CancellationToken.None)) found.Add(b);

        Assert.Equal([("shop", "20260101T000000Z-111111")], found);
        Assert.Empty(Directory.EnumerateFiles(_root, "*dbbackup-tmp*", SearchOption.AllDirectories));
    }

    [Fact]
    public void Database_names_become_one_safe_folder()
    {
        Assert.Equal("a%2F..%2Fb", BackupRepository.FolderOf("a/../b"));
        Assert.Equal("shop", BackupRepository.FolderOf("shop"));
    }

    [Fact]
    public void A_damaged_manifest_is_reported_as_corrupted()
    {
        var e = Assert.Throws<Errors.BackupIntegrityException>(() => BackupRepository.ParseManifest("{\"manifest\": {\"backupId\": 1"u8.ToArray(), "shop/x/manifest.json"));
        Assert.Equal(Errors.ErrorIds.BackupCorrupted, e.ErrorId);
    }
}
