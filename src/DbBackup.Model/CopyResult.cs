namespace DbBackup;

/// <summary>
/// The outcome of copying one backup into one further repository (Copy-Backup, Backup-Database with several
/// repositories, <c>dbbackup copy</c>). A failed copy is a result too: <see cref="Succeeded"/> is false and
/// <see cref="ErrorId"/>/<see cref="Message"/> say why; nothing of it is visible in the target.
/// </summary>
public sealed class CopyResult
{
    public required string BackupId { get; init; }
    public required string Database { get; init; }
    /// <summary>The repository the backup was copied from, as printed (no secrets).</summary>
    public required string Source { get; init; }
    /// <summary>The repository the backup was copied to, as printed (no secrets).</summary>
    public required string Target { get; init; }
    public required bool Succeeded { get; init; }
    /// <summary>Every object was read back from the target and matched its SHA-256 in the manifest.</summary>
    public bool Verified { get; init; }
    public int ObjectsCopied { get; init; }
    /// <summary>Objects already in the target with the right size (an interrupted copy resumed), not sent again.</summary>
    public int ObjectsSkipped { get; init; }
    public long BytesCopied { get; init; }
    public TimeSpan Duration { get; init; }
    /// <summary>Stable error id when the copy failed.</summary>
    public string? ErrorId { get; init; }
    public string? Message { get; init; }

    public override string ToString() => $"{Database}/{BackupId} -> {Target}: {(Succeeded ? Verified ? "copied, verified" : "copied" : "FAILED")}";
}
