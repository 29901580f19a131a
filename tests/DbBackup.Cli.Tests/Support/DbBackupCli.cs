using System.Diagnostics;
using System.Text;
using System.Text.Json;
using DbBackup.TestSupport;

namespace DbBackup.Cli.Tests.Support;

/// <summary>The outcome of one <c>dbbackup</c> child process.</summary>
public sealed record CliRun(IReadOnlyList<string> Arguments, int ExitCode, string StandardOutput, string StandardError)
{
    public JsonElement Json()
    {
        try
        {
            return JsonDocument.Parse(StandardOutput).RootElement.Clone();
        }
        catch (JsonException e)
        {
            throw new Xunit.Sdk.XunitException($"dbbackup {string.Join(' ', Arguments)}: stdout is not JSON ({e.Message}):\n{StandardOutput}\nstderr:\n{StandardError}");
        }
    }

    public CliRun EnsureSuccess()
    {
        if (ExitCode != 0)
        {
            throw new Xunit.Sdk.XunitException($"dbbackup {string.Join(' ', Arguments)} exited with {ExitCode}:\n{StandardError}\nstdout:\n{StandardOutput}");
        }
        return this;
    }

    /// <summary>The stderr lines that start with <c>dbbackup: error</c>.</summary>
    public IReadOnlyList<string> ErrorLines => StandardError.Split('\n')
        .Where(l => l.StartsWith("dbbackup: error ", StringComparison.Ordinal)).Select(l => l.TrimEnd('\r')).ToList();

    public override string ToString() => $"dbbackup {string.Join(' ', Arguments)} -> {ExitCode}\nstderr:\n{StandardError}\nstdout:\n{StandardOutput}";
}

/// <summary>
/// Runs the built <c>dbbackup</c> (the dbbackup.dll copied next to this test assembly through the ProjectReference)
/// as a child process: <c>dotnet dbbackup.dll ...</c>. The child's environment starts from this process's with every
/// secret and catalog variable removed, then <see cref="Environment"/> and the per-run variables are applied.
/// </summary>
public sealed class DbBackupCli
{
    private static readonly string[] ScrubbedVariables =
        ["DBBACKUP_PASSWORD", "DBBACKUP_PASSPHRASE", "PGPASSWORD", "MYSQL_PWD", "DBBACKUP_CATALOG", "PGPASSFILE", "PGSERVICE"];

    public static string DllPath
    {
        get
        {
            var path = Path.Combine(AppContext.BaseDirectory, "dbbackup.dll");
            return File.Exists(path) ? path : throw new FileNotFoundException("dbbackup.dll is not next to the test assembly (ProjectReference to DbBackup.Cli)", path);
        }
    }

    public static string DotnetPath => System.Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host && File.Exists(host)
        ? host
        : "dotnet";

    /// <summary>Variables set for every run of this instance (null removes one).</summary>
    public Dictionary<string, string?> Environment { get; } = new(StringComparer.Ordinal);

    /// <summary>The child's current directory; null: this process's.</summary>
    public string? WorkingDirectory { get; set; }

    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromMinutes(2);

    public async Task<CliRun> RunAsync(IReadOnlyList<string> arguments, IReadOnlyDictionary<string, string?>? environment = null,
        string? standardInput = null, TimeSpan? timeout = null)
    {
        await using var child = Start(arguments, environment);
        if (standardInput is not null)
        {
            await child.Process.StandardInput.WriteAsync(standardInput).ConfigureAwait(false);
        }
        child.Process.StandardInput.Close();
        return await child.WaitAsync(timeout ?? DefaultTimeout).ConfigureAwait(false);
    }

    /// <param name="defaultSigint">
    /// Start the child with SIGINT at its default disposition (through coreutils <c>env --default-signal=INT</c>, which
    /// execs, so the pid stays the child's). A test run started from a non-interactive shell in the background inherits
    /// SIGINT as ignored, and dbbackup, like any POSIX program, then keeps ignoring Ctrl+C; a test of Ctrl+C needs this.
    /// </param>
    public CliProcess Start(IReadOnlyList<string> arguments, IReadOnlyDictionary<string, string?>? environment = null, bool defaultSigint = false)
    {
        var startInfo = new ProcessStartInfo(defaultSigint ? "env" : DotnetPath)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
            StandardOutputEncoding = new UTF8Encoding(false),
            StandardErrorEncoding = new UTF8Encoding(false),
            WorkingDirectory = WorkingDirectory ?? "",
        };
        if (defaultSigint)
        {
            startInfo.ArgumentList.Add("--default-signal=INT");
            startInfo.ArgumentList.Add(DotnetPath);
        }
        startInfo.ArgumentList.Add(DllPath);
        foreach (var argument in arguments)
        {
            startInfo.ArgumentList.Add(argument);
        }
        foreach (var name in ScrubbedVariables)
        {
            startInfo.Environment.Remove(name);
        }
        foreach (var source in new[] { Environment, environment ?? new Dictionary<string, string?>() })
        {
            foreach (var (key, value) in source)
            {
                if (value is null) startInfo.Environment.Remove(key);
                else startInfo.Environment[key] = value;
            }
        }
        var process = Process.Start(startInfo) ?? throw new InvalidOperationException("could not start dbbackup");
        return new CliProcess(process, arguments);
    }
}

/// <summary>A running <c>dbbackup</c> child whose output is being collected.</summary>
public sealed class CliProcess : IAsyncDisposable
{
    private readonly Task<string> _stdout;
    private readonly Task<string> _stderr;
    private readonly IReadOnlyList<string> _arguments;

    internal CliProcess(Process process, IReadOnlyList<string> arguments)
    {
        Process = process;
        _arguments = arguments;
        _stdout = process.StandardOutput.ReadToEndAsync();
        _stderr = process.StandardError.ReadToEndAsync();
    }

    /// <summary>The child's argv from /proc (<see cref="ProcessCommandLine"/>), once it shows the dbbackup command line.</summary>
    public async Task<string> CommandLineAsync()
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            var text = ProcessCommandLine.Read(Id, TimeSpan.FromSeconds(1));
            if (text.Contains("dbbackup", StringComparison.Ordinal)) return text;
            if (clock.Elapsed > TimeSpan.FromSeconds(10))
                throw new InvalidOperationException($"/proc/{Id}/cmdline did not show the dbbackup command line within 10 s: '{text}'");
            await Task.Delay(5).ConfigureAwait(false);
        }
    }

    public Process Process { get; }
    public int Id => Process.Id;

    public async Task<CliRun> WaitAsync(TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await Process.WaitForExitAsync(cts.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            Process.Kill(entireProcessTree: true);
            throw new TimeoutException($"dbbackup {string.Join(' ', _arguments)} did not finish within {timeout}; killed. stderr so far: "
                + (_stderr.IsCompleted ? _stderr.Result : "(still open)"));
        }
        return new CliRun(_arguments, Process.ExitCode, await _stdout.ConfigureAwait(false), await _stderr.ConfigureAwait(false));
    }

    public async ValueTask DisposeAsync()
    {
        if (!Process.HasExited)
        {
            Process.Kill(entireProcessTree: true);
            await Process.WaitForExitAsync().ConfigureAwait(false);
        }
        Process.Dispose();
    }
}
