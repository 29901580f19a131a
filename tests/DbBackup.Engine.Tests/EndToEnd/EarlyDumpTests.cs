using System.Collections.Concurrent;
using System.Diagnostics;
using DbBackup.Engine.Backup;
using DbBackup.Engine.Connectors;
using DbBackup.Engine.Connectors.PostgreSql;
using DbBackup.Engine.Errors;
using DbBackup.TestSupport;
using Xunit;

namespace DbBackup.Engine.Tests.EndToEnd;

/// <summary>
/// A PostgreSQL backup starts pg_dump beside describing the source (its output waits for the pipeline): a failure
/// before the pipeline is attached still reports the description's error, stops pg_dump and writes nothing.
/// </summary>
public sealed class EarlyDumpTests
{
    [Fact]
    [Trait("Engine", "PostgreSql")]
    public async Task Backup_of_a_missing_database_reports_it_stops_the_early_pg_dump_and_writes_nothing()
    {
        using var scope = new ServiceScope();
        var missing = TestDatabases.UniqueName("missing");
        var started = new ConcurrentQueue<StartedTool>();
        void OnStarted(StartedTool tool)
        {
            try
            {
                if (File.ReadAllText($"/proc/{tool.ProcessId}/cmdline").Contains(missing, StringComparison.Ordinal)) started.Enqueue(tool);
            }
            catch (IOException)
            {
                // Exited already (another test's short-lived child): not this test's pg_dump, which runs until stopped.
            }
        }
        ToolProcess.Started += OnStarted;
        try
        {
            var e = await Assert.ThrowsAsync<ConnectionFailedException>(() => scope.Service.BackupAsync(
                new BackupRequest { Source = TestDatabases.Postgres(missing), Repository = scope.Repository }, null, CancellationToken.None));
            Assert.Equal(ErrorIds.DatabaseNotFound, e.ErrorId);
        }
        finally
        {
            ToolProcess.Started -= OnStarted;
        }

        // pg_dump normally starts before the connection fails (it is not started at all when the failure comes first).
        var dumps = started.Where(t => Path.GetFileName(t.ToolPath) == "pg_dump").ToList();
        Assert.True(dumps.Count <= 1, $"{dumps.Count} pg_dump children for one backup");
        Assert.All(dumps, d => Assert.False(IsRunning(d.ProcessId), $"pg_dump (pid {d.ProcessId}) still runs after the backup failed"));
        Assert.False(Directory.Exists(Path.Combine(scope.Repository, missing)), "the failed backup wrote into the repository");
    }

    [Fact]
    [Trait("Engine", "PostgreSql")]
    public async Task Backup_failing_after_the_description_stops_the_waiting_pg_dump()
    {
        using var scope = new ServiceScope();
        await using var source = await TestDatabases.CreatePostgresAsync();
        // More than the pipe and the read buffer hold, so pg_dump blocks until the (never attached) pipeline takes it.
        await TestDatabases.PgExecuteAsync(source.Name, "CREATE TABLE t AS SELECT g AS id, md5(g::text) AS v FROM generate_series(1, 200000) g;");
        var blocker = Path.Combine(scope.Root, "not-a-folder");
        await File.WriteAllTextAsync(blocker, "a file where the repository's folder would go");
        var started = new ConcurrentQueue<StartedTool>();
        void OnStarted(StartedTool tool)
        {
            try
            {
                if (File.ReadAllText($"/proc/{tool.ProcessId}/cmdline").Contains(source.Name, StringComparison.Ordinal)) started.Enqueue(tool);
            }
            catch (IOException)
            {
                // Exited already (another test's short-lived child): not this test's pg_dump, which runs until stopped.
            }
        }
        ToolProcess.Started += OnStarted;
        try
        {
            var e = await Assert.ThrowsAnyAsync<DbBackupException>(() => scope.Service.BackupAsync(
                new BackupRequest { Source = source.Options, Repository = Path.Combine(blocker, "repo") }, null, CancellationToken.None));
            Assert.Equal(ErrorIds.StorageError, e.ErrorId);
            Assert.Contains("repository", e.Message, StringComparison.Ordinal);
        }
        finally
        {
            ToolProcess.Started -= OnStarted;
        }

        var dump = Assert.Single(started, t => Path.GetFileName(t.ToolPath) == "pg_dump");
        Assert.False(IsRunning(dump.ProcessId), $"pg_dump (pid {dump.ProcessId}) still runs after the backup failed");
    }

    [Fact]
    [Trait("Engine", "PostgreSql")]
    public async Task Concurrent_version_lookups_of_one_tool_share_one_probe()
    {
        using var tools = new TempDirectory();
        var fake = tools.Script("pg_dump", "sleep 0.3; echo 'pg_dump (PostgreSQL) 15.4'");
        var probes = 0;
        void OnStarted(StartedTool tool)
        {
            if (tool.ToolPath == fake) Interlocked.Increment(ref probes);
        }
        ToolProcess.Started += OnStarted;
        try
        {
            var found = await Task.WhenAll(Enumerable.Range(0, 4).Select(_ => ToolLocator.LocateAsync(PostgreSqlConnector.PgDump, tools.Path, CancellationToken.None)));
            Assert.All(found, t => Assert.Equal(new Version(15, 4), t.Version));
        }
        finally
        {
            ToolProcess.Started -= OnStarted;
        }
        Assert.Equal(1, probes);
    }

    [Fact]
    public async Task Deferred_output_waits_for_the_attached_stream_and_fails_once_abandoned()
    {
        var attached = new DeferredWriteStream();
        var target = new MemoryStream();
        var writing = Task.Run(() => attached.Write([1, 2, 3]));
        await Task.Delay(50);
        Assert.False(writing.IsCompleted);
        attached.Attach(target);
        await writing;
        await attached.WriteAsync(new byte[] { 4 });
        Assert.Equal(new byte[] { 1, 2, 3, 4 }, target.ToArray());

        var abandoned = new DeferredWriteStream();
        var waiting = Task.Run(() => abandoned.Write([1]));
        abandoned.Abandon();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => waiting);
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => abandoned.WriteAsync(new byte[] { 1 }).AsTask());
    }

    private static bool IsRunning(int pid)
    {
        try
        {
            using var process = Process.GetProcessById(pid);
            return !process.HasExited;
        }
        catch (ArgumentException)
        {
            return false;
        }
    }
}
