using System.Globalization;
using System.Text.Json;
using Azure.Core;
using DbBackup.Engine.Errors;
using DbBackup.Engine.Storage.ObjectStore;

namespace DbBackup.Engine.Storage.Azure;

/// <summary>A source of Microsoft Entra access tokens for Azure Storage (audience https://storage.azure.com).</summary>
internal interface IAzureTokenSource
{
    /// <summary>Where tokens come from, for messages (never a secret).</summary>
    string Name { get; }

    Task<AccessToken> GetTokenAsync(CancellationToken cancellationToken);
}

internal static class AzureTokenProtocol
{
    public const string Resource = "https://storage.azure.com/";
    public const string Scope = "https://storage.azure.com/.default";

    /// <summary>Sends a token request and reads access_token plus expires_on/expires_in; failures name the source.</summary>
    public static async Task<AccessToken> RequestAsync(HttpClient http, HttpRequestMessage request, string source, CancellationToken cancellationToken)
    {
        HttpResponseMessage response;
        try
        {
            response = await http.SendAsync(request, cancellationToken).ConfigureAwait(false);
        }
        catch (HttpRequestException e)
        {
            throw new StorageRequestException($"The token service of {source} could not be reached ({e.Message}).", isTransient: true, inner: e);
        }
        using (response)
        {
            var body = await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false);
            var status = (int)response.StatusCode;
            if (!response.IsSuccessStatusCode)
            {
                if (StorageRequestException.IsTransientStatus(status))
                    throw new StorageRequestException($"The token service of {source} answered HTTP {status}.", isTransient: true, statusCode: status);
                throw new DbBackupException(ErrorIds.StorageAuthenticationFailed, ErrorKind.AuthenticationError,
                    $"{source} refused to issue a token for Azure Storage (HTTP {status}{Describe(body)}).",
                    "Check the identity's tenant, client id and secret, or that the managed identity is enabled for this resource.");
            }
            try
            {
                using var json = JsonDocument.Parse(body);
                var root = json.RootElement;
                var token = root.GetProperty("access_token").GetString();
                if (string.IsNullOrEmpty(token)) throw new FormatException("empty access_token");
                return new AccessToken(token, ExpiresOn(root));
            }
            catch (Exception e) when (e is JsonException or KeyNotFoundException or FormatException or InvalidOperationException)
            {
                throw new DbBackupException(ErrorIds.StorageAuthenticationFailed, ErrorKind.AuthenticationError,
                    $"The token service of {source} answered with something that is not a token response ({e.GetType().Name}).",
                    "Check the token endpoint's address.", e);
            }
        }
    }

    private static DateTimeOffset ExpiresOn(JsonElement root)
    {
        if (root.TryGetProperty("expires_on", out var on))
        {
            var text = on.ValueKind == JsonValueKind.Number ? on.GetRawText() : on.GetString();
            if (long.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var seconds)) return DateTimeOffset.FromUnixTimeSeconds(seconds);
            if (DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var date)) return date;
        }
        if (root.TryGetProperty("expires_in", out var inn))
        {
            var text = inn.ValueKind == JsonValueKind.Number ? inn.GetRawText() : inn.GetString();
            if (long.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var seconds)) return DateTimeOffset.UtcNow.AddSeconds(seconds);
        }
        return DateTimeOffset.UtcNow.AddMinutes(10); // no expiry given: refresh soon
    }

    /// <summary>The error code of an OAuth error body (never the body itself: it may echo request values).</summary>
    private static string Describe(string body)
    {
        try
        {
            using var json = JsonDocument.Parse(body);
            return json.RootElement.TryGetProperty("error", out var e) && e.ValueKind == JsonValueKind.String ? ", " + e.GetString() : "";
        }
        catch (JsonException)
        {
            return "";
        }
    }
}

/// <summary>A host-supplied Azure.Identity credential.</summary>
internal sealed class TokenCredentialSource(TokenCredential credential, string name) : IAzureTokenSource
{
    public string Name => name;

    public async Task<AccessToken> GetTokenAsync(CancellationToken cancellationToken)
    {
        try
        {
            return await credential.GetTokenAsync(new TokenRequestContext([AzureTokenProtocol.Scope]), cancellationToken).ConfigureAwait(false);
        }
        catch (global::Azure.Identity.AuthenticationFailedException e)
        {
            throw new DbBackupException(ErrorIds.StorageAuthenticationFailed, ErrorKind.AuthenticationError,
                $"{name} could not get a token for Azure Storage: {e.Message}", "Sign in again or check the credential's configuration.", e);
        }
    }
}

/// <summary>Service principal with a client secret: OAuth 2.0 client credentials at {authority}/{tenant}/oauth2/v2.0/token.</summary>
internal sealed class ClientSecretTokenSource(HttpClient http, Uri authorityHost, string tenantId, string clientId, SecretValue secret, string name) : IAzureTokenSource
{
    public string Name => name;

    public Task<AccessToken> GetTokenAsync(CancellationToken cancellationToken)
    {
        var url = new Uri(authorityHost.AbsoluteUri.TrimEnd('/') + "/" + Uri.EscapeDataString(tenantId) + "/oauth2/v2.0/token");
        var request = new HttpRequestMessage(HttpMethod.Post, url)
        {
            Content = new FormUrlEncodedContent(new Dictionary<string, string>
            {
                ["grant_type"] = "client_credentials",
                ["client_id"] = clientId,
                ["client_secret"] = secret.Reveal(),
                ["scope"] = AzureTokenProtocol.Scope,
            }),
        };
        return AzureTokenProtocol.RequestAsync(http, request, name, cancellationToken);
    }
}

/// <summary>
/// Managed identity through the local identity endpoint of Azure Automation, App Service and Functions:
/// GET $IDENTITY_ENDPOINT?resource=...&amp;api-version=2019-08-01 with header X-IDENTITY-HEADER: $IDENTITY_HEADER.
/// </summary>
internal sealed class AppServiceManagedIdentitySource(HttpClient http, Uri endpoint, SecretValue identityHeader, string? clientId, string name) : IAzureTokenSource
{
    public string Name => name;

    public Task<AccessToken> GetTokenAsync(CancellationToken cancellationToken)
    {
        var query = "api-version=2019-08-01&resource=" + Uri.EscapeDataString(AzureTokenProtocol.Resource)
            + (clientId is null ? "" : "&client_id=" + Uri.EscapeDataString(clientId));
        var url = new Uri(endpoint.AbsoluteUri + (endpoint.Query.Length > 0 ? "&" : "?") + query);
        var request = new HttpRequestMessage(HttpMethod.Get, url);
        request.Headers.Add("X-IDENTITY-HEADER", identityHeader.Reveal());
        request.Headers.Add("Metadata", "true");
        return AzureTokenProtocol.RequestAsync(http, request, name, cancellationToken);
    }
}

/// <summary>
/// Managed identity of a VM, scale set or container through the instance metadata service:
/// GET http://169.254.169.254/metadata/identity/oauth2/token?api-version=2018-02-01&amp;resource=... with Metadata: true.
/// IMDS is the last resort: when nothing accepts the connection within two seconds, that means "no credentials here"
/// (StorageCredentialsMissing), not a transient failure. A connected but slow IMDS is waited for.
/// </summary>
internal sealed class ImdsTokenSource(Uri endpoint, string? clientId, string name, string sourcesTried) : IAzureTokenSource
{
    private static readonly HttpClient Http = new(new SocketsHttpHandler { ConnectTimeout = TimeSpan.FromSeconds(2), UseProxy = false })
    {
        Timeout = Timeout.InfiniteTimeSpan,
    };

    private bool _answeredOnce;

    public string Name => name;

    public async Task<AccessToken> GetTokenAsync(CancellationToken cancellationToken)
    {
        var url = new Uri(endpoint.AbsoluteUri.TrimEnd('/') + "/metadata/identity/oauth2/token?api-version=2018-02-01&resource="
            + Uri.EscapeDataString(AzureTokenProtocol.Resource) + (clientId is null ? "" : "&client_id=" + Uri.EscapeDataString(clientId)));
        using var request = new HttpRequestMessage(HttpMethod.Get, url);
        request.Headers.Add("Metadata", "true");
        try
        {
            var token = await AzureTokenProtocol.RequestAsync(Http, request, name, cancellationToken).ConfigureAwait(false);
            _answeredOnce = true;
            return token;
        }
        catch (Exception e) when (!_answeredOnce && !cancellationToken.IsCancellationRequested
                                  && (e is OperationCanceledException || e is StorageRequestException { StatusCode: null } || e is DbBackupException { ErrorId: ErrorIds.StorageAuthenticationFailed } && IsNoIdentity(e)))
        {
            throw AzureCredentialChain.Missing(sourcesTried + $", and {name} (no managed identity answered at {endpoint.GetLeftPart(UriPartial.Authority)})", e);
        }
    }

    // IMDS answers 400 "Identity not found" when the machine has no managed identity assigned.
    private static bool IsNoIdentity(Exception e) => e.Message.Contains("HTTP 400", StringComparison.Ordinal) || e.Message.Contains("HTTP 404", StringComparison.Ordinal);
}
