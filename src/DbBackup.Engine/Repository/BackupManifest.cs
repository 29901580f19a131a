using System.Text.Json;
using System.Text.Json.Serialization;
using DbBackup.Engine.Pipeline;

namespace DbBackup.Engine.Repository;

/// <summary>
/// The truth about one backup, stored as <c>manifest.json</c> in the backup's folder and written last.
/// Field names are the public format (docs/format.md); add fields, never rename them.
/// </summary>
public sealed class BackupManifest
{
    public const int CurrentFormatVersion = 1;

    public int FormatVersion { get; init; } = CurrentFormatVersion;
    public required string BackupId { get; init; }
    public required string Database { get; init; }
    public required DatabaseEngine Engine { get; init; }
    public required BackupType Type { get; init; }
    public required DateTimeOffset StartTime { get; init; }
    public required DateTimeOffset EndTime { get; init; }
    public string? ServerVersion { get; init; }
    public string? ToolName { get; init; }
    public string? ToolVersion { get; init; }
    public string? SourceHost { get; init; }
    public string? CreatedBy { get; init; }
    public required DataSummary Data { get; init; }

    internal static readonly JsonSerializerOptions JsonOptions = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.CamelCase) },
        WriteIndented = true,
    };

    public BackupRecord ToRecord(string repositoryDisplay) => new()
    {
        BackupId = BackupId,
        Database = Database,
        Engine = Engine,
        Type = Type,
        Repository = repositoryDisplay,
        StartTime = StartTime,
        EndTime = EndTime,
        Size = Data.Size,
        StoredSize = Data.StoredSize,
        Compression = Data.Compression,
        CompressionLevel = Data.CompressionLevel,
        Encryption = EncryptionModeOf(Data.Encryption),
        FrameCount = Data.FrameCount,
        VolumeCount = Data.VolumeCount,
        ServerVersion = ServerVersion,
        ToolName = ToolName,
        ToolVersion = ToolVersion,
        SourceHost = SourceHost,
        PlaintextSha256 = Data.PlaintextSha256,
    };

    private static EncryptionMode EncryptionModeOf(EncryptionHeader? header)
    {
        if (header is null) return EncryptionMode.None;
        return header.Keys.Any(k => k.Kind == "passphrase") ? EncryptionMode.Passphrase : EncryptionMode.KeyFile;
    }
}
