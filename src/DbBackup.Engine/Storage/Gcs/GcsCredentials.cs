using System.Net.Http.Headers;
using System.Text.Json;
using DbBackup.Engine.Errors;
using DbBackup.Engine.Storage.ObjectStore;
using Google.Apis.Auth.OAuth2;
using Google.Apis.Auth.OAuth2.Responses;

namespace DbBackup.Engine.Storage.Gcs;

/// <summary>
/// Finds the credential a <see cref="GcsClient"/> sends, in this order (the first source present wins):
/// 1. an explicit access token: <see cref="GcsSettings.AccessToken"/>, then <c>GOOGLE_OAUTH_ACCESS_TOKEN</c>;
/// 2. a JSON key: <see cref="GcsSettings.CredentialsJson"/>, <see cref="GcsSettings.CredentialsFile"/>, then the file named by
///    <c>GOOGLE_APPLICATION_CREDENTIALS</c> (service account via Google.Apis.Auth, or a gcloud authorized_user file);
/// 3. application-default credentials: gcloud's well-known file (<c>$CLOUDSDK_CONFIG</c> or
///    <c>~/.config/gcloud</c> / <c>%APPDATA%\gcloud</c>, <c>application_default_credentials.json</c>);
/// 4. the GCE metadata server (<c>GCE_METADATA_HOST</c>, else 169.254.169.254 when running on Google hardware).
/// With none: anonymous when <see cref="GcsSettings.Anonymous"/> is set or the endpoint is a plain-http emulator,
/// otherwise <see cref="ErrorIds.StorageCredentialsMissing"/> naming every source tried.
/// Environment variables are read only through <see cref="StorageOptions.Environment"/>.
/// </summary>
internal sealed class GcsCredentials
{
    internal const string Scope = "https://www.googleapis.com/auth/devstorage.read_write";
    internal const string DefaultMetadataHost = "169.254.169.254";

    private readonly GcsSettings _settings;
    private readonly Func<string, string?> _env;
    private readonly bool _allowAnonymous;
    private readonly HttpClient _http;
    private readonly SemaphoreSlim _gate = new(1, 1);
    private ITokenSource? _source;
    private bool _resolved;

    public GcsCredentials(GcsSettings settings, Func<string, string?> environment, bool allowAnonymous, HttpClient http)
    {
        _settings = settings;
        _env = environment;
        _allowAnonymous = allowAnonymous || settings.Anonymous;
        _http = http;
    }

    /// <summary>The source in use (e.g. "GOOGLE_APPLICATION_CREDENTIALS (service account)"), or null before the first request / when anonymous.</summary>
    public string? SourceName => _source?.Name;

    /// <summary>The Authorization header value, or null when requests go anonymously.</summary>
    public async Task<AuthenticationHeaderValue?> GetHeaderAsync(CancellationToken cancellationToken)
    {
        var source = await ResolveAsync(cancellationToken).ConfigureAwait(false);
        if (source is null) return null;
        string token;
        try
        {
            token = await source.GetTokenAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (TokenResponseException e)
        {
            throw new DbBackupException(ErrorIds.StorageAuthenticationFailed, ErrorKind.AuthenticationError,
                $"The token service rejected the Google Cloud credential from {source.Name} ({e.Error?.Error ?? "no error code"}).",
                "Check that the key is valid and not revoked, or pass a fresh access token.", e);
        }
        return new AuthenticationHeaderValue("Bearer", token);
    }

    private async Task<ITokenSource?> ResolveAsync(CancellationToken cancellationToken)
    {
        if (_resolved) return _source;
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (!_resolved)
            {
                _source = await FindAsync(cancellationToken).ConfigureAwait(false);
                _resolved = true;
            }
            return _source;
        }
        finally { _gate.Release(); }
    }

    private async Task<ITokenSource?> FindAsync(CancellationToken cancellationToken)
    {
        var tried = new List<string>();

        tried.Add("the access token setting");
        if (_settings.AccessToken is { IsEmpty: false } explicitToken) return new StaticToken(explicitToken.Reveal(), "the access token setting");
        tried.Add("GOOGLE_OAUTH_ACCESS_TOKEN");
        if (_env("GOOGLE_OAUTH_ACCESS_TOKEN") is { Length: > 0 } envToken) return new StaticToken(envToken, "GOOGLE_OAUTH_ACCESS_TOKEN");

        tried.Add("the key JSON setting");
        if (_settings.CredentialsJson is { IsEmpty: false } json) return FromJson(json.Reveal(), "the key JSON setting");
        tried.Add("the key file setting");
        if (!string.IsNullOrEmpty(_settings.CredentialsFile)) return FromFile(_settings.CredentialsFile, "the key file setting");
        tried.Add("GOOGLE_APPLICATION_CREDENTIALS");
        if (_env("GOOGLE_APPLICATION_CREDENTIALS") is { Length: > 0 } keyFile) return FromFile(keyFile, "GOOGLE_APPLICATION_CREDENTIALS");

        var wellKnown = WellKnownAdcFile();
        tried.Add($"application-default credentials ({wellKnown ?? "no home folder"})");
        if (wellKnown is not null && File.Exists(wellKnown)) return FromFile(wellKnown, "application-default credentials");

        var metadataHost = _env("GCE_METADATA_HOST");
        tried.Add($"the GCE metadata server ({metadataHost ?? DefaultMetadataHost})");
        if (metadataHost is { Length: > 0 } || OnGoogleHardware())
        {
            var metadata = new MetadataServerToken(_http, metadataHost is { Length: > 0 } ? metadataHost : DefaultMetadataHost);
            if (await metadata.IsAvailableAsync(cancellationToken).ConfigureAwait(false)) return metadata;
        }

        if (_allowAnonymous) return null;
        throw new DbBackupException(ErrorIds.StorageCredentialsMissing, ErrorKind.AuthenticationError,
            "No Google Cloud credentials were found. Tried: " + string.Join(", ", tried) + ".",
            "Set GOOGLE_APPLICATION_CREDENTIALS to a service-account key file, run 'gcloud auth application-default login', " +
            "set GOOGLE_OAUTH_ACCESS_TOKEN, or run on Google Cloud with a service account attached.");
    }

    /// <summary>gcloud's application-default credentials file, or null when no home folder is known.</summary>
    internal string? WellKnownAdcFile()
    {
        const string file = "application_default_credentials.json";
        if (_env("CLOUDSDK_CONFIG") is { Length: > 0 } config) return Path.Combine(config, file);
        if (OperatingSystem.IsWindows())
            return _env("APPDATA") is { Length: > 0 } appData ? Path.Combine(appData, "gcloud", file) : null;
        return _env("HOME") is { Length: > 0 } home ? Path.Combine(home, ".config", "gcloud", file) : null;
    }

    private static bool OnGoogleHardware()
    {
        if (!OperatingSystem.IsLinux()) return !OperatingSystem.IsMacOS(); // Windows on GCE: only a metadata probe tells
        try { return File.ReadAllText("/sys/class/dmi/id/product_name").Contains("Google", StringComparison.Ordinal); }
        catch (IOException) { return false; }
        catch (UnauthorizedAccessException) { return false; }
    }

    private ITokenSource FromFile(string path, string source)
    {
        string json;
        try { json = File.ReadAllText(path); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new DbBackupException(ErrorIds.StorageCredentialsMissing, ErrorKind.AuthenticationError,
                $"The Google Cloud key file named by {source} cannot be read ({e.GetType().Name}: {Path.GetFileName(path)}).",
                "Point it at an existing service-account JSON key file that this account can read.", e);
        }
        return FromJson(json, source);
    }

    private ITokenSource FromJson(string json, string source)
    {
        string? type;
        try
        {
            using var doc = JsonDocument.Parse(json);
            type = doc.RootElement.TryGetProperty("type", out var t) ? t.GetString() : null;
        }
        catch (JsonException e)
        {
            throw new DbBackupException(ErrorIds.StorageAuthenticationFailed, ErrorKind.AuthenticationError,
                $"The Google Cloud key from {source} is not valid JSON.", "Use the JSON key file downloaded from the Google Cloud console.", e);
        }
        switch (type)
        {
            case JsonCredentialParameters.ServiceAccountCredentialType:
                GoogleCredential credential;
                try { credential = CredentialFactory.FromJson<ServiceAccountCredential>(json).ToGoogleCredential().CreateScoped(Scope); }
                catch (Exception e) when (e is InvalidOperationException or ArgumentException or FormatException or System.Security.Cryptography.CryptographicException)
                {
                    throw new DbBackupException(ErrorIds.StorageAuthenticationFailed, ErrorKind.AuthenticationError,
                        $"The service-account key from {source} is incomplete or damaged ({e.GetType().Name}).",
                        "Download a new JSON key for the service account.", e);
                }
                return new GoogleLibraryToken(credential, $"{source} (service account)");
            case JsonCredentialParameters.AuthorizedUserCredentialType:
                return AuthorizedUserToken.Create(json, _http, $"{source} (authorized user)");
            default:
                throw new DbBackupException(ErrorIds.StorageAuthenticationFailed, ErrorKind.AuthenticationError,
                    $"The Google Cloud key from {source} has type '{type ?? "(none)"}'; dbbackup reads 'service_account' and 'authorized_user' keys.",
                    "Use a service-account JSON key, gcloud application-default credentials or an access token.");
        }
    }

    private interface ITokenSource
    {
        string Name { get; }
        Task<string> GetTokenAsync(CancellationToken cancellationToken);
    }

    private sealed class StaticToken(string token, string name) : ITokenSource
    {
        public string Name => name;
        public Task<string> GetTokenAsync(CancellationToken cancellationToken) => Task.FromResult(token);
    }

    private sealed class GoogleLibraryToken(GoogleCredential credential, string name) : ITokenSource
    {
        public string Name => name;
        public Task<string> GetTokenAsync(CancellationToken cancellationToken)
            => ((ITokenAccess)credential).GetAccessTokenForRequestAsync(cancellationToken: cancellationToken);
    }

    /// <summary>A token fetched from an HTTP token service and cached until shortly before it expires.</summary>
    private abstract class CachedToken(HttpClient http, string name) : ITokenSource
    {
        private readonly SemaphoreSlim _gate = new(1, 1);
        private string? _token;
        private DateTimeOffset _expires;

        public string Name => name;
        protected HttpClient Http => http;

        public async Task<string> GetTokenAsync(CancellationToken cancellationToken)
        {
            if (_token is not null && DateTimeOffset.UtcNow < _expires) return _token;
            await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
            try
            {
                if (_token is not null && DateTimeOffset.UtcNow < _expires) return _token;
                using var request = CreateRequest();
                using var response = await http.SendAsync(request, cancellationToken).ConfigureAwait(false);
                var body = await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false);
                if (!response.IsSuccessStatusCode)
                {
                    var status = (int)response.StatusCode;
                    if (StorageRequestException.IsTransientStatus(status))
                        throw new StorageRequestException($"The token service for {name} answered HTTP {status}.", isTransient: true, status);
                    throw new DbBackupException(ErrorIds.StorageAuthenticationFailed, ErrorKind.AuthenticationError,
                        $"The token service refused the Google Cloud credential from {name} (HTTP {status}{ErrorCode(body)}).",
                        "Refresh the credential (e.g. 'gcloud auth application-default login') or use a service-account key.");
                }
                using var doc = JsonDocument.Parse(body);
                var token = doc.RootElement.TryGetProperty("access_token", out var t) ? t.GetString() : null;
                if (string.IsNullOrEmpty(token))
                    throw new DbBackupException(ErrorIds.StorageAuthenticationFailed, ErrorKind.AuthenticationError,
                        $"The token service for {name} answered without an access token.", "Check the credential source.");
                var lifetime = doc.RootElement.TryGetProperty("expires_in", out var e) && e.TryGetInt32(out var seconds) ? seconds : 3600;
                _expires = DateTimeOffset.UtcNow.AddSeconds(Math.Max(0, lifetime - Math.Min(300, lifetime / 2)));
                _token = token;
                return token;
            }
            finally { _gate.Release(); }
        }

        protected abstract HttpRequestMessage CreateRequest();

        private static string ErrorCode(string body)
        {
            try
            {
                using var doc = JsonDocument.Parse(body);
                return doc.RootElement.ValueKind == JsonValueKind.Object && doc.RootElement.TryGetProperty("error", out var e) && e.ValueKind == JsonValueKind.String ? ", " + e.GetString() : "";
            }
            catch (JsonException) { return ""; }
        }
    }

    /// <summary>gcloud's authorized_user file: a refresh token exchanged at its token_uri (default Google's OAuth endpoint).</summary>
    private sealed class AuthorizedUserToken(HttpClient http, string name, string clientId, SecretValue clientSecret, SecretValue refreshToken, Uri tokenUri)
        : CachedToken(http, name)
    {
        public static AuthorizedUserToken Create(string json, HttpClient http, string name)
        {
            using var doc = JsonDocument.Parse(json);
            string? Get(string p) => doc.RootElement.TryGetProperty(p, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;
            var clientId = Get("client_id");
            var secret = Get("client_secret");
            var refresh = Get("refresh_token");
            if (string.IsNullOrEmpty(clientId) || string.IsNullOrEmpty(secret) || string.IsNullOrEmpty(refresh))
                throw new DbBackupException(ErrorIds.StorageAuthenticationFailed, ErrorKind.AuthenticationError,
                    $"The authorized_user credential from {name} lacks client_id, client_secret or refresh_token.",
                    "Run 'gcloud auth application-default login' again.");
            var tokenUri = Get("token_uri") is { Length: > 0 } u && Uri.TryCreate(u, UriKind.Absolute, out var parsed) ? parsed : new Uri(GoogleAuthConsts.OidcTokenUrl);
            return new AuthorizedUserToken(http, name, clientId, new SecretValue(secret), new SecretValue(refresh), tokenUri);
        }

        protected override HttpRequestMessage CreateRequest() => new(HttpMethod.Post, tokenUri)
        {
            Content = new FormUrlEncodedContent(new Dictionary<string, string>
            {
                ["grant_type"] = "refresh_token",
                ["client_id"] = clientId,
                ["client_secret"] = clientSecret.Reveal(),
                ["refresh_token"] = refreshToken.Reveal(),
            }),
        };
    }

    /// <summary>The GCE metadata server's token for the instance's default service account (Metadata-Flavor: Google).</summary>
    private sealed class MetadataServerToken(HttpClient http, string host) : CachedToken(http, $"the GCE metadata server ({host})")
    {
        private readonly string _base = (host.Contains("://", StringComparison.Ordinal) ? host : "http://" + host).TrimEnd('/');

        public async Task<bool> IsAvailableAsync(CancellationToken cancellationToken)
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(TimeSpan.FromSeconds(2));
            try
            {
                using var request = new HttpRequestMessage(HttpMethod.Get, _base + "/");
                request.Headers.Add("Metadata-Flavor", "Google");
                using var response = await Http.SendAsync(request, timeout.Token).ConfigureAwait(false);
                return response.Headers.TryGetValues("Metadata-Flavor", out var flavor) && flavor.Contains("Google");
            }
            catch (Exception e) when (e is HttpRequestException or OperationCanceledException && !cancellationToken.IsCancellationRequested)
            {
                return false;
            }
        }

        protected override HttpRequestMessage CreateRequest()
        {
            var request = new HttpRequestMessage(HttpMethod.Get, _base + "/computeMetadata/v1/instance/service-accounts/default/token?scopes=" + Uri.EscapeDataString(Scope));
            request.Headers.Add("Metadata-Flavor", "Google");
            return request;
        }
    }
}
