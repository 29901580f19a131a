using DbBackup.Engine.Storage.ObjectStore;

namespace DbBackup.Engine.Storage.S3;

// CONTRACT STUB: implemented by the "s3" helper.
/// <summary>S3 (and S3-compatible) object store client over AWSSDK.S3: <c>s3://bucket/prefix</c>.</summary>
public sealed class S3ObjectStoreClient
{
    /// <summary>Opens <paramref name="location"/> (an <c>s3://</c> URI).</summary>
    public static IObjectStoreClient Create(Uri location, StorageOptions options) => throw new NotImplementedException("S3 storage is not implemented yet.");
}
