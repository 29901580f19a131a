using System.Globalization;
using DbBackup.Cli.Tests.Support;
using DbBackup.TestSupport;
using Npgsql;
using Xunit;
using Xunit.Abstractions;

namespace DbBackup.Cli.Tests;

/// <summary>
/// Memory does not grow with database size: a <c>dbbackup backup</c> child backing up a PostgreSQL database whose
/// dump is at least 10x <see cref="BoundBytes"/> keeps its peak resident set (VmHWM) under <see cref="BoundBytes"/>.
/// </summary>
[Trait("Engine", "PostgreSql")]
public sealed class PeakMemoryTests(ITestOutputHelper output) : IDisposable
{
    /// <summary>
    /// The stated bound on the CLI's peak RSS during a backup: .NET runtime + Npgsql + the pipeline's
    /// buffers (frames in flight, up to the chunker's 4 MiB maximum each). Measured here: 131-141 MiB for a 1.7 GB dump, with
    /// 16 MiB and 64 MiB volumes alike (volumes stream to storage). The dump backed up below is at least ten times this.
    /// </summary>
    public const long BoundBytes = 160L << 20;

    private readonly Workspace _workspace = new();
    private readonly string _database = TestDatabases.UniqueName("mem");

    private async Task CreateBigDatabaseAsync()
    {
        await TestDatabases.PgExecuteAsync("postgres", $"CREATE DATABASE \"{_database}\"");
        // Incompressible-ish text (base64 of random bytes) written by the server itself: ~1.7 GiB in well under a minute.
        var randomBytes = BoundBytes * 10 * 3 / 4 + (64L << 20);
        await using var connection = new NpgsqlConnection(TestDatabases.NpgsqlConnectionString(TestDatabases.Postgres(_database)));
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(
            "CREATE TABLE big (line text); "
            + $"COPY big FROM PROGRAM 'head -c {randomBytes.ToString(CultureInfo.InvariantCulture)} /dev/urandom | base64 -w 4000'", connection)
        {
            CommandTimeout = 600,
        };
        await command.ExecuteNonQueryAsync();
    }

    public void Dispose() => _workspace.Dispose();

    [Fact]
    public async Task Peak_rss_of_a_backup_child_stays_under_the_bound_for_ten_times_the_data()
    {
        try
        {
            await CreateBigDatabaseAsync();
            await BackUpAndMeasureAsync();
        }
        finally
        {
            await TestDatabases.DropPostgresAsync(_database);
        }
    }

    private async Task BackUpAndMeasureAsync()
    {
        long peak = 0;
        CliRun run;
        await using (var child = _workspace.Cli.Start(
            ["backup", .. Servers.PgArgs(_database), "--repository", _workspace.Repository, "--volume-size", "16MiB", "--output", "json"],
            Servers.PgEnv()))
        {
            child.Process.StandardInput.Close();
            var status = $"/proc/{child.Id}/status";
            var wait = child.WaitAsync(TimeSpan.FromMinutes(4));
            // VmHWM only grows, so the last value read before the process exits is its peak up to that moment.
            while (!wait.IsCompleted)
            {
                if (ReadVmHwm(status) is { } hwm)
                {
                    peak = Math.Max(peak, hwm);
                }
                await Task.WhenAny(wait, Task.Delay(20));
            }
            run = await wait;
        }
        var record = run.EnsureSuccess().Json();
        var size = record.Long("size");
        output.WriteLine($"dump {size >> 20} MiB, stored {record.Long("storedSize") >> 20} MiB, peak RSS {peak >> 20} MiB, bound {BoundBytes >> 20} MiB");

        Assert.True(size >= 10 * BoundBytes, $"the dump ({size >> 20} MiB) must be at least 10x the bound ({BoundBytes >> 20} MiB)");
        Assert.True(peak > 0, "VmHWM was never read");
        Assert.True(peak < BoundBytes, $"peak RSS {peak >> 20} MiB exceeds the bound {BoundBytes >> 20} MiB");
    }

    private static long? ReadVmHwm(string statusPath)
    {
        try
        {
            foreach (var line in File.ReadLines(statusPath))
            {
                if (line.StartsWith("VmHWM:", StringComparison.Ordinal))
                {
                    var kb = long.Parse(line["VmHWM:".Length..].Trim().Split(' ')[0], CultureInfo.InvariantCulture);
                    return kb * 1024;
                }
            }
        }
        catch (IOException)
        {
            // the process has exited
        }
        catch (UnauthorizedAccessException)
        {
            // the process has exited
        }
        return null;
    }
}
