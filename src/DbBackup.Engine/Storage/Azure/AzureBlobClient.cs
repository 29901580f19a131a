using DbBackup.Engine.Storage.ObjectStore;

namespace DbBackup.Engine.Storage.Azure;

// CONTRACT STUB: implemented by the "azure" helper.
/// <summary>Azure Blob Storage client over the Blob REST API: <c>az://account/container/prefix</c> or the blob endpoint URL form.</summary>
public sealed class AzureBlobClient
{
    /// <summary>Opens <paramref name="location"/> (<c>az://</c>, <c>https://account.blob.core.windows.net/...</c> or an Azurite <c>http://127.0.0.1:port/account/...</c> URL).</summary>
    public static IObjectStoreClient Create(Uri location, StorageOptions options) => throw new NotImplementedException("Azure Blob storage is not implemented yet.");
}
