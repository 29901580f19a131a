using System.Security.Cryptography;
using DbBackup.Engine.Catalog;
using DbBackup.Engine.Connectors;
using DbBackup.Engine.Errors;
using DbBackup.Engine.Repository;
using DbBackup.Engine.Storage;

namespace DbBackup.Engine.Restore;

/// <summary>
/// Plan, validate, execute. The target is not touched until every frame has been read and authenticated:
/// where the connector can swap (PostgreSQL rename, SQLite file rename) the backup streams into a staging
/// database that is swapped in only after the reader reached a verified end; otherwise (MariaDB) the whole
/// backup is verified first and then restored.
/// </summary>
internal sealed class RestoreOperation(BackupCatalog catalog, StorageOptions? storageOptions = null)
{
    public async Task<RestoreResult> RunAsync(RestoreRequest request, IProgress<EngineEvent>? events, CancellationToken cancellationToken)
    {
        var start = DateTimeOffset.UtcNow;
        var repository = new BackupRepository(StorageRegistry.Open(request.Repository, storageOptions));
        try
        {
            var backup = await BackupLocator.LocateAsync(repository, catalog, request.BackupId, request.Database, request.Encryption, events, cancellationToken).ConfigureAwait(false);
            var manifest = backup.Manifest;
            if (request.Target.Engine != manifest.Engine)
            {
                throw new DbBackupException(ErrorIds.InvalidArgument, ErrorKind.InvalidArgument,
                    $"Backup '{manifest.BackupId}' is a {manifest.Engine} backup and cannot be restored into a {request.Target.Engine} database.",
                    $"Restore it into a {manifest.Engine} server.") { Target = manifest.BackupId };
            }
            var connector = ConnectorRegistry.Get(manifest.Engine);
            var state = await connector.GetTargetStateAsync(request.Target, cancellationToken).ConfigureAwait(false);
            if (state.Exists && !state.IsEmpty && !request.ReplaceExisting)
            {
                throw new DbBackupException(ErrorIds.TargetNotEmpty, ErrorKind.InvalidOperation,
                    $"The target database '{request.Target.Database}' exists and is not empty; nothing was changed.",
                    "Restore into a new name with -TargetDatabase, or replace it with -Force (CLI: --force).") { Target = request.Target.Database };
            }
            events?.Report(new MessageEvent(MessageLevel.Verbose,
                $"Restoring {manifest.Database}/{manifest.BackupId} ({manifest.Data.Size} bytes, {manifest.Data.FrameCount} frames) into {request.Target}."));

            var method = connector.RestoreStrategy == RestoreStrategy.StagingSwap
                ? await RestoreViaStagingAsync(connector, backup, request.Target, events, cancellationToken).ConfigureAwait(false)
                : await RestoreAfterVerificationAsync(connector, backup, request.Target, state, events, cancellationToken).ConfigureAwait(false);

            catalog.RecordRun("restore", repository.DisplayLocation, manifest.Database, manifest.BackupId, start, true, null, null);
            return new RestoreResult
            {
                BackupId = manifest.BackupId,
                Engine = manifest.Engine,
                SourceDatabase = manifest.Database,
                TargetDatabase = request.Target.Database,
                ReplacedExisting = state.Exists && !state.IsEmpty,
                Method = method,
                Size = manifest.Data.Size,
                StartTime = start,
                EndTime = DateTimeOffset.UtcNow,
            };
        }
        catch (Exception e)
        {
            catalog.RecordRun("restore", repository.DisplayLocation, request.Database, request.BackupId, start, false,
                (e as DbBackupException)?.ErrorId ?? (e is OperationCanceledException ? ErrorIds.OperationCancelled : null), e.Message);
            throw;
        }
    }

    private static async Task<RestoreMethod> RestoreViaStagingAsync(IDatabaseConnector connector, LocatedBackup backup, ConnectionOptions target,
        IProgress<EngineEvent>? events, CancellationToken cancellationToken)
    {
        var staging = target.WithDatabase(StagingName(target));
        await connector.DropAsync(staging, cancellationToken).ConfigureAwait(false);
        try
        {
            await StreamIntoAsync(connector, backup, staging, "Restoring", events, cancellationToken).ConfigureAwait(false);
            // Every frame is authenticated and the whole plaintext hash matched: only now is the target touched.
            await connector.SwapInAsync(staging, target, cancellationToken).ConfigureAwait(false);
            return RestoreMethod.StagingSwap;
        }
        catch
        {
            await DropQuietlyAsync(connector, staging, events).ConfigureAwait(false);
            throw;
        }
    }

    private static async Task<RestoreMethod> RestoreAfterVerificationAsync(IDatabaseConnector connector, LocatedBackup backup, ConnectionOptions target,
        TargetState state, IProgress<EngineEvent>? events, CancellationToken cancellationToken)
    {
        // No cheap swap on this engine: prove the whole backup intact before the target is touched.
        await using (var reader = await backup.OpenReaderAsync(cancellationToken).ConfigureAwait(false))
        await using (var ticker = new ProgressTicker(events, $"Verifying {backup.Manifest.Database}", () => reader.BytesRead, backup.Manifest.Data.Size) { Status = "verifying before restore" })
        {
            await reader.CopyToAsync(Stream.Null, cancellationToken).ConfigureAwait(false);
        }
        if (state.Exists) await connector.DropAsync(target, cancellationToken).ConfigureAwait(false);
        try
        {
            await StreamIntoAsync(connector, backup, target, "Restoring", events, cancellationToken).ConfigureAwait(false);
            return RestoreMethod.VerifiedThenRestored;
        }
        catch (Exception e) when (e is not DbBackupException { ErrorId: ErrorIds.RestoreFailed })
        {
            if (!state.Exists)
            {
                await DropQuietlyAsync(connector, target, events).ConfigureAwait(false);
                throw;
            }
            throw new DbBackupException(ErrorIds.RestoreFailed, ErrorKind.WriteError,
                $"Restoring into '{target.Database}' failed after the old contents were dropped: the database is INCOMPLETE. Cause: {e.Message}",
                $"Do not use '{target.Database}'; fix the cause and run the restore again with -Force.", e) { Target = target.Database };
        }
    }

    private static async Task StreamIntoAsync(IDatabaseConnector connector, LocatedBackup backup, ConnectionOptions into, string activity,
        IProgress<EngineEvent>? events, CancellationToken cancellationToken)
    {
        await using var reader = await backup.OpenReaderAsync(cancellationToken).ConfigureAwait(false);
        await using var capturing = new FailureCapturingStream(reader);
        await using var ticker = new ProgressTicker(events, $"{activity} {backup.Manifest.Database}", () => reader.BytesRead, backup.Manifest.Data.Size) { Status = "restoring" };
        try
        {
            await connector.RestoreAsync(into, capturing, cancellationToken).ConfigureAwait(false);
            await capturing.DrainAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (capturing.Failure is not null && !ReferenceEquals(e, capturing.Failure))
        {
            // The tool failed because its input did: report the integrity problem, not the tool's complaint.
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(capturing.Failure).Throw();
        }
    }

    private static async Task DropQuietlyAsync(IDatabaseConnector connector, ConnectionOptions database, IProgress<EngineEvent>? events)
    {
        try
        {
            await connector.DropAsync(database, CancellationToken.None).ConfigureAwait(false);
        }
        catch (Exception e) when (e is DbBackupException or IOException or InvalidOperationException)
        {
            events?.Report(new MessageEvent(MessageLevel.Warning, $"Could not drop the staging database '{database.Database}': {e.Message}. Drop it by hand."));
        }
    }

    /// <summary>A staging name beside the target: a hidden file in the same folder (SQLite) or a sibling database.</summary>
    internal static string StagingName(ConnectionOptions target)
    {
        var suffix = Convert.ToHexString(RandomNumberGenerator.GetBytes(4)).ToLowerInvariant();
        if (target.Engine == DatabaseEngine.Sqlite)
        {
            var full = Path.GetFullPath(target.Database);
            return Path.Combine(Path.GetDirectoryName(full)!, $".{Path.GetFileName(full)}.dbbackup-staging-{suffix}");
        }
        var name = target.Database.Length > 40 ? target.Database[..40] : target.Database; // identifiers are at most 63 bytes
        return $"{name}__dbbackup_staging_{suffix}";
    }
}
