using System.Globalization;

namespace DbBackup.Cli;

/// <summary>Parsers for option values; each returns false with a message naming what is accepted.</summary>
public static class ValueParsers
{
    public static bool TryParseEngine(string text, out DatabaseEngine engine, out string? error)
    {
        error = null;
        switch (text.Trim().ToLowerInvariant())
        {
            case "postgresql" or "postgres" or "pg":
                engine = DatabaseEngine.PostgreSql; return true;
            case "mysql" or "mariadb":
                engine = DatabaseEngine.MySql; return true;
            case "sqlite" or "sqlite3":
                engine = DatabaseEngine.Sqlite; return true;
            default:
                engine = default;
                error = $"Unknown engine '{text}'. Use postgresql, mysql, mariadb (same as mysql) or sqlite.";
                return false;
        }
    }

    public static bool TryParseCompression(string text, out CompressionCodec codec, out string? error)
    {
        error = null;
        switch (text.Trim().ToLowerInvariant())
        {
            case "zstd": codec = CompressionCodec.Zstd; return true;
            case "gzip" or "gz": codec = CompressionCodec.Gzip; return true;
            case "none" or "stored": codec = CompressionCodec.None; return true;
            default:
                codec = default;
                error = $"Unknown compression '{text}'. Use zstd, gzip or none.";
                return false;
        }
    }

    private static readonly (string Suffix, long Factor)[] SizeSuffixes =
    [
        ("kib", 1L << 10), ("mib", 1L << 20), ("gib", 1L << 30), ("tib", 1L << 40),
        ("kb", 1_000L), ("mb", 1_000_000L), ("gb", 1_000_000_000L), ("tb", 1_000_000_000_000L),
        ("k", 1L << 10), ("m", 1L << 20), ("g", 1L << 30), ("t", 1L << 40),
        ("b", 1L),
    ];

    /// <summary>Sizes such as <c>64MiB</c>, <c>1GiB</c>, <c>500MB</c>, <c>65536</c> (bytes). K/M/G alone are binary.</summary>
    public static bool TryParseSize(string text, out long bytes, out string? error)
    {
        error = null;
        var value = text.Trim().ToLowerInvariant();
        long factor = 1;
        foreach (var (suffix, f) in SizeSuffixes)
        {
            if (value.EndsWith(suffix, StringComparison.Ordinal))
            {
                factor = f;
                value = value[..^suffix.Length].TrimEnd();
                break;
            }
        }
        if (decimal.TryParse(value, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var number) && number > 0)
        {
            var total = number * factor;
            if (total <= long.MaxValue)
            {
                bytes = (long)total;
                return true;
            }
        }
        bytes = 0;
        error = $"Invalid size '{text}'. Use a positive number of bytes with an optional unit, e.g. 64MiB, 1GiB or 500MB.";
        return false;
    }

    /// <summary>Durations such as <c>15</c> (seconds), <c>15s</c>, <c>500ms</c>, <c>2m</c>, <c>1h</c>, <c>7d</c>, or <c>00:00:15</c>.</summary>
    public static bool TryParseDuration(string text, out TimeSpan duration, out string? error)
    {
        error = null;
        var value = text.Trim().ToLowerInvariant();
        (string Suffix, double Seconds)[] units = [("ms", 0.001), ("s", 1), ("m", 60), ("h", 3600), ("d", 86400), ("w", 604800)];
        foreach (var (suffix, seconds) in units)
        {
            if (value.EndsWith(suffix, StringComparison.Ordinal)
                && double.TryParse(value[..^suffix.Length], NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var n) && n >= 0)
            {
                duration = TimeSpan.FromSeconds(n * seconds);
                return true;
            }
        }
        if (double.TryParse(value, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var plain) && plain >= 0)
        {
            duration = TimeSpan.FromSeconds(plain);
            return true;
        }
        if (TimeSpan.TryParse(value, CultureInfo.InvariantCulture, out duration) && duration >= TimeSpan.Zero)
        {
            return true;
        }
        duration = default;
        error = $"Invalid duration '{text}'. Use seconds (15), a unit (500ms, 15s, 2m, 1h, 7d) or hh:mm:ss.";
        return false;
    }

    /// <summary>A point in time: an ISO 8601 date/time (UTC when no offset is given) or an age such as <c>7d</c> or <c>12h</c>.</summary>
    public static bool TryParseSince(string text, DateTimeOffset now, out DateTimeOffset since, out string? error)
    {
        error = null;
        if (DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture,
                DateTimeStyles.AssumeUniversal | DateTimeStyles.AllowWhiteSpaces, out since))
        {
            return true;
        }
        var trimmed = text.Trim();
        if (trimmed.Length > 1 && char.IsLetter(trimmed[^1]) && TryParseDuration(trimmed, out var age, out _))
        {
            since = now - age;
            return true;
        }
        since = default;
        error = $"Invalid time '{text}'. Use an ISO 8601 date/time (2026-11-01, 2026-11-01T12:00:00Z) or an age (12h, 7d).";
        return false;
    }

    public static string FormatBytes(long bytes)
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
            ? string.Create(CultureInfo.InvariantCulture, $"{bytes} B")
            : string.Create(CultureInfo.InvariantCulture, $"{value:0.0} {units[unit]}");
    }
}
