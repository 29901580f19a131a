using DbBackup.Engine.Errors;

namespace DbBackup.Engine.Storage.S3;

/// <summary>
/// A parsed <c>s3://bucket/prefix?region=R&amp;endpoint=URL&amp;path-style=true|false</c> location, with explicit
/// <see cref="S3Settings"/> taking precedence over the query. Holds no credentials.
/// </summary>
public sealed record S3Location(string Bucket, string Prefix, string? Region, Uri? Endpoint, bool ForcePathStyle)
{
    private static readonly string[] KnownOptions = ["region", "endpoint", "path-style"];

    /// <summary>The location as printed: bucket, prefix and a custom endpoint's scheme/host/port — never credentials.</summary>
    public string Display
    {
        get
        {
            var s = "s3://" + Bucket + (Prefix.Length > 0 ? "/" + Prefix.TrimEnd('/') : "");
            return Endpoint is null ? s : s + "?endpoint=" + Endpoint.GetLeftPart(UriPartial.Authority).Replace(Endpoint.UserInfo + "@", "", StringComparison.Ordinal);
        }
    }

    public static S3Location Parse(Uri location, S3Settings? settings = null)
    {
        settings ??= new S3Settings();
        var text = location.OriginalString;
        if (!text.StartsWith("s3://", StringComparison.OrdinalIgnoreCase)) throw Invalid("it does not start with s3://");
        var rest = text[5..];
        var q = rest.IndexOf('?');
        var query = q >= 0 ? rest[(q + 1)..] : "";
        var path = q >= 0 ? rest[..q] : rest;
        var hash = query.IndexOf('#');
        if (hash >= 0) query = query[..hash];
        var slash = path.IndexOf('/');
        var bucket = slash >= 0 ? path[..slash] : path;
        var prefix = slash >= 0 ? Uri.UnescapeDataString(path[(slash + 1)..]) : "";
        if (bucket.Contains('@')) throw Invalid("credentials do not belong in the location; use environment variables, a profile or the host's S3 settings");
        if (bucket.Length is < 3 or > 63 || !bucket.All(c => char.IsAsciiLetterLower(c) || char.IsAsciiDigit(c) || c is '-' or '.' or '_'))
            throw Invalid("the bucket name must be 3-63 characters of lowercase letters, digits, '-', '.' or '_'");
        if (prefix.StartsWith('/') || prefix.Split('/').Any(p => p is "." or "..") || prefix.Contains("//", StringComparison.Ordinal))
            throw Invalid("the prefix must not contain empty, '.' or '..' segments");

        string? region = null, endpoint = null, pathStyle = null;
        foreach (var pair in query.Split('&', StringSplitOptions.RemoveEmptyEntries))
        {
            var eq = pair.IndexOf('=');
            var name = Uri.UnescapeDataString(eq >= 0 ? pair[..eq] : pair).ToLowerInvariant();
            var value = eq >= 0 ? Uri.UnescapeDataString(pair[(eq + 1)..].Replace('+', ' ')) : "";
            switch (name)
            {
                case "region": region = value; break;
                case "endpoint": endpoint = value; break;
                case "path-style": pathStyle = value; break;
                default:
                    // The value is not echoed: a mistyped option might carry a secret.
                    throw Invalid($"unknown option '{Truncate(name)}' (known: {string.Join(", ", KnownOptions)})");
            }
        }

        var endpointUri = settings.Endpoint;
        if (endpointUri is null && !string.IsNullOrEmpty(endpoint))
        {
            if (!Uri.TryCreate(endpoint, UriKind.Absolute, out endpointUri) || endpointUri.Scheme is not ("http" or "https"))
                throw Invalid("endpoint= must be an http:// or https:// URL, e.g. endpoint=https://minio.example.com:9000");
        }
        if (endpointUri is not null && !string.IsNullOrEmpty(endpointUri.UserInfo))
            throw Invalid("the endpoint must not contain credentials; use environment variables, a profile or the host's S3 settings");

        bool forcePathStyle;
        if (settings.ForcePathStyle is { } fps) forcePathStyle = fps;
        else if (pathStyle is null) forcePathStyle = endpointUri is not null;
        else if (bool.TryParse(pathStyle, out var b)) forcePathStyle = b;
        else throw Invalid("path-style= must be true or false");

        var r = settings.Region ?? (string.IsNullOrWhiteSpace(region) ? null : region);
        if (r is not null && !r.All(c => char.IsAsciiLetterOrDigit(c) || c == '-'))
            throw Invalid("region= must be a region name such as eu-west-1");
        return new S3Location(bucket, prefix, r, endpointUri, forcePathStyle);
    }

    private static string Truncate(string s) => s.Length <= 30 ? s : s[..30] + "...";

    private static DbBackupException Invalid(string why) => new(ErrorIds.InvalidArgument, ErrorKind.InvalidArgument,
        $"The S3 location is not valid: {why}.",
        "Write it as s3://bucket/prefix, optionally with ?region=eu-west-1, ?endpoint=https://host:port and ?path-style=true|false for S3-compatible stores.")
    { Target = "s3" };
}
