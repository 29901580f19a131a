using System.Diagnostics;
using System.Globalization;
using DbBackup.Engine;

namespace DbBackup.Cli;

/// <summary>How progress reaches standard error.</summary>
public enum ProgressMode
{
    /// <summary>No progress lines (--quiet, or stderr is not a terminal and --progress was not given).</summary>
    Off,
    /// <summary>One line rewritten in place with a carriage return, at most 4 times a second.</summary>
    Terminal,
    /// <summary>One line per update, at most once a second (--progress with stderr redirected, e.g. to a log).</summary>
    Lines,
}

/// <summary>
/// Translates engine events to standard error. Thread-safe: the engine may report from any thread, and one lock
/// keeps lines whole. Results go to standard output, never through here.
/// </summary>
public sealed class ProgressReporter : IProgress<EngineEvent>
{
    private readonly TextWriter _error;
    private readonly ProgressMode _mode;
    private readonly bool _quiet;
    private readonly bool _verbose;
    private readonly TimeSpan _interval;
    private readonly Lock _lock = new();
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private TimeSpan? _lastWrite;
    private int _lineLength;

    public ProgressReporter(TextWriter error, ProgressMode mode, bool quiet, bool verbose)
    {
        _error = error;
        _mode = mode;
        _quiet = quiet;
        _verbose = verbose;
        _interval = mode == ProgressMode.Terminal ? TimeSpan.FromMilliseconds(250) : TimeSpan.FromSeconds(1);
    }

    public void Report(EngineEvent value)
    {
        lock (_lock)
        {
            switch (value)
            {
                case ProgressEvent progress:
                    WriteProgress(progress);
                    break;
                case MessageEvent { Level: MessageLevel.Warning } warning:
                    WriteMessage("warning: " + warning.Message);
                    break;
                case MessageEvent { Level: MessageLevel.Information } information when !_quiet:
                    WriteMessage(information.Message);
                    break;
                case MessageEvent { Level: MessageLevel.Verbose } verbose when _verbose:
                    WriteMessage("verbose: " + verbose.Message);
                    break;
            }
        }
    }

    /// <summary>Ends an in-place progress line so the next output starts on a clean line.</summary>
    public void Complete()
    {
        lock (_lock)
        {
            ClearLine();
        }
    }

    public static string Format(ProgressEvent progress)
    {
        var text = string.Create(CultureInfo.InvariantCulture,
            $"{progress.Activity}: {progress.Status} {ValueParsers.FormatBytes(progress.Bytes)}");
        if (progress.TotalBytes is { } total)
        {
            text += " of " + ValueParsers.FormatBytes(total);
        }
        if (progress.BytesPerSecond > 0)
        {
            text += ", " + ValueParsers.FormatBytes((long)progress.BytesPerSecond) + "/s";
        }
        if (progress.PercentComplete is { } percent)
        {
            text += string.Create(CultureInfo.InvariantCulture, $", {percent}%");
        }
        return progress.Completed ? text + ", done" : text;
    }

    private void WriteProgress(ProgressEvent progress)
    {
        if (_mode == ProgressMode.Off)
        {
            return;
        }
        var now = _clock.Elapsed;
        if (!progress.Completed && _lastWrite is { } last && now - last < _interval)
        {
            return;
        }
        _lastWrite = now;
        var text = Format(progress);
        if (_mode == ProgressMode.Lines)
        {
            _error.WriteLine(text);
        }
        else
        {
            var padding = _lineLength > text.Length ? new string(' ', _lineLength - text.Length) : "";
            _error.Write("\r" + text + padding);
            _lineLength = text.Length;
            if (progress.Completed)
            {
                _error.WriteLine();
                _lineLength = 0;
            }
        }
        _error.Flush();
    }

    private void WriteMessage(string message)
    {
        ClearLine();
        _error.WriteLine("dbbackup: " + message);
        _error.Flush();
    }

    private void ClearLine()
    {
        if (_lineLength > 0)
        {
            _error.Write("\r" + new string(' ', _lineLength) + "\r");
            _lineLength = 0;
            _error.Flush();
        }
    }
}
