using DbBackup.Engine.Connectors;

namespace DbBackup.Engine;

/// <summary>
/// The one entry point hosts call. Every method is async, honours cancellation, reports through
/// <paramref name="events"/> and throws <see cref="Errors.DbBackupException"/> subclasses.
/// </summary>
public sealed class DbBackupService
{
    // CONTRACT STUB — implemented by the repository/service work.
    public DbBackupService(EngineSettings? settings = null) { _ = settings; }

    public Task<BackupRecord> BackupAsync(BackupRequest request, IProgress<EngineEvent>? events, CancellationToken cancellationToken)
        => throw new NotImplementedException();

    /// <summary>Whether the target exists and is empty (hosts ask before replacing a non-empty one).</summary>
    public Task<TargetState> GetTargetStateAsync(ConnectionOptions target, CancellationToken cancellationToken)
        => throw new NotImplementedException();

    public Task<RestoreResult> RestoreAsync(RestoreRequest request, IProgress<EngineEvent>? events, CancellationToken cancellationToken)
        => throw new NotImplementedException();

    public Task<VerificationResult> VerifyAsync(VerifyRequest request, IProgress<EngineEvent>? events, CancellationToken cancellationToken)
        => throw new NotImplementedException();

    public Task<IReadOnlyList<BackupRecord>> GetHistoryAsync(HistoryQuery query, IProgress<EngineEvent>? events, CancellationToken cancellationToken)
        => throw new NotImplementedException();

    public Task<ConnectionTestResult> TestConnectionAsync(ConnectionOptions connection, CancellationToken cancellationToken)
        => throw new NotImplementedException();
}
