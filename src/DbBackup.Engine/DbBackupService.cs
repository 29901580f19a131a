using DbBackup.Engine.Backup;
using DbBackup.Engine.Catalog;
using DbBackup.Engine.Connectors;
using DbBackup.Engine.Copy;
using DbBackup.Engine.Errors;
using DbBackup.Engine.Repository;
using DbBackup.Engine.Restore;
using DbBackup.Engine.Storage;

namespace DbBackup.Engine;

/// <summary>
/// The one entry point hosts call. Every method is async, honours cancellation, reports through
/// <c>events</c> and throws <see cref="DbBackupException"/> subclasses (or <see cref="OperationCanceledException"/>).
/// </summary>
public sealed class DbBackupService
{
    private readonly Lazy<BackupCatalog> _catalog;
    private readonly StorageOptions? _storage;

    public DbBackupService(EngineSettings? settings = null)
    {
        _storage = settings?.Storage;
        var path = settings?.CatalogPath ?? BackupCatalog.DefaultPath();
        _catalog = new Lazy<BackupCatalog>(() => new BackupCatalog(path));
    }

    /// <summary>The local catalog (index + local state).</summary>
    public BackupCatalog Catalog => _catalog.Value;

    public Task<BackupRecord> BackupAsync(BackupRequest request, IProgress<EngineEvent>? events, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        return new BackupOperation(_catalog, _storage).RunAsync(request, events, cancellationToken);
    }

    /// <summary>
    /// Backs up into <see cref="BackupRequest.Repository"/>, then copies the backup into each of
    /// <paramref name="copyTo"/> ("local, then cloud"), each copy verified in its target. A failed backup throws; a
    /// failed copy is a failed <see cref="CopyResult"/> beside the others (partial success is reported, never hidden).
    /// </summary>
    public async Task<MultiTargetBackup> BackupToTargetsAsync(BackupRequest request, IReadOnlyList<string> copyTo, IProgress<EngineEvent>? events, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(copyTo);
        var record = await BackupAsync(request, events, cancellationToken).ConfigureAwait(false);
        if (copyTo.Count == 0) return new MultiTargetBackup(record, [], []);
        var copies = await CopyAsync(new CopyRequest
        {
            Source = request.Repository,
            Targets = copyTo,
            BackupId = record.BackupId,
            Database = record.Database,
            Encryption = request.Encryption,
        }, events, cancellationToken).ConfigureAwait(false);
        var copied = copies.Where(c => c.Succeeded)
            .SelectMany(c => Catalog.Query(new HistoryQuery { Repository = c.Target, BackupId = record.BackupId }).Where(r => r.Database == record.Database))
            .ToList();
        return new MultiTargetBackup(record, copies, copied);
    }

    /// <summary>
    /// Copies one backup into each target repository; one result per target, failures included. Throws when the
    /// backup cannot be read from the source (not found, damaged manifest) or when cancelled.
    /// </summary>
    public Task<IReadOnlyList<CopyResult>> CopyAsync(CopyRequest request, IProgress<EngineEvent>? events, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        return new CopyOperation(Catalog, _storage).RunAsync(request, events, cancellationToken);
    }

    /// <summary>Whether the target exists and is empty (hosts ask before replacing a non-empty one).</summary>
    public Task<TargetState> GetTargetStateAsync(ConnectionOptions target, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(target);
        return ConnectorRegistry.Get(target.Engine).GetTargetStateAsync(target, cancellationToken);
    }

    public Task<RestoreResult> RestoreAsync(RestoreRequest request, IProgress<EngineEvent>? events, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        return new RestoreOperation(Catalog, _storage).RunAsync(request, events, cancellationToken);
    }

    public Task<VerificationResult> VerifyAsync(VerifyRequest request, IProgress<EngineEvent>? events, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        return new VerifyOperation(Catalog, _storage).RunAsync(request, events, cancellationToken);
    }

    /// <summary>
    /// Backups from the catalog index. With a repository, its index is rebuilt from the repository's manifests
    /// first when <see cref="HistoryQuery.Refresh"/> is set or the catalog has never indexed it.
    /// </summary>
    public async Task<IReadOnlyList<BackupRecord>> GetHistoryAsync(HistoryQuery query, IProgress<EngineEvent>? events, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(query);
        if (query.Last is <= 0)
            throw new DbBackupException(ErrorIds.InvalidArgument, ErrorKind.InvalidArgument, $"-Last must be at least 1 (was {query.Last}).");
        if (query.Repository is null)
        {
            if (query.Refresh)
                throw new DbBackupException(ErrorIds.InvalidArgument, ErrorKind.InvalidArgument, "-Refresh needs -Repository: the catalog is rebuilt from one repository at a time.",
                    "Pass -Repository <location> with -Refresh.");
            return Catalog.Query(query);
        }
        var repository = new BackupRepository(StorageRegistry.Open(query.Repository, _storage));
        if (query.Refresh || !Catalog.HasIndexed(repository.DisplayLocation))
            await RefreshAsync(repository, events, cancellationToken).ConfigureAwait(false);
        return Catalog.Query(new HistoryQuery
        {
            Repository = repository.DisplayLocation, Database = query.Database, Engine = query.Engine,
            BackupId = query.BackupId, Since = query.Since, Last = query.Last,
        });
    }

    public Task<ConnectionTestResult> TestConnectionAsync(ConnectionOptions connection, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(connection);
        return ConnectorRegistry.Get(connection.Engine).TestConnectionAsync(connection, cancellationToken);
    }

    /// <summary>Rebuilds the catalog index of one repository from its manifests; local state is left alone.</summary>
    private async Task RefreshAsync(BackupRepository repository, IProgress<EngineEvent>? events, CancellationToken cancellationToken)
    {
        if (repository.Storage is LocalFileStorage local && !Directory.Exists(local.RootPath))
        {
            throw new BackupNotFoundException(ErrorIds.RepositoryNotFound, $"The repository '{repository.DisplayLocation}' does not exist.",
                "Check the path; a repository is created by the first backup into it.") { Target = repository.DisplayLocation };
        }
        var records = new List<BackupRecord>();
        await foreach (var (database, backupId) in repository.ListBackupsAsync(null, cancellationToken).ConfigureAwait(false))
        {
            try
            {
                var stored = await repository.ReadManifestAsync(database, backupId, cancellationToken).ConfigureAwait(false);
                records.Add(stored.Manifest.ToRecord(repository.DisplayLocation));
            }
            catch (BackupIntegrityException e)
            {
                events?.Report(new MessageEvent(MessageLevel.Warning, $"Skipped {database}/{backupId}: {e.Message}"));
            }
        }
        Catalog.ReplaceRepository(repository.DisplayLocation, records);
        events?.Report(new MessageEvent(MessageLevel.Verbose, $"Indexed {records.Count} backup(s) from {repository.DisplayLocation}."));
    }
}

/// <summary>
/// A backup written to its first repository, the outcome of each copy into the further ones, and the backup's record in
/// each repository that now holds it (the copies' records name their own repository).
/// </summary>
public sealed record MultiTargetBackup(BackupRecord Backup, IReadOnlyList<CopyResult> Copies, IReadOnlyList<BackupRecord> CopyRecords)
{
    public bool AllSucceeded => Copies.All(c => c.Succeeded);
}
