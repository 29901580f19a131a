namespace DbBackup;

/// <summary>The outcome of Test-DatabaseConnection.</summary>
public sealed class ConnectionTestResult
{
    public required DatabaseEngine Engine { get; init; }
    /// <summary>Host (or file path for SQLite) that was tested.</summary>
    public required string Server { get; init; }
    public int? Port { get; init; }
    public required string Database { get; init; }
    public required bool Success { get; init; }
    public string? ServerVersion { get; init; }
    public string? ToolName { get; init; }
    public string? ToolVersion { get; init; }
    public string? ToolPath { get; init; }
    public TimeSpan? Latency { get; init; }
    /// <summary>Stable error id when the test failed (for example <c>AuthenticationFailed</c>).</summary>
    public string? ErrorId { get; init; }
    public string? Message { get; init; }
    /// <summary>What to do about the failure.</summary>
    public string? RecommendedAction { get; init; }

    public override string ToString() => Success ? $"{Engine} {Server}: OK ({ServerVersion})" : $"{Engine} {Server}: {ErrorId}: {Message}";
}
