namespace DbBackup.Engine.Storage.ObjectStore;

/// <summary>What an object store allows; <see cref="ObjectStoreStorage"/> buffers and uploads within these limits.</summary>
/// <param name="PartSize">Bytes per uploaded part; objects no larger than this go up in one <see cref="IObjectStoreClient.PutObjectAsync"/>.</param>
/// <param name="MaxConcurrentParts">Parts of one object in flight at once (1 for stores whose parts must arrive in order, e.g. GCS resumable uploads).</param>
/// <param name="ListPageSize">Keys requested per list page.</param>
public sealed record ObjectStoreLimits(int PartSize, int MaxConcurrentParts, int ListPageSize);

/// <summary>One part of a multipart upload. <paramref name="Offset"/> is the part's first byte within the object.</summary>
public sealed record UploadPart(string Key, string UploadId, int PartNumber, long Offset, ReadOnlyMemory<byte> Content);

/// <summary>One page of a listing; <paramref name="ContinuationToken"/> is null on the last page.</summary>
public sealed record ObjectListPage(IReadOnlyList<StorageItem> Items, string? ContinuationToken);

/// <summary>
/// The primitive requests of a cloud object store (S3, Azure Blob, GCS). Each method is ONE request (or one short,
/// self-contained exchange) and is safe to repeat with the same arguments, so <see cref="RetryingObjectStoreClient"/>
/// can retry any of them. Keys are relative to the location's root prefix (the client adds the prefix).
/// Failures are thrown as <see cref="StorageRequestException"/> (with <see cref="StorageRequestException.IsTransient"/>
/// set for throttling, 5xx, timeouts and broken connections) or as other <see cref="Errors.DbBackupException"/>s
/// (credentials missing/rejected, permission denied, bucket missing); <see cref="Errors.BackupNotFoundException"/> when
/// a read targets a missing object.
/// </summary>
public interface IObjectStoreClient
{
    /// <summary>The location as printed, e.g. <c>s3://bucket/prefix</c>: never contains secrets.</summary>
    string DisplayLocation { get; }

    ObjectStoreLimits Limits { get; }

    /// <summary>Stores a whole object in one request, replacing any object under the key.</summary>
    Task PutObjectAsync(string key, ReadOnlyMemory<byte> content, CancellationToken cancellationToken);

    /// <summary>Starts a multipart upload (S3 upload id, Azure block-id prefix, GCS resumable session URI). Nothing is visible yet.</summary>
    Task<string> StartMultipartAsync(string key, CancellationToken cancellationToken);

    /// <summary>Uploads one part; returns the tag <see cref="CompleteMultipartAsync"/> needs (ETag, block id, ...).</summary>
    Task<string> UploadPartAsync(UploadPart part, CancellationToken cancellationToken);

    /// <summary>Makes the object visible from its parts, in part-number order. <paramref name="totalLength"/> is the object size.</summary>
    Task CompleteMultipartAsync(string key, string uploadId, IReadOnlyList<string> partTags, long totalLength, CancellationToken cancellationToken);

    /// <summary>Discards an unfinished multipart upload; succeeds when it is already gone.</summary>
    Task AbortMultipartAsync(string key, string uploadId, CancellationToken cancellationToken);

    /// <summary>Opens <paramref name="length"/> bytes from <paramref name="offset"/> (all remaining when null).</summary>
    Task<Stream> OpenReadAsync(string key, long offset, long? length, CancellationToken cancellationToken);

    /// <summary>One page of the objects whose keys start with <paramref name="prefix"/>, in ordinal key order.</summary>
    Task<ObjectListPage> ListPageAsync(string prefix, string? continuationToken, CancellationToken cancellationToken);

    Task<StorageItem?> StatAsync(string key, CancellationToken cancellationToken);

    /// <summary>Deletes the object; succeeds when it is already absent.</summary>
    Task DeleteAsync(string key, CancellationToken cancellationToken);

    /// <summary>Aborts multipart uploads left pending under <paramref name="prefix"/> by a writer that died (no-op where the store garbage-collects them).</summary>
    Task AbortIncompleteUploadsAsync(string prefix, CancellationToken cancellationToken);
}
