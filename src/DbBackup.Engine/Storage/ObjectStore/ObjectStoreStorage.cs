using System.Runtime.CompilerServices;

namespace DbBackup.Engine.Storage.ObjectStore;

/// <summary>
/// <see cref="IBackupStorage"/> over a cloud object store's primitive requests. Writes are buffered into parts of
/// <see cref="ObjectStoreLimits.PartSize"/> bytes: an object that fits in one part is uploaded with one request on
/// commit; a larger one becomes a multipart upload that is completed on commit and aborted when the writer is disposed
/// uncommitted, so nothing partial is ever visible. All writers of one storage share one <see cref="PartBudget"/>: part
/// memory stays near (MaxConcurrentParts + open writers) × PartSize however many objects are open.
/// </summary>
public sealed class ObjectStoreStorage(IObjectStoreClient client) : IBackupStorage
{
    private readonly PartBudget _budget = new(client.Limits);

    public IObjectStoreClient Client => client;

    public string DisplayLocation => client.DisplayLocation;

    public Task<IObjectWriter> OpenWriteAsync(string key, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        ObjectKeys.Validate(key);
        return Task.FromResult<IObjectWriter>(new PartUploadWriter(client, _budget, key));
    }

    public Task<Stream> OpenReadAsync(string key, long offset, long? length, CancellationToken cancellationToken)
    {
        ObjectKeys.Validate(key);
        if (length == 0) return Task.FromResult<Stream>(new MemoryStream([], writable: false));
        return client.OpenReadAsync(key, offset, length, cancellationToken);
    }

    public async IAsyncEnumerable<StorageItem> ListAsync(string prefix, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        string? token = null;
        do
        {
            var page = await client.ListPageAsync(prefix, token, cancellationToken).ConfigureAwait(false);
            foreach (var item in page.Items) yield return item;
            token = page.ContinuationToken;
        }
        while (token is not null);
    }

    public Task<StorageItem?> StatAsync(string key, CancellationToken cancellationToken)
    {
        ObjectKeys.Validate(key);
        return client.StatAsync(key, cancellationToken);
    }

    public Task DeleteAsync(string key, CancellationToken cancellationToken)
    {
        ObjectKeys.Validate(key);
        return client.DeleteAsync(key, cancellationToken);
    }

    public Task CleanupIncompleteAsync(string prefix, CancellationToken cancellationToken) => client.AbortIncompleteUploadsAsync(prefix, cancellationToken);
}

/// <summary>Key rules shared by every object store: '/'-separated, relative, no empty, '.' or '..' segments.</summary>
public static class ObjectKeys
{
    public static void Validate(string key)
    {
        if (string.IsNullOrEmpty(key) || key.StartsWith('/') || key.Split('/').Any(p => p is "" or "." or ".."))
            throw new Errors.DbBackupException(Errors.ErrorIds.InvalidArgument, Errors.ErrorKind.InvalidArgument, $"Invalid object key '{key}'.");
    }

    /// <summary>Joins a location's root prefix (may be empty, with or without a trailing '/') and a relative key.</summary>
    public static string Join(string rootPrefix, string key) => rootPrefix.Length == 0 ? key : rootPrefix.TrimEnd('/') + "/" + key;
}
