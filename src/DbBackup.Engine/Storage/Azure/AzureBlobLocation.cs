using System.Net;
using System.Text;
using System.Text.RegularExpressions;
using DbBackup.Engine.Errors;

namespace DbBackup.Engine.Storage.Azure;

/// <summary>
/// A parsed Azure Blob repository location: the account, its blob service endpoint, the container and the key prefix,
/// plus a SAS token when the location carried one in its query (kept apart, never displayed). Accepted forms:
/// <c>az://account/container/prefix</c> (optionally <c>?endpoint=URL</c> for Azurite, sovereign clouds or private
/// endpoints), <c>https://account.blob.core.windows.net/container/prefix</c> and the path-style emulator form
/// <c>http://127.0.0.1:10000/devstoreaccount1/container/prefix</c>.
/// </summary>
public sealed partial class AzureBlobLocation
{
    private AzureBlobLocation(string account, Uri endpoint, bool endpointExplicit, string container, string prefix, SecretValue? sas, string display)
    {
        Account = account;
        Endpoint = endpoint;
        EndpointIsExplicit = endpointExplicit;
        Container = container;
        Prefix = prefix;
        Sas = sas;
        Display = display;
    }

    public string Account { get; }

    /// <summary>The account's blob service endpoint without a trailing slash, e.g. <c>https://acct.blob.core.windows.net</c> or <c>http://127.0.0.1:10000/devstoreaccount1</c>.</summary>
    public Uri Endpoint { get; }

    /// <summary>False when the endpoint is the public-cloud default derived from an <c>az://</c> account name (a connection string's BlobEndpoint may then replace it).</summary>
    public bool EndpointIsExplicit { get; }

    public string Container { get; }

    /// <summary>The key prefix inside the container, without leading or trailing '/' (may be empty).</summary>
    public string Prefix { get; }

    /// <summary>A SAS token given in the location's query.</summary>
    public SecretValue? Sas { get; }

    /// <summary>The location as printed: no SAS, no user info.</summary>
    public string Display { get; }

    public override string ToString() => Display;

    /// <summary>The same location with another endpoint (a connection string's BlobEndpoint, or a test proxy).</summary>
    public AzureBlobLocation WithEndpoint(Uri endpoint)
    {
        var e = NormalizeEndpoint(endpoint, Account);
        return new AzureBlobLocation(Account, e, true, Container, Prefix, Sas, MakeDisplay("az", Account, Container, Prefix, e, explicitEndpoint: true));
    }

    public static AzureBlobLocation Parse(Uri location)
    {
        var scheme = location.Scheme.ToLowerInvariant();
        var query = ParseQuery(location.Query);
        query.Remove("endpoint", out var endpointText);
        SecretValue? sas = null;
        if (query.Count > 0)
        {
            if (!query.ContainsKey("sig"))
            {
                throw Invalid(location, $"unknown query parameter(s) {string.Join(", ", query.Keys.Select(k => "'" + k + "'"))}",
                    "Only 'endpoint' and a SAS token (sv, sig, se, sp, ...) are accepted in the query.");
            }
            sas = new SecretValue(string.Join("&", query.Select(kv => Uri.EscapeDataString(kv.Key) + "=" + Uri.EscapeDataString(kv.Value))));
        }
        var segments = location.AbsolutePath.Split('/', StringSplitOptions.RemoveEmptyEntries).Select(Uri.UnescapeDataString).ToList();

        if (scheme == "az")
        {
            var account = location.Host.ToLowerInvariant();
            ValidateAccount(location, account);
            if (segments.Count == 0) throw Invalid(location, "no container", "Write it as az://account/container/prefix.");
            var container = segments[0];
            ValidateContainer(location, container);
            var prefix = string.Join('/', segments.Skip(1));
            Uri endpoint;
            var explicitEndpoint = endpointText is not null;
            if (endpointText is not null)
            {
                if (!Uri.TryCreate(endpointText, UriKind.Absolute, out var e) || e.Scheme is not ("http" or "https") || e.Query.Length > 0)
                    throw Invalid(location, "the endpoint is not an http(s) URL without a query", "Write it as ?endpoint=https://host[:port][/account].");
                endpoint = NormalizeEndpoint(e, account);
            }
            else
            {
                endpoint = new Uri($"https://{account}.blob.core.windows.net");
            }
            return new AzureBlobLocation(account, endpoint, explicitEndpoint, container, prefix, sas, MakeDisplay(scheme, account, container, prefix, endpoint, explicitEndpoint));
        }

        if (scheme is "http" or "https")
        {
            if (endpointText is not null) throw Invalid(location, "'endpoint' is only accepted with az:// locations", "Use az://account/container/prefix?endpoint=URL, or the blob URL alone.");
            var authority = location.GetLeftPart(UriPartial.Authority);
            authority = authority.Replace(location.UserInfo + "@", "", StringComparison.Ordinal);
            string account;
            Uri endpoint;
            if (IsPathStyleHost(location.Host))
            {
                if (segments.Count == 0) throw Invalid(location, "no account", "Write an emulator URL as http://127.0.0.1:10000/account/container/prefix.");
                account = segments[0];
                segments.RemoveAt(0);
                endpoint = new Uri(authority + "/" + Uri.EscapeDataString(account));
            }
            else if (location.Host.Contains(".blob.", StringComparison.OrdinalIgnoreCase))
            {
                account = location.Host[..location.Host.IndexOf('.')].ToLowerInvariant();
                endpoint = new Uri(authority);
            }
            else
            {
                throw Invalid(location, "the host is neither an Azure blob endpoint (account.blob.core.windows.net) nor an emulator address",
                    "For a custom domain or private endpoint write az://account/container/prefix?endpoint=https://host.");
            }
            ValidateAccount(location, account);
            if (segments.Count == 0) throw Invalid(location, "no container", "Write it as https://account.blob.core.windows.net/container/prefix.");
            var container = segments[0];
            ValidateContainer(location, container);
            var prefix = string.Join('/', segments.Skip(1));
            return new AzureBlobLocation(account, endpoint, true, container, prefix, sas, MakeDisplay(scheme, account, container, prefix, endpoint, true));
        }

        throw Invalid(location, $"the scheme '{scheme}:' is not an Azure Blob scheme", "Write it as az://account/container/prefix.");
    }

    /// <summary>The URL of a blob (key relative to the prefix), path segments escaped.</summary>
    public Uri BlobUri(string key) => new(ContainerUri + "/" + EscapePath(Join(key)), new UriCreationOptions { DangerousDisablePathAndQueryCanonicalization = true });

    /// <summary>The container URL, e.g. <c>https://acct.blob.core.windows.net/container</c>.</summary>
    public string ContainerUri => Endpoint.AbsoluteUri.TrimEnd('/') + "/" + Container;

    /// <summary>The full blob name of a key: prefix + '/' + key.</summary>
    public string Join(string key) => Prefix.Length == 0 ? key : Prefix + "/" + key;

    internal static string EscapePath(string name) => string.Join('/', name.Split('/').Select(Uri.EscapeDataString));

    private static bool IsPathStyleHost(string host) => IPAddress.TryParse(host.Trim('[', ']'), out _) || !host.Contains('.');

    private static Uri NormalizeEndpoint(Uri endpoint, string account)
    {
        var text = endpoint.GetLeftPart(UriPartial.Path).TrimEnd('/');
        if (endpoint.UserInfo.Length > 0) text = text.Replace(endpoint.UserInfo + "@", "", StringComparison.Ordinal);
        // An emulator address without a path gets the account as its first path segment (Azurite is path-style).
        if (endpoint.AbsolutePath is "" or "/" && IsPathStyleHost(endpoint.Host)) text += "/" + account;
        return new Uri(text);
    }

    private static string MakeDisplay(string scheme, string account, string container, string prefix, Uri endpoint, bool explicitEndpoint)
    {
        var path = container + (prefix.Length > 0 ? "/" + prefix : "");
        if (scheme == "az")
        {
            var display = $"az://{account}/{path}";
            return explicitEndpoint ? display + "?endpoint=" + endpoint.AbsoluteUri.TrimEnd('/') : display;
        }
        return endpoint.AbsoluteUri.TrimEnd('/') + "/" + path;
    }

    private static Dictionary<string, string> ParseQuery(string query)
    {
        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var pair in query.TrimStart('?').Split('&', StringSplitOptions.RemoveEmptyEntries))
        {
            var eq = pair.IndexOf('=');
            var name = Uri.UnescapeDataString(eq < 0 ? pair : pair[..eq]);
            var value = eq < 0 ? "" : Uri.UnescapeDataString(pair[(eq + 1)..]);
            result[name] = value;
        }
        return result;
    }

    private static void ValidateAccount(Uri location, string account)
    {
        if (!AccountPattern().IsMatch(account))
            throw Invalid(location, $"'{account}' is not a storage account name (3-24 lowercase letters and digits)", "Check the account name.");
    }

    private static void ValidateContainer(Uri location, string container)
    {
        if (container != "$root" && !ContainerPattern().IsMatch(container))
            throw Invalid(location, $"'{container}' is not a container name (3-63 lowercase letters, digits and single hyphens)", "Check the container name.");
    }

    private static DbBackupException Invalid(Uri location, string what, string action)
    {
        var shown = new StringBuilder(location.GetLeftPart(UriPartial.Path));
        if (location.UserInfo.Length > 0) shown.Replace(location.UserInfo + "@", "");
        return new DbBackupException(ErrorIds.InvalidArgument, ErrorKind.InvalidArgument, $"The Azure Blob location '{shown}' is invalid: {what}.", action) { Target = shown.ToString() };
    }

    [GeneratedRegex("^[a-z0-9]{3,24}$")]
    private static partial Regex AccountPattern();

    [GeneratedRegex("^(?=.{3,63}$)[a-z0-9]+(-[a-z0-9]+)*$")]
    private static partial Regex ContainerPattern();
}
