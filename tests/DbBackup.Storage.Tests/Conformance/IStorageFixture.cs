using DbBackup.Engine.Storage;

namespace DbBackup.Storage.Tests.Conformance;

/// <summary>
/// One storage adapter under test. <see cref="Open"/> returns a storage rooted at a fresh, empty location (a new
/// folder or key prefix per call) so tests never see each other's objects.
/// </summary>
public interface IStorageFixture
{
    /// <summary>Part size the opened storage uploads with; the conformance suite writes objects of several parts.</summary>
    int PartSize { get; }

    /// <summary>List page size the opened storage requests; the suite lists more objects than one page.</summary>
    int ListPageSize { get; }

    /// <summary>Opens a storage rooted at a fresh, empty location.</summary>
    IBackupStorage Open() => Open(null, null);

    /// <summary>
    /// Opens a storage rooted at a fresh, empty location, optionally reaching the service through
    /// <paramref name="endpoint"/> (the fault-injecting proxy) instead of <see cref="ServiceEndpoint"/>, with
    /// <paramref name="options"/> replacing the fixture's defaults (retry counts, delays, timeouts) when given.
    /// </summary>
    IBackupStorage Open(Uri? endpoint, DbBackup.Engine.Storage.StorageOptions? options);

    /// <summary>
    /// Multipart uploads started under <paramref name="storage"/>'s location and neither completed nor aborted, for
    /// stores that can tell (S3 ListMultipartUploads, a GCS resumable session); null where the store cannot (Azure's
    /// uncommitted blocks are invisible and garbage-collected).
    /// </summary>
    Task<int?> CountPendingUploadsAsync(IBackupStorage storage) => Task.FromResult<int?>(null);

    /// <summary>
    /// False where the opened storage sends every object of the suites in one request (the GCS emulator, which cannot
    /// take multi-chunk uploads): the fault suite then injects its part faults into that one request instead of a later
    /// part. The multi-part fault paths of such an adapter are proven against a protocol double.
    /// </summary>
    bool UploadsInParts => true;

    /// <summary>The emulator's base address (http://127.0.0.1:port), or null for storage that is not reached over HTTP.</summary>
    Uri? ServiceEndpoint { get; }
}
