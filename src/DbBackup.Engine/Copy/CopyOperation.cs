using System.Buffers;
using System.Diagnostics;
using System.Security.Cryptography;
using System.Text.Json;
using DbBackup.Engine.Catalog;
using DbBackup.Engine.Errors;
using DbBackup.Engine.Pipeline;
using DbBackup.Engine.Pipeline.Crypto;
using DbBackup.Engine.Repository;
using DbBackup.Engine.Storage;

namespace DbBackup.Engine.Copy;

/// <summary>
/// Copies one committed backup into further repositories. Per target: the repository key is checked (or copied), a
/// lease is taken, the data volumes and the frame index are copied (objects already there with the right size are
/// skipped, so an interrupted copy resumes from the last complete volume; each copied object is hashed on the way and
/// must match the manifest), every object is read back from the target and checked (unless verification is off), and
/// only then the manifest is written: a partial or broken copy is never visible. The source is never modified.
/// A target that fails becomes a failed <see cref="CopyResult"/>; the other targets still get their copy.
/// </summary>
internal sealed class CopyOperation(BackupCatalog catalog, StorageOptions? storageOptions)
{
    private const int BufferSize = 1 << 20;

    /// <summary>The backup as read from the source: its manifest (parsed and as stored) and the repository key file it needs.</summary>
    private sealed record SourceBackup(BackupRepository Repository, BackupManifest Manifest, byte[] ManifestBytes, byte[]? KeyFile)
    {
        public string Prefix => BackupRepository.PrefixOf(Manifest.Database, Manifest.BackupId);
    }

    /// <summary>Copies into every target; throws only when the source backup cannot be read (or on cancellation).</summary>
    public async Task<IReadOnlyList<CopyResult>> RunAsync(CopyRequest request, IProgress<EngineEvent>? events, CancellationToken cancellationToken)
    {
        if (request.Targets.Count == 0)
            throw new DbBackupException(ErrorIds.InvalidArgument, ErrorKind.InvalidArgument, "No copy target was given.", "Pass at least one target repository (CLI: --to).");
        var source = new BackupRepository(StorageRegistry.Open(request.Source, storageOptions));
        var backup = await ReadSourceAsync(source, request.BackupId, request.Database, cancellationToken).ConfigureAwait(false);
        var results = new List<CopyResult>();
        foreach (var location in request.Targets)
        {
            cancellationToken.ThrowIfCancellationRequested();
            results.Add(await CopyToAsync(backup, location, request.Verify, request.Encryption, events, cancellationToken).ConfigureAwait(false));
        }
        return results;
    }

    private async Task<SourceBackup> ReadSourceAsync(BackupRepository source, string backupId, string? database, CancellationToken cancellationToken)
    {
        if (string.IsNullOrWhiteSpace(backupId))
            throw new DbBackupException(ErrorIds.InvalidArgument, ErrorKind.InvalidArgument, "No backup id was given.", "Pass -BackupId (CLI: --backup-id) or pipe a backup from Get-BackupHistory.");
        database ??= await BackupLocator.FindDatabaseAsync(source, catalog, backupId, cancellationToken).ConfigureAwait(false);
        var manifestKey = BackupRepository.PrefixOf(database, backupId) + BackupRepository.ManifestName;
        byte[] bytes;
        try
        {
            bytes = await source.ReadAllAsync(manifestKey, cancellationToken).ConfigureAwait(false);
        }
        catch (BackupNotFoundException e)
        {
            throw new BackupNotFoundException(ErrorIds.BackupNotFound, $"Backup '{backupId}' of database '{database}' was not found in repository '{source.DisplayLocation}'.",
                "List the backups with Get-BackupHistory -Repository <location> -Refresh (CLI: dbbackup history --repository <location> --refresh).", e) { Target = backupId };
        }
        var manifest = BackupRepository.ParseManifest(bytes, manifestKey).Manifest;
        if (manifest.BackupId != backupId || manifest.Database != database)
        {
            throw new BackupIntegrityException(ErrorIds.BackupCorrupted,
                $"The manifest in '{BackupRepository.PrefixOf(database, backupId)}' describes a different backup ('{manifest.Database}/{manifest.BackupId}').",
                "The repository was rearranged by hand; copy another backup.") { Target = backupId };
        }
        byte[]? keyFile = null;
        if (manifest.Data.Encryption is not null)
        {
            if (await source.Storage.StatAsync(BackupRepository.KeyFileName, cancellationToken).ConfigureAwait(false) is null)
            {
                throw new BackupIntegrityException(ErrorIds.BackupCorrupted,
                    $"Backup '{backupId}' is encrypted but the repository '{source.DisplayLocation}' has no '{BackupRepository.KeyFileName}'.",
                    "Copy the repository key file back from another copy of this repository.") { Target = backupId };
            }
            keyFile = await source.ReadAllAsync(BackupRepository.KeyFileName, cancellationToken).ConfigureAwait(false);
        }
        return new SourceBackup(source, manifest, bytes, keyFile);
    }

    private async Task<CopyResult> CopyToAsync(SourceBackup backup, string location, bool verify, EncryptionOptions? encryption,
        IProgress<EngineEvent>? events, CancellationToken cancellationToken)
    {
        var start = DateTimeOffset.UtcNow;
        var clock = Stopwatch.StartNew();
        var manifest = backup.Manifest;
        var progress = new CopyProgress();
        string targetDisplay = location;
        try
        {
            var target = new BackupRepository(StorageRegistry.Open(location, storageOptions));
            targetDisplay = target.DisplayLocation;
            events?.Report(new MessageEvent(MessageLevel.Verbose, $"Copying {manifest.Database}/{manifest.BackupId} from {backup.Repository.DisplayLocation} to {targetDisplay}."));
            await using (new ProgressTicker(events, $"Copying {manifest.Database} to {targetDisplay}", () => progress.Bytes, manifest.Data.StoredSize) { Status = manifest.BackupId })
            {
                await CopyCoreAsync(backup, target, verify, encryption, progress, events, cancellationToken).ConfigureAwait(false);
            }
            catalog.Upsert(manifest.ToRecord(targetDisplay));
            catalog.RecordRun("copy", targetDisplay, manifest.Database, manifest.BackupId, start, true, null, null);
            return Result(backup, targetDisplay, progress, clock.Elapsed, verify, null);
        }
        catch (DbBackupException e)
        {
            events?.Report(new MessageEvent(MessageLevel.Warning, $"Copying {manifest.Database}/{manifest.BackupId} to {targetDisplay} failed: {e.Message}"));
            catalog.RecordRun("copy", targetDisplay, manifest.Database, manifest.BackupId, start, false, e.ErrorId, e.Message);
            return Result(backup, targetDisplay, progress, clock.Elapsed, false, e);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            var wrapped = new DbBackupException(ErrorIds.StorageError, ErrorKind.WriteError, $"Copying to '{targetDisplay}' failed: {e.Message}",
                "Check that the target repository is reachable and writable, then run the copy again; it resumes where it stopped.", e);
            events?.Report(new MessageEvent(MessageLevel.Warning, wrapped.Message));
            catalog.RecordRun("copy", targetDisplay, manifest.Database, manifest.BackupId, start, false, wrapped.ErrorId, wrapped.Message);
            return Result(backup, targetDisplay, progress, clock.Elapsed, false, wrapped);
        }
    }

    private static CopyResult Result(SourceBackup backup, string target, CopyProgress progress, TimeSpan duration, bool verified, DbBackupException? error) => new()
    {
        BackupId = backup.Manifest.BackupId,
        Database = backup.Manifest.Database,
        Source = backup.Repository.DisplayLocation,
        Target = target,
        Succeeded = error is null,
        Verified = error is null && verified,
        ObjectsCopied = progress.Copied,
        ObjectsSkipped = progress.Skipped,
        BytesCopied = progress.Bytes,
        Duration = duration,
        ErrorId = error?.ErrorId,
        Message = error?.Message,
    };

    private sealed class CopyProgress
    {
        private long _bytes;
        public long Bytes => Volatile.Read(ref _bytes);
        public int Copied { get; set; }
        public int Skipped { get; set; }
        public void Add(long n) => Interlocked.Add(ref _bytes, n);
    }

    /// <summary>One object of the backup and what the manifest says it must be.</summary>
    private sealed record BackupObject(string Key, string Description, long? Size, string Sha256);

    private static async Task CopyCoreAsync(SourceBackup backup, BackupRepository target, bool verify, EncryptionOptions? encryption,
        CopyProgress progress, IProgress<EngineEvent>? events, CancellationToken cancellationToken)
    {
        var manifest = backup.Manifest;
        var manifestKey = backup.Prefix + BackupRepository.ManifestName;
        var existing = await target.Storage.StatAsync(manifestKey, cancellationToken).ConfigureAwait(false);
        if (existing is not null)
        {
            var present = await target.ReadAllAsync(manifestKey, cancellationToken).ConfigureAwait(false);
            if (!present.AsSpan().SequenceEqual(backup.ManifestBytes))
            {
                throw new DbBackupException(ErrorIds.CopyFailed, ErrorKind.InvalidOperation,
                    $"The target '{target.DisplayLocation}' already holds a different backup '{manifest.Database}/{manifest.BackupId}'; it was left unchanged.",
                    "Remove that backup from the target first if it is damaged, or copy into another repository.") { Target = manifest.BackupId };
            }
        }
        if (backup.KeyFile is not null) await EnsureSameRepositoryKeyAsync(backup, target, encryption, cancellationToken).ConfigureAwait(false);

        var objects = manifest.Data.Volumes
            .Select(v => new BackupObject(backup.Prefix + v.Name, $"Volume {v.Name}", v.Size, v.Sha256))
            .Append(new BackupObject(backup.Prefix + manifest.Data.IndexObject, "The frame index", null, manifest.Data.IndexSha256))
            .ToList();

        if (existing is null) await target.WriteLeaseAsync(manifest.Database, manifest.BackupId, cancellationToken).ConfigureAwait(false);
        try
        {
            foreach (var item in objects)
            {
                var copied = await CopyObjectAsync(backup, target, item, progress, cancellationToken).ConfigureAwait(false);
                if (copied) progress.Copied++;
                else progress.Skipped++;
                events?.Report(new MessageEvent(MessageLevel.Verbose, $"{item.Description} of {manifest.BackupId} {(copied ? "copied" : "already in the target, skipped")}."));
            }
            if (verify)
            {
                foreach (var item in objects) await VerifyObjectAsync(backup, target, item, cancellationToken).ConfigureAwait(false);
            }
            if (existing is null)
            {
                await target.PutAsync(manifestKey, backup.ManifestBytes, cancellationToken).ConfigureAwait(false);
                var written = await target.ReadAllAsync(manifestKey, cancellationToken).ConfigureAwait(false);
                if (!written.AsSpan().SequenceEqual(backup.ManifestBytes))
                {
                    await target.Storage.DeleteAsync(manifestKey, CancellationToken.None).ConfigureAwait(false);
                    throw new BackupIntegrityException(ErrorIds.BackupCorrupted,
                        $"The manifest of backup '{manifest.BackupId}' read back from '{target.DisplayLocation}' differs from what was written; the copy was not committed.",
                        "Check the target storage, then run the copy again.") { Target = manifest.BackupId };
                }
            }
        }
        finally
        {
            if (existing is null) await DeleteLeaseQuietlyAsync(target, manifest, events).ConfigureAwait(false);
        }
    }

    private static async Task DeleteLeaseQuietlyAsync(BackupRepository target, BackupManifest manifest, IProgress<EngineEvent>? events)
    {
        try
        {
            await target.DeleteLeaseAsync(manifest.Database, manifest.BackupId, CancellationToken.None).ConfigureAwait(false);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or DbBackupException)
        {
            // An orphaned lease only delays the sweep of an uncommitted copy; it never makes one visible.
            events?.Report(new MessageEvent(MessageLevel.Warning, $"Could not remove the copy lease of {manifest.BackupId} in {target.DisplayLocation}: {e.Message}"));
        }
    }

    /// <summary>
    /// The target must use the source's repository (chunk-id) key: a target without one gets the source's key file;
    /// one with a byte-identical file is fine; any other key file is compared by opening both with the given keys.
    /// </summary>
    private static async Task EnsureSameRepositoryKeyAsync(SourceBackup backup, BackupRepository target, EncryptionOptions? encryption, CancellationToken cancellationToken)
    {
        if (await target.Storage.StatAsync(BackupRepository.KeyFileName, cancellationToken).ConfigureAwait(false) is null)
        {
            await target.PutAsync(BackupRepository.KeyFileName, backup.KeyFile!, cancellationToken).ConfigureAwait(false);
            return;
        }
        var theirs = await target.ReadAllAsync(BackupRepository.KeyFileName, cancellationToken).ConfigureAwait(false);
        if (theirs.AsSpan().SequenceEqual(backup.KeyFile)) return;
        if (encryption is { IsEnabled: true })
        {
            var ours = BackupKeys.OpenRepositoryKey(ParseKeyFile(backup.KeyFile!, backup.Repository.DisplayLocation), encryption);
            byte[]? other = null;
            try
            {
                other = BackupKeys.OpenRepositoryKey(ParseKeyFile(theirs, target.DisplayLocation), encryption);
            }
            catch (BackupIntegrityException e) when (e.ErrorId is ErrorIds.WrongKey or ErrorIds.KeyRequired)
            {
                // The target's key file does not open with these keys: certainly not the same key.
            }
            if (other is not null && CryptographicOperations.FixedTimeEquals(ours, other)) return;
        }
        throw new DbBackupException(ErrorIds.RepositoryKeyMismatch, ErrorKind.InvalidOperation,
            $"The target repository '{target.DisplayLocation}' holds a different repository key than '{backup.Repository.DisplayLocation}'; encrypted backup '{backup.Manifest.BackupId}' cannot be copied into it. Nothing was copied.",
            "Copy into a repository without encrypted backups (no repository-key.json) or a new one. If both keys may be the same key wrapped differently, pass the passphrase or key file so they can be compared.")
        { Target = target.DisplayLocation };
    }

    private static EncryptionHeader ParseKeyFile(byte[] bytes, string location)
    {
        try
        {
            return JsonSerializer.Deserialize<EncryptionHeader>(bytes, BackupManifest.JsonOptions) ?? throw new JsonException("empty");
        }
        catch (JsonException e)
        {
            throw new BackupIntegrityException(ErrorIds.BackupCorrupted, $"'{BackupRepository.KeyFileName}' in '{location}' is not valid: {e.Message}",
                "Restore the repository key file from another copy of the repository.", e);
        }
    }

    /// <summary>Copies one object unless the target has it with the right size; false when skipped.</summary>
    private static async Task<bool> CopyObjectAsync(SourceBackup backup, BackupRepository target, BackupObject item, CopyProgress progress, CancellationToken cancellationToken)
    {
        var size = item.Size ?? (await backup.Repository.Storage.StatAsync(item.Key, cancellationToken).ConfigureAwait(false))?.Size
            ?? throw MissingInSource(backup, item);
        var present = await target.Storage.StatAsync(item.Key, cancellationToken).ConfigureAwait(false);
        if (present is not null && present.Size == size) return false;

        Stream input;
        try
        {
            input = await backup.Repository.Storage.OpenReadAsync(item.Key, 0, null, cancellationToken).ConfigureAwait(false);
        }
        catch (BackupNotFoundException)
        {
            throw MissingInSource(backup, item);
        }
        await using (input.ConfigureAwait(false))
        await using (var writer = await target.Storage.OpenWriteAsync(item.Key, cancellationToken).ConfigureAwait(false))
        {
            var (length, sha) = await PumpAsync(input, writer.Stream, progress, cancellationToken).ConfigureAwait(false);
            if (length != size || !string.Equals(sha, item.Sha256, StringComparison.OrdinalIgnoreCase))
            {
                throw new BackupIntegrityException(ErrorIds.BackupCorrupted,
                    $"{item.Description} of backup '{backup.Manifest.BackupId}' in '{backup.Repository.DisplayLocation}' does not match the manifest " +
                    $"({length} bytes, SHA-256 {sha[..12]}…; expected {size} bytes, {item.Sha256[..Math.Min(12, item.Sha256.Length)]}…): the source is damaged. It was not copied.",
                    "Check the source with Test-Backup (CLI: dbbackup verify); copy a healthy copy of this backup or another backup.") { Target = backup.Manifest.BackupId };
            }
            await writer.CommitAsync(cancellationToken).ConfigureAwait(false);
        }
        return true;
    }

    /// <summary>Reads an object back from the target and checks it against the manifest; a mismatching object is removed so the next copy sends it again.</summary>
    private static async Task VerifyObjectAsync(SourceBackup backup, BackupRepository target, BackupObject item, CancellationToken cancellationToken)
    {
        long length;
        string sha;
        await using (var input = await target.Storage.OpenReadAsync(item.Key, 0, null, cancellationToken).ConfigureAwait(false))
        {
            (length, sha) = await PumpAsync(input, Stream.Null, null, cancellationToken).ConfigureAwait(false);
        }
        if ((item.Size is { } size && length != size) || !string.Equals(sha, item.Sha256, StringComparison.OrdinalIgnoreCase))
        {
            await target.Storage.DeleteAsync(item.Key, CancellationToken.None).ConfigureAwait(false);
            throw new BackupIntegrityException(ErrorIds.BackupCorrupted,
                $"{item.Description} of backup '{backup.Manifest.BackupId}' read back from '{target.DisplayLocation}' does not match the manifest; the copy was not committed (no manifest) and the damaged object was removed.",
                "Check the target storage, then run the copy again; it re-sends only what is missing.") { Target = backup.Manifest.BackupId };
        }
    }

    private static DbBackupException MissingInSource(SourceBackup backup, BackupObject item) => new BackupIntegrityException(ErrorIds.BackupTruncated,
        $"{item.Description} of backup '{backup.Manifest.BackupId}' is missing from '{backup.Repository.DisplayLocation}'.",
        "The source backup is incomplete; copy a healthy copy of it or another backup.") { Target = backup.Manifest.BackupId };

    private static async Task<(long Length, string Sha256)> PumpAsync(Stream input, Stream output, CopyProgress? progress, CancellationToken cancellationToken)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var buffer = ArrayPool<byte>.Shared.Rent(BufferSize);
        long total = 0;
        try
        {
            int n;
            while ((n = await input.ReadAsync(buffer.AsMemory(0, BufferSize), cancellationToken).ConfigureAwait(false)) > 0)
            {
                hash.AppendData(buffer, 0, n);
                await output.WriteAsync(buffer.AsMemory(0, n), cancellationToken).ConfigureAwait(false);
                total += n;
                progress?.Add(n);
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
        return (total, Convert.ToHexString(hash.GetHashAndReset()).ToLowerInvariant());
    }
}
