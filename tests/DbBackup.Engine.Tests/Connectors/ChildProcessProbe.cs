using System.Collections.Concurrent;
using DbBackup.Engine.Connectors;
using DbBackup.TestSupport;

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
        var commandLine = ProcessCommandLine.Read(started.ProcessId, TimeSpan.FromSeconds(1));
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

    public void Dispose() => ToolProcess.Started -= OnStarted;
}
