using System.Diagnostics;
using System.Text;
using DbBackup.Engine.Errors;

namespace DbBackup.Engine.Connectors;

/// <summary>One client-tool invocation. Secrets go in <see cref="Environment"/> (or a 0600 file), never in <see cref="Arguments"/>.</summary>
internal sealed record ToolInvocation(string ToolPath, IReadOnlyList<string> Arguments)
{
    public IReadOnlyDictionary<string, string?> Environment { get; init; } = new Dictionary<string, string?>();
    /// <summary>The name used in error messages (e.g. <c>pg_dump</c>).</summary>
    public string DisplayName => Path.GetFileName(ToolPath);
}

/// <summary>What a captured tool run produced.</summary>
internal sealed record ToolOutput(int ExitCode, string StandardOutput, string StandardError);

/// <summary>A started child process, reported to <see cref="ToolProcess.Started"/> before any of its output is read.</summary>
internal sealed record StartedTool(int ProcessId, string ToolPath);

/// <summary>
/// Runs client tools: arguments through <see cref="ProcessStartInfo.ArgumentList"/> (no shell), secrets through the
/// environment, stdout streamed into a <see cref="Stream"/> or stdin fed from one, stderr kept (bounded) for the
/// error message. Cancellation kills the child.
/// </summary>
internal static class ToolProcess
{
    private const int StderrLimit = 16 * 1024;
    private const int CopyBufferSize = 256 * 1024;

    /// <summary>
    /// Raised synchronously right after a child starts and before its stdout is read, so a test can inspect
    /// <c>/proc/&lt;pid&gt;/cmdline</c> while the child is certainly alive.
    /// </summary>
    internal static event Action<StartedTool>? Started;

    /// <summary>
    /// Runs a tool to completion, streaming. Throws <see cref="ToolException"/> (<see cref="ErrorIds.ToolFailed"/>,
    /// with the tail of stderr) on a non-zero exit, <see cref="OperationCanceledException"/> when cancelled, and
    /// rethrows whatever <paramref name="input"/> or <paramref name="output"/> throw (after killing the child).
    /// </summary>
    public static async Task RunAsync(ToolInvocation invocation, Stream? input, Stream? output, CancellationToken cancellationToken)
    {
        var result = await ExecuteAsync(invocation, input, output, cancellationToken).ConfigureAwait(false);
        if (result.ExitCode != 0)
        {
            throw Failed(invocation, result.ExitCode, result.StandardError);
        }
    }

    /// <summary>Runs a tool and returns its exit code and text output; never throws for a non-zero exit.</summary>
    public static async Task<ToolOutput> CaptureAsync(ToolInvocation invocation, string? standardInput, CancellationToken cancellationToken)
    {
        using var stdout = new MemoryStream();
        using var stdin = standardInput is null ? null : new MemoryStream(new UTF8Encoding(false).GetBytes(standardInput));
        var result = await ExecuteAsync(invocation, stdin, stdout, cancellationToken).ConfigureAwait(false);
        return result with { StandardOutput = new UTF8Encoding(false).GetString(stdout.GetBuffer(), 0, (int)stdout.Length) };
    }

    public static ToolException Failed(ToolInvocation invocation, int exitCode, string stderr)
    {
        var tail = stderr.Trim();
        return new ToolException(ErrorIds.ToolFailed, ErrorKind.InvalidOperation,
            $"{invocation.DisplayName} failed (exit code {exitCode}): {(tail.Length == 0 ? "no error output" : tail)}",
            $"Read {invocation.DisplayName}'s message above; fix the cause (privileges, disk space, server state) and run again.");
    }

    private static async Task<ToolOutput> ExecuteAsync(ToolInvocation invocation, Stream? input, Stream? output, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var startInfo = new ProcessStartInfo(invocation.ToolPath)
        {
            UseShellExecute = false,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            StandardErrorEncoding = new UTF8Encoding(false),
        };
        foreach (var argument in invocation.Arguments)
        {
            startInfo.ArgumentList.Add(argument);
        }
        // Messages in English so the connectors can classify them; data encodings are unaffected.
        startInfo.Environment["LC_MESSAGES"] = "C";
        foreach (var (name, value) in invocation.Environment)
        {
            if (value is null)
            {
                startInfo.Environment.Remove(name);
            }
            else
            {
                startInfo.Environment[name] = value;
            }
        }

        using var process = new Process { StartInfo = startInfo };
        try
        {
            process.Start();
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            throw new ToolException(ErrorIds.ToolNotFound, ErrorKind.NotInstalled,
                $"Could not start {invocation.ToolPath}: {e.Message}",
                $"Check that {invocation.DisplayName} is installed and executable, or set the tool directory.", e);
        }
        Started?.Invoke(new StartedTool(process.Id, invocation.ToolPath));

        using var killOnCancel = cancellationToken.Register(() => Kill(process));
        var stderrTask = ReadBoundedAsync(process.StandardError);
        var stdoutTask = output is null
            ? process.StandardOutput.BaseStream.CopyToAsync(Stream.Null, CancellationToken.None)
            : CopyOutputAsync(process.StandardOutput.BaseStream, output, cancellationToken);
        var stdinTask = FeedInputAsync(process.StandardInput.BaseStream, input, cancellationToken);

        Exception? streamFailure = null;
        var stdinBrokenPipe = false;
        try
        {
            await stdinTask.ConfigureAwait(false);
        }
        catch (ChildStoppedReadingException)
        {
            stdinBrokenPipe = true; // the tool exited (usually with an error) before taking all input; its exit code decides
        }
        catch (Exception e)
        {
            streamFailure = e;
            Kill(process);
        }
        try
        {
            await stdoutTask.ConfigureAwait(false);
        }
        catch (Exception e)
        {
            streamFailure ??= e;
            Kill(process);
        }
        await process.WaitForExitAsync(CancellationToken.None).ConfigureAwait(false);
        var stderr = await stderrTask.ConfigureAwait(false);

        cancellationToken.ThrowIfCancellationRequested();
        if (streamFailure is not null)
        {
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(streamFailure).Throw();
        }
        if (stdinBrokenPipe && process.ExitCode == 0)
        {
            throw new ToolException(ErrorIds.ToolFailed, ErrorKind.InvalidOperation,
                $"{invocation.DisplayName} exited before reading all of its input. {stderr.Trim()}",
                "The backup data may not match this tool or database; check the tool's output.");
        }
        return new ToolOutput(process.ExitCode, "", stderr);
    }

    /// <summary>
    /// Copies the tool's stdout with blocking reads on a dedicated thread: measured at well under half the CPU of
    /// async pipe reads for a dump of hundreds of MB. Cancellation kills the child, which ends the blocking read.
    /// Dump tools write through stdio in 4-8 KiB pieces, and a reader blocked on the pipe is woken for each one (a
    /// 580 MB pg_dump took ~59,000 reads of 9 KiB on average). So on Linux the pipe is enlarged to 1 MiB and, after a
    /// read that found less than <see cref="SmallRead"/> bytes, the reader pauses 1 ms before reading again: the
    /// writer fills the pipe meanwhile without waking anyone (it blocks only if it writes 1 MiB within that 1 ms),
    /// and each read then takes hundreds of KiB at once.
    /// </summary>
    private static Task CopyOutputAsync(Stream childStdout, Stream output, CancellationToken cancellationToken) =>
        Task.Factory.StartNew(() =>
        {
            var pipeSize = EnlargePipe(childStdout);
            var buffer = new byte[Math.Max(CopyBufferSize, pipeSize)];
            int read;
            var first = true;
            var started = TimingTrace.Start();
            while ((read = childStdout.Read(buffer, 0, buffer.Length)) > 0)
            {
                TimingTrace.Add(TimingTrace.Stage.PipeRead, started);
                TimingTrace.CountRead(read);
                if (first)
                {
                    first = false;
                    TimingTrace.Mark("tool: first output bytes");
                }
                cancellationToken.ThrowIfCancellationRequested();
                started = TimingTrace.Start();
                output.Write(buffer, 0, read);
                TimingTrace.Add(TimingTrace.Stage.PipelineWrite, started);
                started = TimingTrace.Start();
                if (pipeSize > 0 && read < SmallRead) Thread.Sleep(1);
            }
            TimingTrace.Mark("tool: output ended");
        }, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);

    /// <summary>Reads smaller than this make the reader pause 1 ms so that the pipe fills (see <see cref="CopyOutputAsync"/>).</summary>
    private const int SmallRead = 128 * 1024;

    private const int PipeSize = 1024 * 1024;

    /// <summary>Sets the pipe's capacity to 1 MiB (Linux F_SETPIPE_SZ; the default limit for unprivileged users). Returns the new size, or 0 where that is not possible.</summary>
    private static int EnlargePipe(Stream childStdout)
    {
        if (!OperatingSystem.IsLinux() || childStdout is not System.IO.Pipes.PipeStream pipe) return 0;
        var fd = (int)pipe.SafePipeHandle.DangerousGetHandle();
        var size = NativeMethods.Fcntl(fd, NativeMethods.SetPipeSize, PipeSize);
        return size >= PipeSize ? size : 0;
    }

    private static async Task FeedInputAsync(Stream childStdin, Stream? input, CancellationToken cancellationToken)
    {
        try
        {
            if (input is null)
            {
                return;
            }
            var buffer = new byte[CopyBufferSize];
            while (true)
            {
                var read = await input.ReadAsync(buffer, cancellationToken).ConfigureAwait(false);
                if (read == 0)
                {
                    break;
                }
                try
                {
                    await childStdin.WriteAsync(buffer.AsMemory(0, read), cancellationToken).ConfigureAwait(false);
                }
                catch (IOException e)
                {
                    throw new ChildStoppedReadingException(e);
                }
            }
        }
        finally
        {
            try
            {
                childStdin.Dispose();
            }
            catch (IOException)
            {
                // Closing a pipe whose reader already exited: the exit code reports what happened.
            }
        }
    }

    private static async Task<string> ReadBoundedAsync(StreamReader reader)
    {
        var text = new StringBuilder();
        var buffer = new char[4096];
        int read;
        while ((read = await reader.ReadAsync(buffer, CancellationToken.None).ConfigureAwait(false)) > 0)
        {
            text.Append(buffer, 0, read);
            if (text.Length > 2 * StderrLimit)
            {
                text.Remove(0, text.Length - StderrLimit);
            }
        }
        return text.Length > StderrLimit ? "…" + text.ToString(text.Length - StderrLimit, StderrLimit) : text.ToString();
    }

    private static void Kill(Process process)
    {
        try
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
            }
        }
        catch (InvalidOperationException)
        {
            // Already exited between the check and the kill.
        }
    }

    private sealed class ChildStoppedReadingException(Exception inner) : IOException("the child process closed its input", inner);
}

internal static partial class NativeMethods
{
    /// <summary>F_SETPIPE_SZ (Linux).</summary>
    public const int SetPipeSize = 1031;

    [System.Runtime.InteropServices.LibraryImport("libc", EntryPoint = "fcntl", SetLastError = true)]
    public static partial int Fcntl(int fd, int command, int argument);
}
