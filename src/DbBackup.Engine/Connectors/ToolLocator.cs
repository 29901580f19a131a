using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;
using DbBackup.Engine.Errors;

namespace DbBackup.Engine.Connectors;

/// <summary>A client tool found on disk, with the version it reports.</summary>
public sealed record ToolInfo(string Name, string Path, Version Version, string VersionText)
{
    public string VersionString => Version.ToString();
}

/// <summary>How to find one client tool and read its version.</summary>
internal sealed record ToolSpec(IReadOnlyList<string> Names, Regex VersionPattern, string InstallHint)
{
    public string DisplayName => string.Join(" or ", Names);
}

/// <summary>
/// Finds client tools: <see cref="ConnectionOptions.ToolDirectory"/> first, then PATH. Reports the path and the
/// version parsed from <c>--version</c>; missing or too-old tools raise <see cref="ErrorIds.ToolNotFound"/> /
/// <see cref="ErrorIds.ToolTooOld"/> naming the tool, the versions and what to install.
/// </summary>
internal static class ToolLocator
{
    /// <summary>Replaces PATH for the current async flow (tests only: a fake tool first on PATH, or an empty PATH).</summary>
    internal static readonly AsyncLocal<string?> PathOverride = new();

    /// <summary>
    /// Versions already read (or being read) in this process, keyed by path, spec, size and last-write time: a backup
    /// describes the source while its dump starts, and spawning <c>--version</c> twice (through Debian's Perl pg_wrapper)
    /// costs ~0.2-0.4 s. Concurrent callers share one probe; a failed or cancelled probe is forgotten. A replaced or
    /// rewritten tool has another size or time and is asked again; so is any tool after <see cref="VersionLifetime"/>
    /// (a wrapper such as pg_wrapper may pick another version once packages change).
    /// </summary>
    private static readonly Dictionary<(ToolSpec Spec, string Path, long Length, DateTime WriteTime), (Task<ToolInfo> Probe, long ReadAt)> Versions = new();

    private static readonly TimeSpan VersionLifetime = TimeSpan.FromMinutes(1);

    public static async Task<ToolInfo> LocateAsync(ToolSpec spec, string? toolDirectory, CancellationToken cancellationToken)
    {
        var path = Find(spec, toolDirectory) ?? throw new ToolException(ErrorIds.ToolNotFound, ErrorKind.NotInstalled,
            $"{spec.DisplayName} was not found{(toolDirectory is null ? "" : $" in the tool directory '{toolDirectory}' or")} on PATH.",
            $"Install {spec.InstallHint}, or point the tool directory option at the folder that holds {spec.Names[0]}.");

        var file = new FileInfo(path);
        var key = (spec, path, file.Length, file.LastWriteTimeUtc);
        Task<ToolInfo> probe;
        lock (Versions)
        {
            if (Versions.TryGetValue(key, out var known) && Stopwatch.GetElapsedTime(known.ReadAt) < VersionLifetime)
            {
                probe = known.Probe;
            }
            else
            {
                probe = ProbeAsync(spec, path, cancellationToken);
                Versions[key] = (probe, Stopwatch.GetTimestamp());
            }
        }
        try
        {
            return await probe.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch when (probe.IsFaulted || probe.IsCanceled)
        {
            lock (Versions)
            {
                if (Versions.TryGetValue(key, out var known) && known.Probe == probe) Versions.Remove(key);
            }
            if (!probe.IsCanceled || cancellationToken.IsCancellationRequested) throw;
        }
        // The shared probe belonged to a caller that was cancelled; this caller was not: probe again.
        return await LocateAsync(spec, toolDirectory, cancellationToken).ConfigureAwait(false);
    }

    private static async Task<ToolInfo> ProbeAsync(ToolSpec spec, string path, CancellationToken cancellationToken)
    {
        var output = await ToolProcess.CaptureAsync(new ToolInvocation(path, ["--version"]), null, cancellationToken).ConfigureAwait(false);
        var text = (output.StandardOutput + output.StandardError).Trim();
        var match = spec.VersionPattern.Match(text);
        if (output.ExitCode != 0 || !match.Success || !TryParseVersion(match.Groups["v"].Value, out var version))
        {
            throw new ToolException(ErrorIds.ToolNotFound, ErrorKind.NotInstalled,
                $"{path} did not report a version ('{FirstLine(text)}', exit code {output.ExitCode}); it does not look like {spec.DisplayName}.",
                $"Install {spec.InstallHint}, or point the tool directory option at a working {spec.Names[0]}.");
        }
        return new ToolInfo(System.IO.Path.GetFileName(path), path, version, FirstLine(text));
    }

    /// <summary>Throws <see cref="ErrorIds.ToolTooOld"/> when <paramref name="tool"/> is older than <paramref name="required"/>.</summary>
    public static void EnsureAtLeast(ToolInfo tool, Version required, string why, string installHint)
    {
        if (tool.Version < required)
        {
            throw new ToolException(ErrorIds.ToolTooOld, ErrorKind.NotInstalled,
                $"{tool.Name} at {tool.Path} is version {tool.Version}, but {required} or newer is required: {why}.",
                $"Install {installHint} (version {required} or newer), or point the tool directory option at a newer {tool.Name}.");
        }
    }

    internal static string? Find(ToolSpec spec, string? toolDirectory)
    {
        var directories = new List<string>();
        if (!string.IsNullOrEmpty(toolDirectory))
        {
            directories.Add(toolDirectory);
        }
        var pathVariable = PathOverride.Value ?? Environment.GetEnvironmentVariable("PATH") ?? "";
        directories.AddRange(pathVariable.Split(System.IO.Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries));
        foreach (var directory in directories)
        {
            foreach (var name in spec.Names)
            {
                var candidate = System.IO.Path.Combine(directory, name);
                if (IsExecutable(candidate))
                {
                    return candidate;
                }
            }
        }
        return null;
    }

    private static bool IsExecutable(string path)
    {
        if (!File.Exists(path))
        {
            return false;
        }
        if (OperatingSystem.IsWindows())
        {
            return true;
        }
        var mode = File.GetUnixFileMode(path);
        return (mode & (UnixFileMode.UserExecute | UnixFileMode.GroupExecute | UnixFileMode.OtherExecute)) != 0;
    }

    private static bool TryParseVersion(string text, out Version version)
    {
        var parts = text.Split('.');
        var numbers = new int[Math.Max(2, Math.Min(parts.Length, 4))];
        for (var i = 0; i < Math.Min(parts.Length, 4); i++)
        {
            if (!int.TryParse(parts[i], NumberStyles.None, CultureInfo.InvariantCulture, out numbers[i]))
            {
                version = new Version();
                return false;
            }
        }
        version = numbers.Length switch
        {
            2 => new Version(numbers[0], numbers[1]),
            3 => new Version(numbers[0], numbers[1], numbers[2]),
            _ => new Version(numbers[0], numbers[1], numbers[2], numbers[3]),
        };
        return true;
    }

    private static string FirstLine(string text)
    {
        var end = text.IndexOf('\n', StringComparison.Ordinal);
        return (end < 0 ? text : text[..end]).Trim();
    }
}
