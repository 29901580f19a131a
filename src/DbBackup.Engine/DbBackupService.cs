using DbBackup.Engine.Backup;
using DbBackup.Engine.Catalog;
using DbBackup.Engine.Connectors;
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

    public DbBackupService(EngineSettings? settings = null)
    {
        var path = settings?.CatalogPath ?? BackupCatalog.DefaultPath();
        _catalog = new Lazy<BackupCatalog>(() => new BackupCatalog(path));
    }

    /// <summary>The local catalog (index + local state).</summary>
    public BackupCatalog Catalog => _catalog.Value;

    public Task<BackupRecord> BackupAsync(BackupRequest request, IProgress<EngineEvent>? events, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        return new BackupOperation(_catalog).RunAsync(request, events, cancellationToken);
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
        return new RestoreOperation(Catalog).RunAsync(request, events, cancellationToken);
    }

    public Task<VerificationResult> VerifyAsync(VerifyRequest request, IProgress<EngineEvent>? events, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        return new VerifyOperation(Catalog).RunAsync(request, events, cancellationToken);
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
        var repository = new BackupRepository(StorageRegistry.Open(query.Repository));
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
