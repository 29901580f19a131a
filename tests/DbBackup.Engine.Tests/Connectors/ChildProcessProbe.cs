using System.Collections.Concurrent;
using DbBackup.Engine.Connectors;

namespace DbBackup.Engine.Tests.Connectors;

/// <summary>
/// Records the command line (<c>/proc/&lt;pid&gt;/cmdline</c>) of every child the connectors start while it is
/// alive: <see cref="ToolProcess.Started"/> fires before the child's stdout is read, so a dump child is blocked on
/// its full pipe and certainly still running — as long as the test dumps more than the pipe holds (the tool
/// runner enlarges pipes to 1 MiB on Linux), so tests using this probe dump ≥ 10 MB.
/// </summary>
internal sealed class ChildProcessProbe : IDisposable
{
    private readonly ConcurrentQueue<(string Tool, string CommandLine, string? OptionFileMode)> _children = new();

    public ChildProcessProbe() => ToolProcess.Started += OnStarted;

    public IReadOnlyList<(string Tool, string CommandLine, string? OptionFileMode)> Children => _children.ToArray();

    private void OnStarted(StartedTool started)
    {
        var commandLine = ReadCommandLine(started.ProcessId);
        string? mode = null;
        var optionFile = commandLine.Split(' ').FirstOrDefault(a => a.StartsWith("--defaults-extra-file=", StringComparison.Ordinal));
        if (optionFile is not null)
        {
            var path = optionFile["--defaults-extra-file=".Length..];
            try
            {
                mode = OperatingSystem.IsWindows() ? "n/a" : File.GetUnixFileMode(path).ToString();
            }
            catch (IOException)
            {
                mode = "missing"; // a parallel test's child that already finished and removed its file; never throw into ToolProcess
            }
        }
        _children.Enqueue((Path.GetFileName(started.ToolPath), commandLine, mode));
    }

    /// <summary>
    /// The child's <c>/proc/&lt;pid&gt;/cmdline</c>. Process.Start returns once the child's execve has closed its
    /// close-on-exec pipe, which the kernel does before it has set up the new argument area: in that short window
    /// (seen under load) cmdline reads empty. So an empty read of a live child is repeated for up to a second; a
    /// child that already exited (a zombie, or gone) stays empty — the quick <c>--version</c> probes.
    /// </summary>
    private static string ReadCommandLine(int pid)
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
                if (state is "Z" or "X" || clock.Elapsed > TimeSpan.FromSeconds(1)) return "";
            }
            catch (IOException)
            {
                return ""; // gone (FileNotFoundException/DirectoryNotFoundException are IOExceptions)
            }
            Thread.Sleep(1);
        }
    }

    public void Dispose() => ToolProcess.Started -= OnStarted;
}
