using DbBackup.Engine.Errors;
using DbBackup.Engine.Storage.ObjectStore;

namespace DbBackup.Engine.Storage;

/// <summary>
/// Selects the storage adapter for a repository location by URI scheme. A plain path or a <c>file:</c> URI is
/// local storage; <c>s3://</c>, <c>az://</c>, <c>gs://</c> and Azure blob endpoint URLs (<c>https://</c>, or
/// <c>http://</c> for Azurite) are cloud object stores, each wrapped in <see cref="RetryingObjectStoreClient"/>.
/// </summary>
public static class StorageRegistry
{
    private static readonly Dictionary<string, Func<Uri, StorageOptions, IBackupStorage>> Factories = new(StringComparer.OrdinalIgnoreCase)
    {
        ["file"] = (uri, _) => new LocalFileStorage(uri.LocalPath),
        ["s3"] = (uri, options) => Cloud(S3.S3ObjectStoreClient.Create(uri, options), options),
        ["az"] = (uri, options) => Cloud(Azure.AzureBlobClient.Create(uri, options), options),
        ["http"] = (uri, options) => Cloud(Azure.AzureBlobClient.Create(uri, options), options),
        ["https"] = (uri, options) => Cloud(Azure.AzureBlobClient.Create(uri, options), options),
        ["gs"] = (uri, options) => Cloud(Gcs.GcsClient.Create(uri, options), options),
    };

    /// <summary>Opens the storage for <paramref name="location"/> (a path, relative to the current directory, or a URI).</summary>
    public static IBackupStorage Open(string location, StorageOptions? options = null)
    {
        if (string.IsNullOrWhiteSpace(location))
        {
            throw new DbBackupException(ErrorIds.InvalidArgument, ErrorKind.InvalidArgument,
                "No repository was given.", "Pass -Repository (CLI: --repository) with a folder path or a storage URI.");
        }
        var scheme = SchemeOf(location);
        if (scheme is null) return new LocalFileStorage(location);
        if (Factories.TryGetValue(scheme, out var factory))
        {
            if (!Uri.TryCreate(location, UriKind.Absolute, out var uri))
            {
                throw new DbBackupException(ErrorIds.InvalidArgument, ErrorKind.InvalidArgument,
                    $"The repository location is not a valid {scheme}: URI.", "Write it as s3://bucket/prefix, az://account/container/prefix, gs://bucket/prefix or a folder path.")
                { Target = scheme };
            }
            return factory(uri, options ?? StorageOptions.Default);
        }
        throw new DbBackupException(ErrorIds.InvalidArgument, ErrorKind.InvalidArgument,
            $"The repository scheme '{scheme}:' is not supported.",
            "Use a folder path, a file: URI, s3://bucket/prefix, az://account/container/prefix (or https://account.blob.core.windows.net/container/prefix) or gs://bucket/prefix.")
        { Target = scheme };
    }

    /// <summary>A cloud client as a repository: retried requests under bounded-memory part uploads.</summary>
    public static IBackupStorage Cloud(IObjectStoreClient client, StorageOptions options)
        => new ObjectStoreStorage(new RetryingObjectStoreClient(client, options));

    /// <summary>The URI scheme of <paramref name="location"/>, or null for a plain path (including Windows drive paths).</summary>
    internal static string? SchemeOf(string location)
    {
        var colon = location.IndexOf(':');
        if (colon <= 1) return null; // no scheme, or a drive letter such as C:
        var scheme = location[..colon];
        return scheme.All(c => char.IsAsciiLetterOrDigit(c) || c is '+' or '-' or '.') && location.AsSpan(colon).StartsWith("://") || scheme.Equals("file", StringComparison.OrdinalIgnoreCase)
            ? scheme
            : null;
    }
}
