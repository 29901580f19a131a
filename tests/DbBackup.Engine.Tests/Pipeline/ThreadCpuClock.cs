using System.Runtime.InteropServices;

namespace DbBackup.Engine.Tests.Pipeline;

/// <summary>
/// CPU time consumed by the calling thread (Linux <c>clock_gettime(CLOCK_THREAD_CPUTIME_ID)</c>). A throughput bound
/// "on one core" is measured against this, not the wall clock: on a loaded CI machine the test thread waits for a core
/// while the other test assemblies run, and wall time would measure that wait rather than the code.
/// </summary>
internal static partial class ThreadCpuClock
{
    private const int ClockThreadCpuTimeId = 3;

    [StructLayout(LayoutKind.Sequential)]
    private struct TimeSpec
    {
        public long Seconds;
        public long Nanoseconds;
    }

    public static TimeSpan Now()
    {
        if (ClockGetTime(ClockThreadCpuTimeId, out var t) != 0)
        {
            throw new InvalidOperationException($"clock_gettime(CLOCK_THREAD_CPUTIME_ID) failed with errno {Marshal.GetLastPInvokeError()}");
        }
        return TimeSpan.FromSeconds(t.Seconds) + TimeSpan.FromTicks(t.Nanoseconds / 100);
    }

    [LibraryImport("libc", EntryPoint = "clock_gettime", SetLastError = true)]
    private static partial int ClockGetTime(int clockId, out TimeSpec time);
}
