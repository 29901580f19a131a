using System.Diagnostics;
using System.Globalization;

namespace DbBackup.Engine;

/// <summary>
/// Opt-in phase timing for performance work: with <c>DBBACKUP_TRACE_TIMING=1</c> the engine writes one stderr line per
/// phase (milliseconds since the process started, this process's CPU time excluding child tools) and, after a backup,
/// the time each pipeline stage spent. Off by default; when off, every call is a field read.
/// </summary>
internal static class TimingTrace
{
    public static readonly bool Enabled = Environment.GetEnvironmentVariable("DBBACKUP_TRACE_TIMING") == "1";

    /// <summary>Pipeline stage accumulators (Stopwatch ticks), indexed by <see cref="Stage"/>.</summary>
    private static readonly long[] Stages = new long[(int)Stage.Count];

    private static readonly Lazy<DateTime> ProcessStart = new(() =>
    {
        using var self = Process.GetCurrentProcess();
        return self.StartTime;
    });

    public enum Stage
    {
        PipeRead,
        PipelineWrite,
        Chunking,
        ProducerWait,
        ChunkId,
        Compress,
        StoredHash,
        VolumeWrite,
        SinkHashes,
        Count,
    }

    private static long _reads;
    private static long _readBytes;

    /// <summary>Counts one read of a tool's output (to see the average read size).</summary>
    public static void CountRead(int bytes)
    {
        if (!Enabled) return;
        Interlocked.Increment(ref _reads);
        Interlocked.Add(ref _readBytes, bytes);
    }

    public static long Start() => Enabled ? Stopwatch.GetTimestamp() : 0;

    public static void Add(Stage stage, long started)
    {
        if (Enabled) Interlocked.Add(ref Stages[(int)stage], Stopwatch.GetTimestamp() - started);
    }

    public static void Mark(string phase)
    {
        if (!Enabled) return;
        using var self = Process.GetCurrentProcess();
        var since = (DateTime.Now - ProcessStart.Value).TotalMilliseconds;
        Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"dbbackup timing: {since,7:F0} ms  cpu {self.TotalProcessorTime.TotalMilliseconds,6:F0} ms (user {self.UserProcessorTime.TotalMilliseconds:F0})  {phase}"));
    }

    /// <summary>Writes and resets the stage totals (summed over threads, so parallel stages may exceed wall time).</summary>
    public static void ReportStages()
    {
        if (!Enabled) return;
        for (var i = 0; i < (int)Stage.Count; i++)
        {
            var ticks = Interlocked.Exchange(ref Stages[i], 0);
            Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"dbbackup timing:   stage {(Stage)i,-14} {ticks * 1000.0 / Stopwatch.Frequency,7:F0} ms"));
        }
        var reads = Interlocked.Exchange(ref _reads, 0);
        var readBytes = Interlocked.Exchange(ref _readBytes, 0);
        Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"dbbackup timing:   tool output: {reads} reads, {(reads == 0 ? 0 : readBytes / reads / 1024)} KiB on average"));
        Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"dbbackup timing:   gc {GC.CollectionCount(0)}/{GC.CollectionCount(1)}/{GC.CollectionCount(2)} collections, {GC.GetTotalAllocatedBytes() / 1024 / 1024} MB allocated, pause {GC.GetTotalPauseDuration().TotalMilliseconds:F0} ms"));
    }
}
