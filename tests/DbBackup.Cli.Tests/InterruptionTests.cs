using System.Diagnostics;
using DbBackup.Cli.Tests.Support;
using DbBackup.TestSupport;
using Xunit;

namespace DbBackup.Cli.Tests;

/// <summary>A ~300 MB SQLite database of random blobs: big enough that a backup is still writing volumes when interrupted.</summary>
public sealed class BigSqliteDatabase : IAsyncLifetime
{
    public string Directory { get; } = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "dbbackup-cli-tests", "big-" + Guid.NewGuid().ToString("N")[..8]);
    public string Path => System.IO.Path.Combine(Directory, "big.db");

    public async Task InitializeAsync()
    {
        System.IO.Directory.CreateDirectory(Directory);
        (await ToolRunner.RunAsync("sqlite3", [Path,
            "PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF; CREATE TABLE big(id INTEGER PRIMARY KEY, payload BLOB); "
            + "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM n WHERE i < 75000) INSERT INTO big SELECT i, randomblob(4000) FROM n;"]))
            .EnsureSuccess("sqlite3 (big database)");
    }

    public Task DisposeAsync()
    {
        System.IO.Directory.Delete(Directory, recursive: true);
        return Task.CompletedTask;
    }
}

/// <summary>
/// A backup interrupted by SIGKILL or Ctrl+C (SIGINT) never becomes visible: no manifest, so no backup in
/// <c>history --refresh</c>; a cancelled one cleans up after itself, a killed one is removed by the engine's guarded sweep.
/// </summary>
[Trait("Engine", "Sqlite")]
public sealed class InterruptionTests(BigSqliteDatabase big) : IClassFixture<BigSqliteDatabase>, IDisposable
{
    private readonly Workspace _workspace = new();

    public void Dispose() => _workspace.Dispose();

    private string[] BackupArgs() => ["backup", "--engine", "sqlite", "--database", big.Path, "--repository", _workspace.Repository,
        "--volume-size", "8MiB", "--output", "json"];

    /// <summary>
    /// A backup that is still running seconds after its first volume bytes: zstd level 19 on random blobs runs at a few
    /// MB/s, so a signal that reaches a loaded machine late still lands mid-backup (at level 1 the whole 300 MB took
    /// under a second once the first bytes appeared, and a late SIGINT found the backup already committed).
    /// </summary>
    private string[] SlowBackupArgs() => [.. BackupArgs(), "--compression-level", "19"];

    /// <summary>Starts a backup and returns once it has written at least 1 MiB into the repository (still running).</summary>
    private async Task<CliProcess> StartAndWaitForVolumesAsync()
    {
        var child = _workspace.Cli.Start(SlowBackupArgs(), defaultSigint: true);
        child.Process.StandardInput.Close();
        var clock = Stopwatch.StartNew();
        while (RepositoryBytes() < 1 << 20)
        {
            if (child.Process.HasExited)
            {
                var run = await child.WaitAsync(TimeSpan.FromSeconds(5));
                throw new Xunit.Sdk.XunitException($"the backup ended before it could be interrupted (make the database bigger): {run}");
            }
            if (clock.Elapsed > TimeSpan.FromSeconds(60))
            {
                throw new TimeoutException("the backup wrote nothing into the repository within 60 s");
            }
            await Task.Delay(10);
        }
        return child;
    }

    private long RepositoryBytes()
    {
        try
        {
            return System.IO.Directory.Exists(_workspace.Repository)
                ? System.IO.Directory.EnumerateFiles(_workspace.Repository, "*", SearchOption.AllDirectories).Sum(f => new FileInfo(f).Length)
                : 0;
        }
        catch (IOException)
        {
            return 0; // a temp file renamed or deleted while we looked
        }
    }

    [Fact]
    public async Task Sigkill_mid_backup_leaves_nothing_visible_and_the_sweep_removes_leftovers()
    {
        await using (var child = await StartAndWaitForVolumesAsync())
        {
            child.Process.Kill(); // SIGKILL: no chance to clean up
            await child.Process.WaitForExitAsync();
        }
        var leftovers = _workspace.RepositoryFiles();
        Assert.NotEmpty(leftovers); // the kill really happened mid-write

        Assert.Empty(await Steps.HistoryFreshAsync(_workspace));
        var verify = await _workspace.Cli.RunAsync(["verify", "--repository", _workspace.Repository, "--catalog", _workspace.FreshCatalog()]);
        Steps.AssertFailed(verify, 4, "BackupNotFound");

        // A later successful backup runs the guarded sweep: what the killed run wrote disappears, the new backup stays.
        var record = (await _workspace.Cli.RunAsync(BackupArgs())).EnsureSuccess().Json();
        var id = record.Str("backupId");
        var history = await Steps.HistoryFreshAsync(_workspace);
        Assert.Equal(id, Assert.Single(history).Str("backupId"));

        var backupDir = Path.GetRelativePath(_workspace.Repository, _workspace.BackupDirectory(id)) + Path.DirectorySeparatorChar;
        var remaining = _workspace.RepositoryFiles().Where(f => !f.StartsWith(backupDir, StringComparison.Ordinal)).ToList();
        var killedRunFiles = remaining.Intersect(leftovers).ToList();
        Assert.True(killedRunFiles.Count == 0 || killedRunFiles.All(IsRepositoryMetadata),
            "left over from the killed backup after the sweep: " + string.Join(", ", killedRunFiles));
        await Steps.VerifyValidAsync(_workspace, id);
    }

    /// <summary>Files a repository keeps outside any backup (its own settings/keys), not data of the killed run.</summary>
    private static bool IsRepositoryMetadata(string relativePath) => !relativePath.Contains(Path.DirectorySeparatorChar, StringComparison.Ordinal);

    [Fact]
    public async Task Sigint_cancels_with_exit_130_and_leaves_nothing()
    {
        CliRun run;
        await using (var child = await StartAndWaitForVolumesAsync())
        {
            Signals.Send(child.Id, "INT");
            run = await child.WaitAsync(TimeSpan.FromSeconds(60));
        }
        Assert.True(run.ExitCode == 130, run.ToString());
        Assert.StartsWith("dbbackup: error OperationCancelled: ", Assert.Single(run.ErrorLines));
        Assert.Equal("", run.StandardOutput);

        Assert.Empty(await Steps.HistoryFreshAsync(_workspace));
        var files = _workspace.RepositoryFiles().Where(f => !IsRepositoryMetadata(f)).ToList();
        Assert.True(files.Count == 0, "a cancelled backup left files behind: " + string.Join(", ", files));
    }

    [Fact]
    public async Task Sigterm_cancels_like_ctrl_c()
    {
        CliRun run;
        await using (var child = await StartAndWaitForVolumesAsync())
        {
            Signals.Send(child.Id, "TERM");
            run = await child.WaitAsync(TimeSpan.FromSeconds(60));
        }
        Assert.True(run.ExitCode == 130, run.ToString());
        Assert.Empty(await Steps.HistoryFreshAsync(_workspace));
    }
}
