using System.Diagnostics;
using DbBackup.Engine.Catalog;
using DbBackup.Engine.Errors;
using DbBackup.Engine.Repository;
using DbBackup.Engine.Storage;

namespace DbBackup.Engine.Restore;

/// <summary>Test-Backup: reads every frame, authenticates, checks every hash; a damaged backup is a result, not an exception.</summary>
internal sealed class VerifyOperation(BackupCatalog catalog, StorageOptions? storageOptions = null)
{
    public async Task<VerificationResult> RunAsync(VerifyRequest request, IProgress<EngineEvent>? events, CancellationToken cancellationToken)
    {
        var start = DateTimeOffset.UtcNow;
        var clock = Stopwatch.StartNew();
        var repository = new BackupRepository(StorageRegistry.Open(request.Repository, storageOptions));
        LocatedBackup backup;
        try
        {
            backup = await BackupLocator.LocateAsync(repository, catalog, request.BackupId, request.Database, request.Encryption, events, cancellationToken).ConfigureAwait(false);
        }
        catch (BackupIntegrityException e) when (e.ErrorId is ErrorIds.BackupTampered or ErrorIds.BackupCorrupted)
        {
            catalog.RecordRun("verify", repository.DisplayLocation, request.Database, request.BackupId, start, false, e.ErrorId, e.Message);
            return Invalid(request.Database ?? "", request.BackupId, repository.DisplayLocation, 0, 0, 0, 0, clock.Elapsed, e);
        }
        var manifest = backup.Manifest;
        var frames = 0;
        long bytes = 0;
        try
        {
            await using var reader = await backup.OpenReaderAsync(cancellationToken).ConfigureAwait(false);
            try
            {
                await using (new ProgressTicker(events, $"Verifying {manifest.Database}", () => reader.BytesRead, manifest.Data.Size) { Status = manifest.BackupId })
                {
                    await reader.CopyToAsync(Stream.Null, cancellationToken).ConfigureAwait(false);
                }
            }
            finally
            {
                frames = reader.FramesRead;
                bytes = reader.BytesRead;
            }
        }
        catch (BackupIntegrityException e)
        {
            catalog.RecordRun("verify", repository.DisplayLocation, manifest.Database, manifest.BackupId, start, false, e.ErrorId, e.Message);
            return Invalid(manifest.Database, manifest.BackupId, repository.DisplayLocation, frames, manifest.Data.FrameCount, bytes, manifest.Data.StoredSize, clock.Elapsed, e);
        }
        catalog.RecordRun("verify", repository.DisplayLocation, manifest.Database, manifest.BackupId, start, true, null, null);
        return new VerificationResult
        {
            BackupId = manifest.BackupId,
            Database = manifest.Database,
            Repository = repository.DisplayLocation,
            IsValid = true,
            FramesChecked = frames,
            FrameCount = manifest.Data.FrameCount,
            Size = bytes,
            StoredSize = manifest.Data.StoredSize,
            Duration = clock.Elapsed,
        };
    }

    private static VerificationResult Invalid(string database, string backupId, string repository, int frames, int frameCount, long bytes, long stored, TimeSpan duration, DbBackupException e) => new()
    {
        BackupId = backupId,
        Database = database,
        Repository = repository,
        IsValid = false,
        FramesChecked = frames,
        FrameCount = frameCount,
        Size = bytes,
        StoredSize = stored,
        Duration = duration,
        ErrorId = e.ErrorId,
        Problems = [e.Message],
    };
}
