using System.Text.RegularExpressions;
using DbBackup.Engine.Errors;

namespace DbBackup.Engine.Storage.Gcs;

/// <summary>
/// A parsed <c>gs://bucket/prefix[?endpoint=http://host:port]</c> location. The endpoint comes from the URI's
/// <c>endpoint</c> query value, else <see cref="GcsSettings.Endpoint"/>, else <c>STORAGE_EMULATOR_HOST</c>, else
/// <c>https://storage.googleapis.com</c>.
/// </summary>
public sealed partial record GcsLocation(string Bucket, string Prefix, Uri Endpoint, bool EndpointIsCustom)
{
    public static readonly Uri DefaultEndpoint = new("https://storage.googleapis.com");

    /// <summary>True for a plain-http endpoint: an emulator (the real service is https only).</summary>
    public bool IsEmulator => Endpoint.Scheme == Uri.UriSchemeHttp;

    /// <summary>The location as printed: no query values other than the endpoint's scheme, host, port and path.</summary>
    public string Display => "gs://" + Bucket + (Prefix.Length > 0 ? "/" + Prefix : "") + (EndpointIsCustom ? "?endpoint=" + Endpoint.GetLeftPart(UriPartial.Path).TrimEnd('/') : "");

    public static GcsLocation Parse(Uri location, GcsSettings settings, Func<string, string?> environment)
    {
        if (!location.Scheme.Equals("gs", StringComparison.OrdinalIgnoreCase))
            throw Invalid($"'{location.Scheme}:' is not a Google Cloud Storage location.");
        // Parsed from the original text: System.Uri lowercases the host and collapses "..", which would hide mistakes.
        var text = location.OriginalString;
        var rest = text[(text.IndexOf("://", StringComparison.Ordinal) + 3)..];
        var queryAt = rest.IndexOf('?');
        var query = queryAt < 0 ? "" : rest[(queryAt + 1)..];
        if (queryAt >= 0) rest = rest[..queryAt];
        if (rest.IndexOf('#') is var hash and >= 0) rest = rest[..hash];
        var slash = rest.IndexOf('/');
        var bucket = slash < 0 ? rest : rest[..slash];
        if (bucket.Contains('@', StringComparison.Ordinal))
            throw Invalid("The location contains user information; pass credentials through GOOGLE_APPLICATION_CREDENTIALS or the settings, never in the URI.");
        if (!BucketName().IsMatch(bucket))
            throw Invalid($"'{bucket}' is not a valid bucket name (3-63 lowercase letters, digits, '-', '_' and '.', starting and ending with a letter or digit).");
        var prefix = Uri.UnescapeDataString(slash < 0 ? "" : rest[slash..]).Trim('/');
        if (prefix.Split('/').Any(p => p is "." or "..") || prefix.Contains("//", StringComparison.Ordinal))
            throw Invalid("The prefix contains empty, '.' or '..' segments.");

        Uri? endpoint = null;
        var custom = true;
        foreach (var pair in query.Split('&', StringSplitOptions.RemoveEmptyEntries))
        {
            var eq = pair.IndexOf('=');
            var name = Uri.UnescapeDataString(eq < 0 ? pair : pair[..eq]);
            var value = eq < 0 ? "" : Uri.UnescapeDataString(pair[(eq + 1)..]);
            if (name.Equals("endpoint", StringComparison.OrdinalIgnoreCase)) endpoint = ParseEndpoint(value, "the 'endpoint' query value");
            else throw Invalid($"Unknown query parameter '{name}' (only 'endpoint' is understood).");
        }
        endpoint ??= settings.Endpoint is { } e ? ParseEndpoint(e.OriginalString, "the configured endpoint") : null;
        if (endpoint is null && environment("STORAGE_EMULATOR_HOST") is { Length: > 0 } host)
            endpoint = ParseEndpoint(host.Contains("://", StringComparison.Ordinal) ? host : "http://" + host, "STORAGE_EMULATOR_HOST");
        if (endpoint is null)
        {
            endpoint = DefaultEndpoint;
            custom = false;
        }
        return new GcsLocation(bucket, prefix, endpoint, custom);
    }

    private static Uri ParseEndpoint(string value, string source)
    {
        if (!Uri.TryCreate(value, UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps) || !string.IsNullOrEmpty(uri.UserInfo) || uri.Query.Length > 0)
            throw Invalid($"{source} is not an http(s) URL without credentials or query (e.g. http://127.0.0.1:9199).");
        return new Uri(uri.GetLeftPart(UriPartial.Path).TrimEnd('/') + "/");
    }

    private static DbBackupException Invalid(string message) => new(ErrorIds.InvalidArgument, ErrorKind.InvalidArgument, message,
        "Write the location as gs://bucket/prefix, optionally with ?endpoint=http://host:port for an emulator.");

    [GeneratedRegex("^[a-z0-9][a-z0-9._-]{1,61}[a-z0-9]$")]
    private static partial Regex BucketName();
}
