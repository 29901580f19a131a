using DbBackup.Engine.Catalog;
using DbBackup.Engine.Connectors;
using DbBackup.Engine.Errors;
using DbBackup.Engine.Pipeline;
using DbBackup.Engine.Pipeline.Crypto;
using DbBackup.Engine.Repository;
using DbBackup.Engine.Storage;

namespace DbBackup.Engine.Backup;

/// <summary>
/// One full backup: describe the source, sweep leftovers, take a lease, stream the dump through the
/// pipeline into data volumes, then commit by writing the manifest. Any failure or cancellation removes
/// everything the backup wrote, so it never becomes visible.
/// The catalog opens (SQLite load, schema check) while the source is described; it must have opened before
/// the backup touches the repository, so a broken catalog still fails the backup before anything is written.
/// </summary>
internal sealed class BackupOperation(Lazy<BackupCatalog> catalogSource, StorageOptions? storageOptions = null)
{
    public async Task<BackupRecord> RunAsync(BackupRequest request, IProgress<EngineEvent>? events, CancellationToken cancellationToken)
    {
        var start = DateTimeOffset.UtcNow;
        TimingTrace.Mark("backup: start");
        var connector = ConnectorRegistry.Get(request.Source.Engine);
        var database = connector.RepositoryName(request.Source);
        var repository = new BackupRepository(StorageRegistry.Open(request.Repository, storageOptions));
        var opening = catalogSource.IsValueCreated ? Task.FromResult(catalogSource.Value) : Task.Run(() => catalogSource.Value, CancellationToken.None);
        string? backupId = null;
        // Connectors whose dump is a streaming tool start it now; it writes once the pipeline is attached below.
        using var dumpCancellation = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var earlyOutput = connector.DumpStartsEarly ? new DeferredWriteStream() : null;
        var dumping = earlyOutput is null ? null
            : Task.Run(() => connector.DumpAsync(request.Source, earlyOutput, dumpCancellation.Token), CancellationToken.None);
        try
        {
            var description = await connector.DescribeAsync(request.Source, cancellationToken).ConfigureAwait(false);
            TimingTrace.Mark("backup: source described");
            events?.Report(new MessageEvent(MessageLevel.Verbose,
                $"Backing up {request.Source} ({request.Source.Engine} {description.ServerVersion}) with {description.ToolName ?? "built-in API"} {description.ToolVersion} to {repository.DisplayLocation}."));

            var catalog = await opening.ConfigureAwait(false);
            TimingTrace.Mark("backup: catalog open");
            var swept = await repository.SweepAsync(database, cancellationToken).ConfigureAwait(false);
            if (swept.Count > 0)
                events?.Report(new MessageEvent(MessageLevel.Verbose, $"Removed leftovers of {swept.Count} interrupted backup(s): {string.Join(", ", swept)}."));

            var compression = request.Compression ?? DefaultCompression();
            var keys = await CreateKeysAsync(repository, request.Encryption, cancellationToken).ConfigureAwait(false);
            backupId = BackupRepository.NewBackupId(start);
            var prefix = BackupRepository.PrefixOf(database, backupId);
            await repository.WriteLeaseAsync(database, backupId, cancellationToken).ConfigureAwait(false);
            TimingTrace.Mark("backup: swept, lease written");

            var options = new PipelineOptions
            {
                Chunker = connector.CreateChunker(),
                Compression = compression,
                CompressionLevel = request.CompressionLevel,
                Encryption = request.Encryption,
                VolumeSize = request.VolumeSize ?? DefaultVolumeSize,
            };
            DataSummary summary;
            await using (var writer = await BackupDataWriter.CreateAsync(repository.Storage, prefix, backupId, options, keys, cancellationToken).ConfigureAwait(false))
            {
                await using (var ticker = new ProgressTicker(events, $"Backing up {database}", () => writer.BytesWritten, description.EstimatedSize) { Status = "dumping" })
                {
                    TimingTrace.Mark("backup: pipeline ready, dump starting");
                    if (dumping is null)
                    {
                        await connector.DumpAsync(request.Source, writer, cancellationToken).ConfigureAwait(false);
                    }
                    else
                    {
                        earlyOutput!.Attach(writer);
                        await dumping.ConfigureAwait(false);
                    }
                    TimingTrace.Mark("backup: dump finished");
                    ticker.Status = "finishing";
                    summary = await writer.CompleteAsync(cancellationToken).ConfigureAwait(false);
                    TimingTrace.Mark("backup: pipeline complete (last volume and index committed)");
                }
            }

            var manifest = new BackupManifest
            {
                BackupId = backupId,
                Database = database,
                Engine = request.Source.Engine,
                Type = BackupType.Full,
                StartTime = start,
                EndTime = DateTimeOffset.UtcNow,
                ServerVersion = description.ServerVersion,
                ToolName = description.ToolName,
                ToolVersion = description.ToolVersion,
                SourceHost = request.Source.Engine == DatabaseEngine.Sqlite ? Environment.MachineName : request.Source.Host,
                CreatedBy = "DbBackup " + typeof(BackupOperation).Assembly.GetName().Version,
                Data = summary,
            };
            await repository.WriteManifestAsync(manifest, keys, cancellationToken).ConfigureAwait(false);
            await repository.DeleteLeaseAsync(database, backupId, CancellationToken.None).ConfigureAwait(false);
            TimingTrace.Mark("backup: manifest written, lease removed");

            var record = manifest.ToRecord(repository.DisplayLocation);
            catalog.Upsert(record);
            catalog.RecordRun("backup", repository.DisplayLocation, database, backupId, start, true, null, null);
            TimingTrace.Mark("backup: catalog updated");
            TimingTrace.ReportStages();
            return record;
        }
        catch (Exception e)
        {
            if (dumping is not null) await StopDumpAsync(dumping, earlyOutput!, dumpCancellation, e).ConfigureAwait(false);
            if (backupId is not null) await RemoveUncommittedAsync(repository, database, backupId, events).ConfigureAwait(false);
            // A catalog that failed to open reports that failure instead (as it did when it opened first).
            var catalog = await opening.ConfigureAwait(false);
            catalog.RecordRun("backup", repository.DisplayLocation, database, backupId, start, false,
                (e as DbBackupException)?.ErrorId ?? (e is OperationCanceledException ? ErrorIds.OperationCancelled : null), e.Message);
            throw;
        }
    }

    internal const long DefaultVolumeSize = 64L * 1024 * 1024;

    internal static CompressionCodec DefaultCompression() => ZstdCodec.IsAvailable ? CompressionCodec.Zstd : CompressionCodec.Gzip;

    private static async Task<BackupKeys?> CreateKeysAsync(BackupRepository repository, EncryptionOptions? encryption, CancellationToken cancellationToken)
    {
        if (encryption is null || !encryption.IsEnabled) return null;
        var chunkIdKey = await repository.OpenRepositoryKeyAsync(encryption, create: true, cancellationToken).ConfigureAwait(false);
        return BackupKeys.Create(encryption, chunkIdKey);
    }

    /// <summary>
    /// Stops an early-started dump after the backup failed elsewhere (or the dump itself failed): cancelling kills
    /// the tool, abandoning releases a write waiting for the pipeline. Waits for it, so no child outlives the backup.
    /// </summary>
    private static async Task StopDumpAsync(Task dumping, DeferredWriteStream output, CancellationTokenSource cancellation, Exception failure)
    {
        if (!dumping.IsCompleted) await cancellation.CancelAsync().ConfigureAwait(false);
        output.Abandon();
        try
        {
            await dumping.ConfigureAwait(false);
        }
        catch (Exception stopped) when (ReferenceEquals(stopped, failure) || stopped is OperationCanceledException or DbBackupException or IOException or ObjectDisposedException or InvalidOperationException)
        {
            // The backup's own failure (possibly this very exception) is the one reported; the stopped dump's is a consequence.
        }
    }

    private static async Task RemoveUncommittedAsync(BackupRepository repository, string database, string backupId, IProgress<EngineEvent>? events)
    {
        try
        {
            await repository.DeleteUncommittedAsync(database, backupId, CancellationToken.None).ConfigureAwait(false);
        }
        catch (Exception cleanup) when (cleanup is IOException or UnauthorizedAccessException or DbBackupException)
        {
            // The backup is invisible without its manifest either way; the next backup's sweep removes the rest.
            events?.Report(new MessageEvent(MessageLevel.Warning,
                $"Could not remove the partial data of the failed backup '{backupId}' ({cleanup.Message}); it has no manifest, so it is not a backup, and the next backup's sweep removes it."));
        }
    }
}
