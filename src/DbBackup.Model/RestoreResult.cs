namespace DbBackup;

/// <summary>The outcome of Restore-Database.</summary>
public sealed class RestoreResult
{
    public required string BackupId { get; init; }
    public required DatabaseEngine Engine { get; init; }
    public required string SourceDatabase { get; init; }
    public required string TargetDatabase { get; init; }
    public required bool ReplacedExisting { get; init; }
    public required RestoreMethod Method { get; init; }
    public required long Size { get; init; }
    public required DateTimeOffset StartTime { get; init; }
    public required DateTimeOffset EndTime { get; init; }
    public TimeSpan Duration => EndTime - StartTime;

    public override string ToString() => $"{SourceDatabase}/{BackupId} -> {TargetDatabase}";
}
