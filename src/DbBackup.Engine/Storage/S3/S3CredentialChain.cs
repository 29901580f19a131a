using System.Net;
using System.Text.Json;
using Amazon.Runtime;
using DbBackup.Engine.Errors;

namespace DbBackup.Engine.Storage.S3;

/// <summary>
/// The AWS default credential chain, reading the environment only through <see cref="StorageOptions.Environment"/>:
/// explicit keys (<see cref="S3Settings"/>), environment variables (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY,
/// AWS_SESSION_TOKEN), the shared profile (AWS_PROFILE or "default" in AWS_SHARED_CREDENTIALS_FILE / AWS_CONFIG_FILE,
/// by default ~/.aws/credentials and ~/.aws/config), container credentials (ECS/EKS Pod Identity:
/// AWS_CONTAINER_CREDENTIALS_RELATIVE_URI / _FULL_URI with AWS_CONTAINER_AUTHORIZATION_TOKEN[_FILE]) and the EC2
/// instance role (IMDSv2 at AWS_EC2_METADATA_SERVICE_ENDPOINT or 169.254.169.254, unless AWS_EC2_METADATA_DISABLED).
/// The first source that has credentials wins; temporary ones are refreshed before they expire. With none, the error
/// is <see cref="ErrorIds.StorageCredentialsMissing"/> listing every source tried.
/// </summary>
public sealed class S3CredentialChain : AWSCredentials
{
    private static readonly HttpClient Metadata = new(new SocketsHttpHandler { UseProxy = false, ConnectTimeout = TimeSpan.FromSeconds(2), AllowAutoRedirect = false });
    private static readonly TimeSpan RefreshBefore = TimeSpan.FromMinutes(5);

    private readonly S3Settings _settings;
    private readonly Func<string, string?> _env;
    private readonly string _display;
    private readonly SemaphoreSlim _lock = new(1, 1);
    private ImmutableCredentials? _current;
    private DateTimeOffset? _expires;

    public S3CredentialChain(S3Settings settings, Func<string, string?> environment, string displayLocation)
    {
        _settings = settings;
        _env = environment;
        _display = displayLocation;
    }

    /// <summary>The source the current credentials came from (e.g. "environment variables"), once resolved.</summary>
    public string? Source { get; private set; }

    public override ImmutableCredentials GetCredentials() => GetCredentialsAsync().GetAwaiter().GetResult();

    public override async Task<ImmutableCredentials> GetCredentialsAsync()
    {
        if (_current is { } c && (_expires is null || _expires - DateTimeOffset.UtcNow > RefreshBefore)) return c;
        await _lock.WaitAsync().ConfigureAwait(false);
        try
        {
            if (_current is { } c2 && (_expires is null || _expires - DateTimeOffset.UtcNow > RefreshBefore)) return c2;
            var (creds, expires, source) = await ResolveAsync(CancellationToken.None).ConfigureAwait(false);
            _current = creds;
            _expires = expires;
            Source = source;
            return creds;
        }
        finally { _lock.Release(); }
    }

    private string? Env(string name) => _env(name) is { Length: > 0 } v ? v : null;

    private async Task<(ImmutableCredentials, DateTimeOffset?, string)> ResolveAsync(CancellationToken ct)
    {
        var tried = new List<string>();

        // 1. Explicit keys from the host.
        if (_settings.AccessKeyId is { Length: > 0 } || _settings.SecretAccessKey is { IsEmpty: false })
        {
            if (_settings.AccessKeyId is not { Length: > 0 } id || _settings.SecretAccessKey is not { IsEmpty: false } secret)
                throw Missing("explicit S3 settings: an access key id and a secret access key must both be given", []);
            return (new ImmutableCredentials(id, secret.Reveal(), _settings.SessionToken?.Reveal()), null, "explicit S3 settings");
        }
        tried.Add("explicit S3 settings (none given)");

        // 2. Environment variables.
        var envId = Env("AWS_ACCESS_KEY_ID");
        var envSecret = Env("AWS_SECRET_ACCESS_KEY");
        if (envId is not null && envSecret is not null)
            return (new ImmutableCredentials(envId, envSecret, Env("AWS_SESSION_TOKEN")), null, "environment variables");
        tried.Add(envId is null && envSecret is null
            ? "environment variables AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY (not set)"
            : $"environment variables ({(envId is null ? "AWS_ACCESS_KEY_ID" : "AWS_SECRET_ACCESS_KEY")} is not set, the other one is)");

        // 3. Shared credentials/config files.
        var profileResult = ReadProfile(out var profileNote);
        if (profileResult is not null) return (profileResult, null, profileNote);
        tried.Add(profileNote);

        // 4. Container credentials (ECS task role, EKS Pod Identity).
        var (containerCreds, containerExpires, containerNote) = await ContainerAsync(ct).ConfigureAwait(false);
        if (containerCreds is not null) return (containerCreds, containerExpires, containerNote);
        tried.Add(containerNote);

        // 5. EC2 instance role through IMDSv2.
        var (imdsCreds, imdsExpires, imdsNote) = await InstanceRoleAsync(ct).ConfigureAwait(false);
        if (imdsCreds is not null) return (imdsCreds, imdsExpires, imdsNote);
        tried.Add(imdsNote);

        throw Missing("no source had credentials", tried);
    }

    private DbBackupException Missing(string what, IReadOnlyList<string> tried) => new(ErrorIds.StorageCredentialsMissing, ErrorKind.AuthenticationError,
        $"No AWS credentials for '{_display}': {what}." + (tried.Count > 0 ? " Tried, in order: " + string.Join("; ", tried) + "." : ""),
        "Set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN for temporary keys), or AWS_PROFILE with a profile in ~/.aws/credentials, or run where a container/instance role is attached. See docs/storage/s3.md.")
    { Target = _display };

    // ------------------------------------------------------------------ shared profile
    private ImmutableCredentials? ReadProfile(out string note)
    {
        var name = _settings.Profile ?? Env("AWS_PROFILE") ?? Env("AWS_DEFAULT_PROFILE") ?? "default";
        var home = Env("HOME") ?? Env("USERPROFILE");
        var credentialsFile = Env("AWS_SHARED_CREDENTIALS_FILE") ?? (home is null ? null : Path.Combine(home, ".aws", "credentials"));
        var configFile = Env("AWS_CONFIG_FILE") ?? (home is null ? null : Path.Combine(home, ".aws", "config"));
        var where = $"shared profile '{name}' in {credentialsFile ?? "(no HOME)"} and {configFile ?? "(no HOME)"}";

        var section = ReadSection(credentialsFile, name) ?? new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        var config = ReadSection(configFile, name == "default" ? "default" : "profile " + name) ?? ReadSection(configFile, name);
        if (config is not null)
        {
            foreach (var (k, v) in config) section.TryAdd(k, v); // the credentials file wins
        }
        if (section.TryGetValue("aws_access_key_id", out var id) && section.TryGetValue("aws_secret_access_key", out var secret) && id.Length > 0 && secret.Length > 0)
        {
            note = $"shared profile '{name}'";
            return new ImmutableCredentials(id, secret, section.TryGetValue("aws_session_token", out var token) && token.Length > 0 ? token : null);
        }
        var unsupported = new[] { "role_arn", "sso_start_url", "sso_session", "credential_process", "web_identity_token_file" }.Where(section.ContainsKey).ToList();
        note = unsupported.Count > 0
            ? $"{where} (uses {string.Join("/", unsupported)}, which dbbackup does not resolve; export the resulting keys instead)"
            : section.Count > 0 || config is not null ? $"{where} (no aws_access_key_id/aws_secret_access_key)" : $"{where} (not found)";
        return null;
    }

    /// <summary>Reads one [section] of an INI-style AWS file; null when the file or section does not exist.</summary>
    internal static Dictionary<string, string>? ReadSection(string? file, string section)
    {
        if (file is null || !File.Exists(file)) return null;
        Dictionary<string, string>? found = null;
        var inSection = false;
        foreach (var raw in File.ReadLines(file))
        {
            var line = raw.Trim();
            if (line.Length == 0 || line[0] is '#' or ';') continue;
            if (line[0] == '[' && line.EndsWith(']'))
            {
                inSection = string.Equals(string.Join(' ', line[1..^1].Split(' ', StringSplitOptions.RemoveEmptyEntries)), section, StringComparison.Ordinal);
                if (inSection) found ??= new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
                continue;
            }
            var eq = line.IndexOf('=');
            if (inSection && eq > 0) found![line[..eq].Trim()] = line[(eq + 1)..].Trim();
        }
        return found;
    }

    // ------------------------------------------------------------------ container credentials
    private async Task<(ImmutableCredentials?, DateTimeOffset?, string)> ContainerAsync(CancellationToken ct)
    {
        var relative = Env("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI");
        var full = Env("AWS_CONTAINER_CREDENTIALS_FULL_URI");
        if (relative is null && full is null) return (null, null, "container credentials (AWS_CONTAINER_CREDENTIALS_RELATIVE_URI/_FULL_URI not set)");
        Uri uri;
        if (relative is not null) uri = new Uri("http://169.254.170.2" + (relative.StartsWith('/') ? relative : "/" + relative));
        else if (!Uri.TryCreate(full, UriKind.Absolute, out uri!) || !(uri.Scheme == "https" || uri.Scheme == "http" && IsAllowedContainerHost(uri)))
            throw Missing("AWS_CONTAINER_CREDENTIALS_FULL_URI must be an https:// URL or an http:// URL on a loopback or the ECS/EKS link-local address", []);
        var where = $"container credentials at {uri.GetLeftPart(UriPartial.Path)}";

        string? token = null;
        if (Env("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE") is { } tokenFile)
        {
            try { token = (await File.ReadAllTextAsync(tokenFile, ct).ConfigureAwait(false)).Trim(); }
            catch (IOException e) { throw Missing($"{where}: the token file in AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE could not be read ({e.Message})", []); }
        }
        token ??= Env("AWS_CONTAINER_AUTHORIZATION_TOKEN");

        using var request = new HttpRequestMessage(HttpMethod.Get, uri);
        if (token is not null) request.Headers.TryAddWithoutValidation("Authorization", token);
        var (status, body, error) = await SendAsync(request, ct).ConfigureAwait(false);
        if (error is not null || status != HttpStatusCode.OK)
            throw Missing($"{where} did not answer with credentials ({error ?? "HTTP " + (int)status!})", []);
        return ParseCredentialsJson(body!, where) is var (c, exp) ? (c, exp, "container credentials") : throw Missing($"{where} returned no AccessKeyId/SecretAccessKey", []);
    }

    private static bool IsAllowedContainerHost(Uri uri)
    {
        if (uri.IsLoopback) return true;
        return IPAddress.TryParse(uri.Host.Trim('[', ']'), out var ip) && (ip.Equals(IPAddress.Parse("169.254.170.2")) || ip.Equals(IPAddress.Parse("169.254.170.23")) || ip.Equals(IPAddress.Parse("fd00:ec2::23")));
    }

    // ------------------------------------------------------------------ EC2 instance metadata (IMDSv2)
    private async Task<(ImmutableCredentials?, DateTimeOffset?, string)> InstanceRoleAsync(CancellationToken ct)
    {
        if (string.Equals(Env("AWS_EC2_METADATA_DISABLED"), "true", StringComparison.OrdinalIgnoreCase))
            return (null, null, "EC2 instance role (AWS_EC2_METADATA_DISABLED=true)");
        var endpoint = (Env("AWS_EC2_METADATA_SERVICE_ENDPOINT") ?? "http://169.254.169.254").TrimEnd('/');
        if (!Uri.TryCreate(endpoint, UriKind.Absolute, out _)) return (null, null, $"EC2 instance role (AWS_EC2_METADATA_SERVICE_ENDPOINT is not a URL)");
        var where = $"EC2 instance role at {endpoint}";

        using var tokenRequest = new HttpRequestMessage(HttpMethod.Put, endpoint + "/latest/api/token");
        tokenRequest.Headers.TryAddWithoutValidation("X-aws-ec2-metadata-token-ttl-seconds", "21600");
        var (status, token, error) = await SendAsync(tokenRequest, ct).ConfigureAwait(false);
        if (error is not null) return (null, null, $"{where} (no answer: {error})");
        if (status is not HttpStatusCode.OK) return (null, null, $"{where} (token request: HTTP {(int)status!})");

        using var roleRequest = new HttpRequestMessage(HttpMethod.Get, endpoint + "/latest/meta-data/iam/security-credentials/");
        roleRequest.Headers.TryAddWithoutValidation("X-aws-ec2-metadata-token", token);
        (status, var roles, error) = await SendAsync(roleRequest, ct).ConfigureAwait(false);
        if (error is not null || status is not HttpStatusCode.OK)
            return (null, null, $"{where} (no role attached: {error ?? "HTTP " + (int)status!})");
        var role = roles!.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).FirstOrDefault();
        if (role is null) return (null, null, $"{where} (no role attached)");

        using var credRequest = new HttpRequestMessage(HttpMethod.Get, endpoint + "/latest/meta-data/iam/security-credentials/" + Uri.EscapeDataString(role));
        credRequest.Headers.TryAddWithoutValidation("X-aws-ec2-metadata-token", token);
        (status, var body, error) = await SendAsync(credRequest, ct).ConfigureAwait(false);
        if (error is not null || status is not HttpStatusCode.OK)
            throw Missing($"{where}: role '{role}' credentials could not be read ({error ?? "HTTP " + (int)status!})", []);
        return ParseCredentialsJson(body!, where) is var (c, exp) ? (c, exp, $"EC2 instance role '{role}'") : throw Missing($"{where}: role '{role}' returned no credentials", []);
    }

    private static async Task<(HttpStatusCode?, string?, string?)> SendAsync(HttpRequestMessage request, CancellationToken ct)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timeout.CancelAfter(TimeSpan.FromSeconds(5));
        try
        {
            using var response = await Metadata.SendAsync(request, timeout.Token).ConfigureAwait(false);
            var body = await response.Content.ReadAsStringAsync(timeout.Token).ConfigureAwait(false);
            return (response.StatusCode, body, null);
        }
        catch (HttpRequestException e) { return (null, null, e.HttpRequestError == HttpRequestError.ConnectionError ? "connection failed" : e.Message); }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested) { return (null, null, "timed out"); }
    }

    /// <summary>The documented JSON of the container and instance-metadata endpoints: AccessKeyId, SecretAccessKey, Token, Expiration.</summary>
    private static (ImmutableCredentials, DateTimeOffset?)? ParseCredentialsJson(string json, string where)
    {
        try
        {
            using var doc = JsonDocument.Parse(json);
            var root = doc.RootElement;
            string? Get(string name) => root.TryGetProperty(name, out var p) && p.ValueKind == JsonValueKind.String ? p.GetString() : null;
            if (Get("Code") is { } code && code != "Success") return null;
            if (Get("AccessKeyId") is not { Length: > 0 } id || Get("SecretAccessKey") is not { Length: > 0 } secret) return null;
            DateTimeOffset? expires = DateTimeOffset.TryParse(Get("Expiration"), out var e) ? e : null;
            return (new ImmutableCredentials(id, secret, Get("Token")), expires);
        }
        catch (JsonException) { return null; }
    }
}
