using System.Globalization;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace DbBackup.Cli;

public enum OutputFormat
{
    Table,
    Json,
}

/// <summary>
/// Writes results to standard output: JSON (camelCase properties, enums as strings, times in ISO 8601) for
/// machines, or a table/list for people.
/// </summary>
public sealed class OutputWriter(TextWriter output, OutputFormat format)
{
    public static readonly JsonSerializerOptions JsonOptions = new()
    {
        WriteIndented = true,
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        // Stdout is not HTML: keep quotes, apostrophes and non-ASCII text (names, emoji) readable.
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        Converters = { new JsonStringEnumConverter() },
    };

    public OutputFormat Format => format;

    public void WriteBackup(BackupRecord record)
    {
        if (format == OutputFormat.Json)
        {
            WriteJson(record);
            return;
        }
        WriteList([
            ("BackupId", record.BackupId), ("Database", record.Database), ("Engine", record.Engine.ToString()),
            ("Type", record.Type.ToString()), ("Repository", record.Repository), ("StartTime", Time(record.StartTime)),
            ("Duration", Duration(record.Duration)), ("Size", ValueParsers.FormatBytes(record.Size)),
            ("StoredSize", ValueParsers.FormatBytes(record.StoredSize)), ("Compression", Codec(record)),
            ("Encryption", record.Encryption.ToString()), ("Volumes", Number(record.VolumeCount)),
            ("Frames", Number(record.FrameCount)), ("ServerVersion", record.ServerVersion),
            ("Tool", record.ToolName is null ? null : $"{record.ToolName} {record.ToolVersion}".Trim()),
        ]);
    }

    /// <summary>A backup written to its first repository and copied to further ones: the record, then one result per copy.</summary>
    public void WriteBackupWithCopies(BackupRecord record, IReadOnlyList<CopyResult> copies)
    {
        if (format == OutputFormat.Json)
        {
            WriteJson(new { backup = record, copies, allSucceeded = copies.All(c => c.Succeeded) });
            return;
        }
        WriteBackup(record);
        output.WriteLine();
        WriteCopies(copies);
    }

    public void WriteCopies(IReadOnlyList<CopyResult> copies)
    {
        if (format == OutputFormat.Json)
        {
            WriteJson(copies);
            return;
        }
        WriteTable(
            ["Target", "Status", "Verified", "Copied", "Skipped", "Bytes", "Duration", "ErrorId"],
            copies.Select(c => new[]
            {
                c.Target, c.Succeeded ? "copied" : "FAILED", c.Verified ? "yes" : "no", Number(c.ObjectsCopied), Number(c.ObjectsSkipped),
                ValueParsers.FormatBytes(c.BytesCopied), Duration(c.Duration), c.ErrorId ?? "",
            }));
    }

    public void WriteHistory(IReadOnlyList<BackupRecord> records)
    {
        if (format == OutputFormat.Json)
        {
            WriteJson(records);
            return;
        }
        if (records.Count == 0)
        {
            output.WriteLine("No backups found.");
            return;
        }
        WriteTable(
            ["Database", "BackupId", "Engine", "StartTime", "Size", "StoredSize", "Compression", "Encryption"],
            records.Select(r => new[]
            {
                r.Database, r.BackupId, r.Engine.ToString(), Time(r.StartTime), ValueParsers.FormatBytes(r.Size),
                ValueParsers.FormatBytes(r.StoredSize), Codec(r), r.Encryption.ToString(),
            }));
    }

    public void WriteVerification(IReadOnlyList<VerificationResult> results)
    {
        if (format == OutputFormat.Json)
        {
            WriteJson(results);
            return;
        }
        WriteTable(
            ["Database", "BackupId", "Valid", "Frames", "Size", "Duration", "ErrorId"],
            results.Select(r => new[]
            {
                r.Database, r.BackupId, r.IsValid ? "yes" : "NO", $"{r.FramesChecked}/{r.FrameCount}",
                ValueParsers.FormatBytes(r.Size), Duration(r.Duration), r.ErrorId ?? "",
            }));
        foreach (var problem in results.SelectMany(r => r.Problems.Select(p => $"{r.Database}/{r.BackupId}: {p}")))
        {
            output.WriteLine("  " + problem);
        }
    }

    public void WriteRestore(RestoreResult result)
    {
        if (format == OutputFormat.Json)
        {
            WriteJson(result);
            return;
        }
        WriteList([
            ("BackupId", result.BackupId), ("Engine", result.Engine.ToString()), ("SourceDatabase", result.SourceDatabase),
            ("TargetDatabase", result.TargetDatabase), ("ReplacedExisting", result.ReplacedExisting ? "yes" : "no"),
            ("Method", result.Method.ToString()), ("Size", ValueParsers.FormatBytes(result.Size)),
            ("Duration", Duration(result.Duration)),
        ]);
    }

    public void WriteConnectionTest(ConnectionTestResult result)
    {
        if (format == OutputFormat.Json)
        {
            WriteJson(result);
            return;
        }
        WriteList([
            ("Engine", result.Engine.ToString()), ("Server", result.Server),
            ("Port", result.Port?.ToString(CultureInfo.InvariantCulture)), ("Database", result.Database),
            ("Success", result.Success ? "yes" : "NO"), ("ServerVersion", result.ServerVersion),
            ("Tool", result.ToolName is null ? null : $"{result.ToolName} {result.ToolVersion}".Trim()),
            ("ToolPath", result.ToolPath), ("Latency", result.Latency is { } l ? Duration(l) : null),
            ("ErrorId", result.ErrorId), ("Message", result.Message), ("RecommendedAction", result.RecommendedAction),
        ]);
    }

    private void WriteJson<T>(T value)
    {
        output.WriteLine(JsonSerializer.Serialize(value, JsonOptions));
        output.Flush();
    }

    private void WriteList(IReadOnlyList<(string Name, string? Value)> rows)
    {
        var width = rows.Max(r => r.Name.Length);
        foreach (var (name, value) in rows.Where(r => r.Value is not null))
        {
            output.WriteLine($"{name.PadRight(width)} : {value}");
        }
        output.Flush();
    }

    private void WriteTable(string[] headers, IEnumerable<string[]> rows)
    {
        var all = rows.ToList();
        var widths = headers.Select((h, i) => Math.Max(h.Length, all.Count == 0 ? 0 : all.Max(r => r[i].Length))).ToArray();
        output.WriteLine(string.Join("  ", headers.Select((h, i) => h.PadRight(widths[i]))).TrimEnd());
        output.WriteLine(string.Join("  ", widths.Select(w => new string('-', w))));
        foreach (var row in all)
        {
            output.WriteLine(string.Join("  ", row.Select((c, i) => c.PadRight(widths[i]))).TrimEnd());
        }
        output.Flush();
    }

    private static string Time(DateTimeOffset time) => time.ToUniversalTime().ToString("yyyy-MM-dd HH:mm:ss'Z'", CultureInfo.InvariantCulture);

    private static string Duration(TimeSpan duration) => duration.TotalSeconds < 60
        ? duration.TotalSeconds.ToString("0.00's'", CultureInfo.InvariantCulture)
        : duration.ToString(@"hh\:mm\:ss", CultureInfo.InvariantCulture);

    private static string Number(int value) => value.ToString(CultureInfo.InvariantCulture);

    private static string Codec(BackupRecord record) => record.CompressionLevel is { } level
        ? $"{record.Compression} {level.ToString(CultureInfo.InvariantCulture)}"
        : record.Compression.ToString();
}
