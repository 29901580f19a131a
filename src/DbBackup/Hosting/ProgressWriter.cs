using System.Diagnostics;
using System.Globalization;
using System.Management.Automation;
using DbBackup.Engine;

namespace DbBackup.PowerShell.Hosting;

/// <summary>
/// Turns engine progress events into progress records: at most one update per activity every
/// <see cref="Interval"/>, and a Completed record for every activity that was shown.
/// </summary>
internal sealed class ProgressWriter
{
    private static readonly TimeSpan Interval = TimeSpan.FromMilliseconds(250);
    private readonly Dictionary<string, (int Id, long LastWrite)> _activities = new(StringComparer.Ordinal);
    private readonly int _baseId;

    public ProgressWriter(int baseId) => _baseId = baseId;

    /// <summary>The record to write for <paramref name="progress"/>, or null when throttled.</summary>
    public ProgressRecord? Next(ProgressEvent progress)
    {
        var now = Stopwatch.GetTimestamp();
        if (!_activities.TryGetValue(progress.Activity, out var state))
        {
            state = (_baseId + _activities.Count, 0);
        }
        else if (!progress.Completed && Stopwatch.GetElapsedTime(state.LastWrite, now) < Interval)
        {
            return null;
        }

        if (progress.Completed)
        {
            _activities.Remove(progress.Activity);
            return Completed(state.Id, progress.Activity);
        }

        _activities[progress.Activity] = (state.Id, now);
        var record = new ProgressRecord(state.Id, progress.Activity, Describe(progress))
        {
            PercentComplete = progress.PercentComplete ?? -1,
        };
        if (progress.TotalBytes is > 0 && progress.BytesPerSecond > 0)
        {
            var remaining = (progress.TotalBytes.Value - progress.Bytes) / progress.BytesPerSecond;
            record.SecondsRemaining = (int)Math.Clamp(remaining, 0, int.MaxValue);
        }
        return record;
    }

    /// <summary>Completed records for every activity still shown (always written at the end of an operation).</summary>
    public IReadOnlyList<ProgressRecord> CompleteAll()
    {
        var records = _activities.Select(a => Completed(a.Value.Id, a.Key)).ToArray();
        _activities.Clear();
        return records;
    }

    private static ProgressRecord Completed(int id, string activity) =>
        new(id, activity, "Completed") { RecordType = ProgressRecordType.Completed, PercentComplete = 100 };

    internal static string Describe(ProgressEvent progress)
    {
        var amount = progress.TotalBytes is { } total
            ? $"{FormatBytes(progress.Bytes)} of {FormatBytes(total)}"
            : FormatBytes(progress.Bytes);
        var rate = progress.BytesPerSecond > 0 ? $", {FormatBytes((long)progress.BytesPerSecond)}/s" : string.Empty;
        var status = string.IsNullOrEmpty(progress.Status) ? string.Empty : progress.Status + ": ";
        return status + amount + rate;
    }

    internal static string FormatBytes(long bytes)
    {
        string[] units = ["B", "KiB", "MiB", "GiB", "TiB"];
        double value = bytes;
        var unit = 0;
        while (Math.Abs(value) >= 1024 && unit < units.Length - 1)
        {
            value /= 1024;
            unit++;
        }
        return unit == 0
            ? bytes.ToString(CultureInfo.InvariantCulture) + " B"
            : value.ToString("0.0", CultureInfo.InvariantCulture) + " " + units[unit];
    }
}
