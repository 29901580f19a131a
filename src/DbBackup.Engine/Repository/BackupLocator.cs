using DbBackup.Engine.Catalog;
using DbBackup.Engine.Errors;
using DbBackup.Engine.Pipeline;
using DbBackup.Engine.Pipeline.Crypto;

namespace DbBackup.Engine.Repository;

/// <summary>A backup found in a repository, with its keys opened and manifest authenticated.</summary>
internal sealed record LocatedBackup(BackupRepository Repository, StoredManifest Stored, BackupKeys? Keys)
{
    public BackupManifest Manifest => Stored.Manifest;
    public string Prefix => BackupRepository.PrefixOf(Manifest.Database, Manifest.BackupId);

    public Task<BackupDataReader> OpenReaderAsync(CancellationToken cancellationToken) =>
        BackupDataReader.OpenAsync(Repository.Storage, Prefix, Manifest.BackupId, Manifest.Data, Keys, cancellationToken);
}

/// <summary>Finds a backup by id (and optionally database) in a repository.</summary>
internal static class BackupLocator
{
    public static async Task<LocatedBackup> LocateAsync(BackupRepository repository, BackupCatalog catalog, string backupId, string? database,
        EncryptionOptions? encryption, IProgress<EngineEvent>? events, CancellationToken cancellationToken)
    {
        if (string.IsNullOrWhiteSpace(backupId))
            throw new DbBackupException(ErrorIds.InvalidArgument, ErrorKind.InvalidArgument, "No backup id was given.", "Pass -BackupId or pipe a backup from Get-BackupHistory.");
        database ??= await FindDatabaseAsync(repository, catalog, backupId, cancellationToken).ConfigureAwait(false);
        var stored = await repository.ReadManifestAsync(database, backupId, cancellationToken).ConfigureAwait(false);
        if (stored.Manifest.BackupId != backupId || stored.Manifest.Database != database)
        {
            throw new BackupIntegrityException(ErrorIds.BackupCorrupted,
                $"The manifest in '{BackupRepository.PrefixOf(database, backupId)}' describes a different backup ('{stored.Manifest.Database}/{stored.Manifest.BackupId}').",
                "The repository was rearranged by hand; restore another backup.") { Target = backupId };
        }
        if (stored.Manifest.Data.Encryption is null && encryption is { IsEnabled: true })
            events?.Report(new MessageEvent(MessageLevel.Warning, $"Backup '{backupId}' is not encrypted; the passphrase/key file given is not needed and was not used."));
        var keys = await repository.OpenKeysAsync(stored, encryption, cancellationToken).ConfigureAwait(false);
        return new LocatedBackup(repository, stored, keys);
    }

    internal static async Task<string> FindDatabaseAsync(BackupRepository repository, BackupCatalog catalog, string backupId, CancellationToken cancellationToken)
    {
        var known = catalog.Query(new HistoryQuery { Repository = repository.DisplayLocation, BackupId = backupId });
        if (known.Count == 1) return known[0].Database;
        var found = new List<string>();
        await foreach (var (db, id) in repository.ListBackupsAsync(null, cancellationToken).ConfigureAwait(false))
            if (id == backupId) found.Add(db);
        return found.Count switch
        {
            1 => found[0],
            0 => throw new BackupNotFoundException(ErrorIds.BackupNotFound, $"No backup '{backupId}' exists in repository '{repository.DisplayLocation}'.",
                "List the backups with Get-BackupHistory -Repository <location> -Refresh (CLI: dbbackup history --repository <location> --refresh).") { Target = backupId },
            _ => throw new DbBackupException(ErrorIds.InvalidArgument, ErrorKind.InvalidArgument,
                $"Backup id '{backupId}' exists for several databases ({string.Join(", ", found)}) in '{repository.DisplayLocation}'.",
                "Pass -Database to choose one.") { Target = backupId },
        };
    }
}
