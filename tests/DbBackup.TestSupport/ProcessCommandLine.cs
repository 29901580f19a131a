namespace DbBackup.TestSupport;

/// <summary>
/// A child's argv as the kernel shows it (<c>/proc/&lt;pid&gt;/cmdline</c>, NULs as spaces), for "no secret in argv"
/// checks. Process.Start returns once the child's execve has closed its close-on-exec pipe, which the kernel does before
/// it has set up the new argument area: an immediate read is then empty (77 of 1200 in a probe program), and a check
/// would pass without looking. So an empty read of a live child is repeated; a child that already exited (a zombie, or
/// gone) reads empty.
/// </summary>
public static class ProcessCommandLine
{
    public static string Read(int pid, TimeSpan wait)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (true)
        {
            try
            {
                var text = File.ReadAllText($"/proc/{pid}/cmdline");
                if (text.Length > 0) return text.Replace('\0', ' ');
                var stat = File.ReadAllText($"/proc/{pid}/stat");
                var state = stat[(stat.LastIndexOf(')') + 2)..].Split(' ')[0];
                if (state is "Z" or "X" || clock.Elapsed > wait) return "";
            }
            catch (IOException)
            {
                return ""; // gone (FileNotFoundException/DirectoryNotFoundException are IOExceptions)
            }
            Thread.Sleep(1);
        }
    }
}
