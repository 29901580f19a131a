using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using DbBackup.Engine.Errors;
using DbBackup.Engine.Pipeline;
using DbBackup.Engine.Pipeline.Crypto;
using DbBackup.Engine.Storage;

namespace DbBackup.Engine.Repository;

/// <summary>
/// The repository layout over one storage location: <c>&lt;database&gt;/&lt;backupId&gt;/</c> holding the data
/// volumes, the frame index, an in-progress lease while the backup runs, and <c>manifest.json</c>, written last.
/// A backup without a manifest never happened.
/// </summary>
public sealed class BackupRepository
{
    public const string ManifestName = "manifest.json";
    public const string LeaseName = "in-progress.json";
    public const string KeyFileName = "repository-key.json";

    /// <summary>A lease from another host, or one whose process cannot be checked, protects its backup this long after its last heartbeat.</summary>
    public static readonly TimeSpan ForeignLeaseLifetime = TimeSpan.FromHours(6);

    public BackupRepository(IBackupStorage storage) => Storage = storage;

    public IBackupStorage Storage { get; }

    public string DisplayLocation => Storage.DisplayLocation;

    /// <summary>The folder name of a database: its name, percent-escaped so any name is a safe single path segment.</summary>
    public static string FolderOf(string database) => Uri.EscapeDataString(database);

    public static string PrefixOf(string database, string backupId) => $"{FolderOf(database)}/{backupId}/";

    /// <summary>A sortable, unique backup id: UTC start time plus random suffix.</summary>
    public static string NewBackupId(DateTimeOffset start) =>
        start.UtcDateTime.ToString("yyyyMMdd'T'HHmmss'Z'") + "-" + Convert.ToHexString(RandomNumberGenerator.GetBytes(3)).ToLowerInvariant();

    // ---- manifests ------------------------------------------------------------------------------

    /// <summary>Writes the manifest (authenticated under the backup's keys when encrypted). This is the commit point.</summary>
    public async Task WriteManifestAsync(BackupManifest manifest, BackupKeys? keys, CancellationToken cancellationToken)
    {
        var body = JsonSerializer.SerializeToUtf8Bytes(manifest, BackupManifest.JsonOptions);
        var mac = keys is null ? null : Convert.ToBase64String(keys.ComputeManifestMac(body));
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true }))
        {
            json.WriteStartObject();
            json.WritePropertyName("manifest");
            json.WriteRawValue(body, skipInputValidation: true);
            if (mac is not null) json.WriteString("mac", mac);
            json.WriteEndObject();
        }
        await PutAsync(PrefixOf(manifest.Database, manifest.BackupId) + ManifestName, buffer.ToArray(), cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The manifest and the exact bytes its MAC covers; throws BackupNotFound or BackupCorrupted.</summary>
    public async Task<StoredManifest> ReadManifestAsync(string database, string backupId, CancellationToken cancellationToken)
    {
        var key = PrefixOf(database, backupId) + ManifestName;
        byte[] bytes;
        try
        {
            bytes = await ReadAllAsync(key, cancellationToken).ConfigureAwait(false);
        }
        catch (BackupNotFoundException e)
        {
            throw new BackupNotFoundException(ErrorIds.BackupNotFound,
                $"Backup '{backupId}' of database '{database}' was not found in repository '{DisplayLocation}'.",
                "List the backups with Get-BackupHistory -Repository <location> -Refresh (CLI: dbbackup history --repository <location> --refresh).", e)
            { Target = backupId };
        }
        return ParseManifest(bytes, key);
    }

    internal static StoredManifest ParseManifest(byte[] bytes, string key)
    {
        try
        {
            using var document = JsonDocument.Parse(bytes);
            var bodyElement = document.RootElement.GetProperty("manifest");
            var body = Encoding.UTF8.GetBytes(bodyElement.GetRawText());
            var manifest = bodyElement.Deserialize<BackupManifest>(BackupManifest.JsonOptions)
                ?? throw new JsonException("empty manifest");
            if (manifest.FormatVersion > BackupManifest.CurrentFormatVersion)
            {
                throw new DbBackupException(ErrorIds.InvalidArgument, ErrorKind.InvalidData,
                    $"'{key}' uses manifest format {manifest.FormatVersion}, newer than this version of DbBackup understands ({BackupManifest.CurrentFormatVersion}).",
                    "Upgrade DbBackup to read this backup.") { Target = key };
            }
            var mac = document.RootElement.TryGetProperty("mac", out var m) ? Convert.FromBase64String(m.GetString() ?? "") : null;
            return new StoredManifest(manifest, body, mac);
        }
        catch (Exception e) when (e is JsonException or KeyNotFoundException or FormatException or InvalidOperationException)
        {
            throw new BackupIntegrityException(ErrorIds.BackupCorrupted, $"The manifest '{key}' is not valid: {e.Message}",
                "The backup cannot be used; restore another backup.", e) { Target = key };
        }
    }

    /// <summary>Opens the keys of an encrypted backup and checks its manifest MAC (tampered → BackupTampered).</summary>
    public async Task<BackupKeys?> OpenKeysAsync(StoredManifest stored, EncryptionOptions? options, CancellationToken cancellationToken)
    {
        var header = stored.Manifest.Data.Encryption;
        if (header is null) return null;
        if (options is null || !options.IsEnabled)
        {
            throw new BackupIntegrityException(ErrorIds.KeyRequired,
                $"Backup '{stored.Manifest.BackupId}' is encrypted and no passphrase or key file was given.",
                "Pass -Passphrase or -KeyFile (CLI: DBBACKUP_PASSPHRASE, --passphrase-prompt or --key-file).") { Target = stored.Manifest.BackupId };
        }
        var chunkIdKey = await OpenRepositoryKeyAsync(options, create: false, cancellationToken).ConfigureAwait(false);
        var keys = BackupKeys.Open(header, options, chunkIdKey);
        var expected = keys.ComputeManifestMac(stored.Body);
        if (stored.Mac is null || !CryptographicOperations.FixedTimeEquals(expected, stored.Mac))
        {
            throw new BackupIntegrityException(ErrorIds.BackupTampered,
                $"The manifest of backup '{stored.Manifest.BackupId}' fails authentication: it was modified after the backup was written.",
                "Do not restore this backup; restore another one and investigate who can write to the repository.") { Target = stored.Manifest.BackupId };
        }
        return keys;
    }

    /// <summary>
    /// The repository-wide chunk-id key of an encrypted repository, stored wrapped in <c>repository-key.json</c>.
    /// </summary>
    public async Task<byte[]> OpenRepositoryKeyAsync(EncryptionOptions options, bool create, CancellationToken cancellationToken)
    {
        var existing = await Storage.StatAsync(KeyFileName, cancellationToken).ConfigureAwait(false);
        if (existing is not null)
        {
            var header = JsonSerializer.Deserialize<EncryptionHeader>(await ReadAllAsync(KeyFileName, cancellationToken).ConfigureAwait(false), BackupManifest.JsonOptions)
                ?? throw new BackupIntegrityException(ErrorIds.BackupCorrupted, $"'{KeyFileName}' in '{DisplayLocation}' is empty.");
            return BackupKeys.OpenRepositoryKey(header, options);
        }
        if (!create)
        {
            throw new BackupIntegrityException(ErrorIds.BackupCorrupted,
                $"The repository '{DisplayLocation}' has encrypted backups but no '{KeyFileName}'.",
                "Copy the repository key file back from another copy of this repository.");
        }
        var (key, created) = BackupKeys.CreateRepositoryKey(options);
        await PutAsync(KeyFileName, JsonSerializer.SerializeToUtf8Bytes(created, BackupManifest.JsonOptions), cancellationToken).ConfigureAwait(false);
        return key;
    }

    /// <summary>Every committed backup (one with a manifest), optionally of one database folder.</summary>
    public async IAsyncEnumerable<(string Database, string BackupId)> ListBackupsAsync(string? database, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var prefix = database is null ? "" : FolderOf(database) + "/";
        await foreach (var item in Storage.ListAsync(prefix, cancellationToken).ConfigureAwait(false))
        {
            var parts = item.Key.Split('/');
            if (parts.Length == 3 && parts[2] == ManifestName)
                yield return (Uri.UnescapeDataString(parts[0]), parts[1]);
        }
    }

    // ---- leases and the guarded sweep ------------------------------------------------------------

    /// <summary>Marks a backup as being written by this process, so a concurrent sweep leaves it alone.</summary>
    public Task WriteLeaseAsync(string database, string backupId, CancellationToken cancellationToken)
    {
        var lease = new BackupLease(Environment.MachineName, Environment.ProcessId, ProcessStartTime(), DateTimeOffset.UtcNow);
        return PutAsync(PrefixOf(database, backupId) + LeaseName, JsonSerializer.SerializeToUtf8Bytes(lease, BackupManifest.JsonOptions), cancellationToken);
    }

    public Task DeleteLeaseAsync(string database, string backupId, CancellationToken cancellationToken)
        => Storage.DeleteAsync(PrefixOf(database, backupId) + LeaseName, cancellationToken);

    /// <summary>
    /// Removes what failed or killed backups of <paramref name="database"/> left behind: folders without a manifest
    /// whose lease is dead (its process is gone on this host, or it is older than <see cref="ForeignLeaseLifetime"/>),
    /// or that have no lease and nothing written for <see cref="ForeignLeaseLifetime"/>. Never touches a committed
    /// backup or one whose writer is alive. Returns the backup ids removed.
    /// </summary>
    public async Task<IReadOnlyList<string>> SweepAsync(string database, CancellationToken cancellationToken)
    {
        var folders = new Dictionary<string, List<StorageItem>>(StringComparer.Ordinal);
        await foreach (var item in Storage.ListAsync(FolderOf(database) + "/", cancellationToken).ConfigureAwait(false))
        {
            var parts = item.Key.Split('/');
            if (parts.Length != 3) continue;
            if (!folders.TryGetValue(parts[1], out var list)) folders[parts[1]] = list = [];
            list.Add(item);
        }
        var removed = new List<string>();
        foreach (var (backupId, items) in folders)
        {
            if (items.Any(i => i.Key.EndsWith("/" + ManifestName, StringComparison.Ordinal))) continue;
            var leaseItem = items.FirstOrDefault(i => i.Key.EndsWith("/" + LeaseName, StringComparison.Ordinal));
            if (leaseItem is not null)
            {
                BackupLease? lease;
                try
                {
                    lease = JsonSerializer.Deserialize<BackupLease>(await ReadAllAsync(leaseItem.Key, cancellationToken).ConfigureAwait(false), BackupManifest.JsonOptions);
                }
                catch (JsonException)
                {
                    lease = null; // an unreadable lease protects nothing beyond the age rule below
                }
                if (lease is not null && IsAlive(lease)) continue;
                if (lease is null && DateTimeOffset.UtcNow - leaseItem.LastModified < ForeignLeaseLifetime) continue;
            }
            else if (items.Any(i => DateTimeOffset.UtcNow - i.LastModified < ForeignLeaseLifetime))
            {
                continue;
            }
            await Storage.CleanupIncompleteAsync(PrefixOf(database, backupId), cancellationToken).ConfigureAwait(false);
            foreach (var item in items.OrderBy(i => i.Key.EndsWith("/" + LeaseName, StringComparison.Ordinal))) // lease last
                await Storage.DeleteAsync(item.Key, cancellationToken).ConfigureAwait(false);
            removed.Add(backupId);
        }
        return removed;
    }

    /// <summary>Deletes every object of an uncommitted backup (after a failure or cancellation), lease last.</summary>
    public async Task DeleteUncommittedAsync(string database, string backupId, CancellationToken cancellationToken)
    {
        var keys = new List<string>();
        await foreach (var item in Storage.ListAsync(PrefixOf(database, backupId), cancellationToken).ConfigureAwait(false))
            keys.Add(item.Key);
        if (keys.Any(k => k.EndsWith("/" + ManifestName, StringComparison.Ordinal))) return; // committed after all: keep it
        foreach (var key in keys.OrderBy(k => k.EndsWith("/" + LeaseName, StringComparison.Ordinal)))
            await Storage.DeleteAsync(key, cancellationToken).ConfigureAwait(false);
    }

    private static bool IsAlive(BackupLease lease)
    {
        var age = DateTimeOffset.UtcNow - lease.Heartbeat;
        if (!string.Equals(lease.Host, Environment.MachineName, StringComparison.OrdinalIgnoreCase)) return age < ForeignLeaseLifetime;
        try
        {
            using var process = Process.GetProcessById(lease.ProcessId);
            if (process.HasExited) return false;
            // A reused pid is a different process: compare start times when both are known.
            return lease.ProcessStart is null || Math.Abs((process.StartTime.ToUniversalTime() - lease.ProcessStart.Value.UtcDateTime).TotalSeconds) < 2;
        }
        catch (ArgumentException)
        {
            return false; // no such process
        }
        catch (Exception e) when (e is InvalidOperationException or System.ComponentModel.Win32Exception)
        {
            return false; // exited while being inspected
        }
    }

    private static DateTimeOffset? ProcessStartTime()
    {
        try
        {
            using var self = Process.GetCurrentProcess();
            return new DateTimeOffset(self.StartTime.ToUniversalTime());
        }
        catch (Exception e) when (e is InvalidOperationException or NotSupportedException or System.ComponentModel.Win32Exception)
        {
            return null;
        }
    }

    // ---- small objects ---------------------------------------------------------------------------

    internal async Task PutAsync(string key, byte[] content, CancellationToken cancellationToken)
    {
        await using var writer = await Storage.OpenWriteAsync(key, cancellationToken).ConfigureAwait(false);
        await writer.Stream.WriteAsync(content, cancellationToken).ConfigureAwait(false);
        await writer.CommitAsync(cancellationToken).ConfigureAwait(false);
    }

    internal async Task<byte[]> ReadAllAsync(string key, CancellationToken cancellationToken)
    {
        await using var stream = await Storage.OpenReadAsync(key, 0, null, cancellationToken).ConfigureAwait(false);
        using var buffer = new MemoryStream();
        await stream.CopyToAsync(buffer, cancellationToken).ConfigureAwait(false);
        return buffer.ToArray();
    }
}

/// <summary>A manifest as read: the parsed form, the exact bytes its MAC covers, and the MAC.</summary>
public sealed record StoredManifest(BackupManifest Manifest, byte[] Body, byte[]? Mac);

/// <summary>Who is writing a backup; see <see cref="BackupRepository.SweepAsync"/>.</summary>
public sealed record BackupLease(string Host, int ProcessId, DateTimeOffset? ProcessStart, DateTimeOffset Heartbeat);
