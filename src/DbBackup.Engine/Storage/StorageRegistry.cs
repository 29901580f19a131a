using DbBackup.Engine.Errors;

namespace DbBackup.Engine.Storage;

/// <summary>
/// Selects the storage adapter for a repository location by URI scheme. A plain path or a <c>file:</c> URI is
/// local storage; cloud schemes are added by their adapters.
/// </summary>
public static class StorageRegistry
{
    private static readonly Dictionary<string, Func<Uri, IBackupStorage>> Factories = new(StringComparer.OrdinalIgnoreCase)
    {
        ["file"] = uri => new LocalFileStorage(uri.LocalPath),
    };

    /// <summary>Opens the storage for <paramref name="location"/> (a path, relative to the current directory, or a URI).</summary>
    public static IBackupStorage Open(string location)
    {
        if (string.IsNullOrWhiteSpace(location))
        {
            throw new DbBackupException(ErrorIds.InvalidArgument, ErrorKind.InvalidArgument,
                "No repository was given.", "Pass -Repository (CLI: --repository) with a folder path or a storage URI.");
        }
        var scheme = SchemeOf(location);
        if (scheme is null) return new LocalFileStorage(location);
        if (Factories.TryGetValue(scheme, out var factory)) return factory(new Uri(location));
        throw new DbBackupException(ErrorIds.InvalidArgument, ErrorKind.InvalidArgument,
            $"The repository scheme '{scheme}:' is not supported by this version.",
            "Use a local folder path or a file: URI; cloud repositories (s3:, az:, gs:) arrive with the cloud storage adapters.")
        { Target = scheme };
    }

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
