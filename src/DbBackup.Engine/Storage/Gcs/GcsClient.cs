using DbBackup.Engine.Storage.ObjectStore;

namespace DbBackup.Engine.Storage.Gcs;

// CONTRACT STUB: implemented by the "gcs" helper.
/// <summary>Google Cloud Storage client over the JSON API: <c>gs://bucket/prefix</c>.</summary>
public sealed class GcsClient
{
    /// <summary>Opens <paramref name="location"/> (a <c>gs://</c> URI).</summary>
    public static IObjectStoreClient Create(Uri location, StorageOptions options) => throw new NotImplementedException("Google Cloud Storage is not implemented yet.");
}
