namespace DbBackup.Engine;

/// <summary>Events the engine raises in order; hosts translate them (WriteProgress/WriteVerbose, stderr).</summary>
public abstract record EngineEvent;

/// <summary>Progress of the current operation. <see cref="TotalBytes"/> is null when the size is not known.</summary>
public sealed record ProgressEvent(string Activity, string Status, long Bytes, long? TotalBytes, double BytesPerSecond, bool Completed = false) : EngineEvent
{
    public int? PercentComplete => TotalBytes is > 0 ? (int)Math.Clamp(Bytes * 100 / TotalBytes.Value, 0, 100) : null;
}

public enum MessageLevel { Verbose, Information, Warning }

/// <summary>A message for the user (never contains secrets).</summary>
public sealed record MessageEvent(MessageLevel Level, string Message) : EngineEvent;
