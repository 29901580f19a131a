namespace DbBackup.Engine.Storage;

/// <summary>One stored object.</summary>
public sealed record StorageItem(string Key, long Size, DateTimeOffset LastModified);

/// <summary>
/// An object being written. Nothing is visible under its key until <see cref="CommitAsync"/> succeeds;
/// disposing without commit aborts and removes every trace.
/// </summary>
public interface IObjectWriter : IAsyncDisposable
{
    Stream Stream { get; }
    Task CommitAsync(CancellationToken cancellationToken);
}

/// <summary>
/// The small storage interface every repository location implements (local, s3, az, gs).
/// Keys use '/' separators and are relative to the location's root.
/// </summary>
public interface IBackupStorage
{
    /// <summary>The location as printed: never contains secrets.</summary>
    string DisplayLocation { get; }

    Task<IObjectWriter> OpenWriteAsync(string key, CancellationToken cancellationToken);

    /// <summary>Opens <paramref name="length"/> bytes from <paramref name="offset"/> (all remaining when null). Throws <see cref="Errors.BackupNotFoundException"/> when absent.</summary>
    Task<Stream> OpenReadAsync(string key, long offset, long? length, CancellationToken cancellationToken);

    /// <summary>Every object whose key starts with <paramref name="prefix"/>, in ordinal key order.</summary>
    IAsyncEnumerable<StorageItem> ListAsync(string prefix, CancellationToken cancellationToken);

    Task<StorageItem?> StatAsync(string key, CancellationToken cancellationToken);

    /// <summary>Deletes the object; succeeds when it is already absent.</summary>
    Task DeleteAsync(string key, CancellationToken cancellationToken);

    /// <summary>
    /// Removes the invisible traces of writes under <paramref name="prefix"/> that were never committed because their
    /// writer died (temporary files, pending multipart uploads). Only called for backups the sweep proved abandoned.
    /// The default suits stores whose uncommitted writes leave nothing behind.
    /// </summary>
    Task CleanupIncompleteAsync(string prefix, CancellationToken cancellationToken) => Task.CompletedTask;
}
