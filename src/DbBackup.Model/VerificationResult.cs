namespace DbBackup;

/// <summary>The outcome of Test-Backup for one backup.</summary>
public sealed class VerificationResult
{
    public required string BackupId { get; init; }
    public required string Database { get; init; }
    public required string Repository { get; init; }
    public required bool IsValid { get; init; }
    public required int FramesChecked { get; init; }
    public required int FrameCount { get; init; }
    public required long Size { get; init; }
    public required long StoredSize { get; init; }
    public required TimeSpan Duration { get; init; }
    /// <summary>Stable error id of the first problem found, or null when valid.</summary>
    public string? ErrorId { get; init; }
    public IReadOnlyList<string> Problems { get; init; } = Array.Empty<string>();

    public override string ToString() => $"{Database}/{BackupId}: {(IsValid ? "valid" : "INVALID")}";
}
