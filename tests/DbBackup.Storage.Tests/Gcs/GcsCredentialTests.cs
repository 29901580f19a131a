using System.Security.Cryptography;
using DbBackup.Engine;
using DbBackup.Engine.Errors;
using DbBackup.Engine.Storage;
using DbBackup.Engine.Storage.Gcs;
using DbBackup.TestSupport;
using Xunit;

namespace DbBackup.Storage.Tests.Gcs;

/// <summary>
/// Each credential source, in order, against <see cref="GoogleTokenServiceDouble"/> (OAuth token endpoint and GCE
/// metadata server doubles) with <see cref="GcsResumableDouble"/> recording the Authorization header the storage
/// requests carry. The environment is injected through StorageOptions.Environment (no process variables change).
/// </summary>
public sealed class GcsCredentialTests : IAsyncLifetime
{
    private GcsResumableDouble _storage = null!;
    private GoogleTokenServiceDouble _tokens = null!;
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "dbbackup-gcs-cred-" + Guid.NewGuid().ToString("N")[..8]);

    public async Task InitializeAsync()
    {
        Directory.CreateDirectory(_dir);
        _storage = await GcsResumableDouble.StartAsync();
        _tokens = await GoogleTokenServiceDouble.StartAsync();
    }

    public async Task DisposeAsync()
    {
        await _storage.DisposeAsync();
        await _tokens.DisposeAsync();
        Directory.Delete(_dir, recursive: true);
    }

    private GcsClient Client(Dictionary<string, string> env, GcsSettings? settings = null, string? endpoint = null)
    {
        env.TryAdd("HOME", Path.Combine(_dir, "empty-home")); // no gcloud ADC file unless a test writes one
        return (GcsClient)GcsClient.Create(new Uri($"gs://bucket/p?endpoint={endpoint ?? _storage.Endpoint.GetLeftPart(UriPartial.Authority)}"),
            new StorageOptions { Environment = n => env.GetValueOrDefault(n), Gcs = settings ?? new GcsSettings() });
    }

    private async Task<string?> AuthorizationSentBy(GcsClient client)
    {
        await client.StatAsync("probe", CancellationToken.None);
        return _storage.Requests.Last().Authorization;
    }

    private string WriteFile(string relative, string content)
    {
        var path = Path.Combine(_dir, relative);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, content);
        return path;
    }

    [Fact]
    public async Task An_explicit_access_token_setting_comes_first_then_GOOGLE_OAUTH_ACCESS_TOKEN()
    {
        var keyFile = WriteFile("sa.json", _tokens.ServiceAccountJson());
        var env = new Dictionary<string, string> { ["GOOGLE_OAUTH_ACCESS_TOKEN"] = "env-token", ["GOOGLE_APPLICATION_CREDENTIALS"] = keyFile };
        var client = Client(env, new GcsSettings { AccessToken = new SecretValue("settings-token") });
        Assert.Equal("Bearer settings-token", await AuthorizationSentBy(client));
        Assert.Equal("the access token setting", client.CredentialSource);

        var fromEnv = Client(new Dictionary<string, string>(env));
        Assert.Equal("Bearer env-token", await AuthorizationSentBy(fromEnv));
        Assert.Equal("GOOGLE_OAUTH_ACCESS_TOKEN", fromEnv.CredentialSource);
        Assert.Empty(_tokens.Calls);
    }

    [Fact]
    public async Task A_service_account_key_file_from_GOOGLE_APPLICATION_CREDENTIALS_is_exchanged_at_its_token_uri_double()
    {
        var keyFile = WriteFile("sa.json", _tokens.ServiceAccountJson());
        var client = Client(new Dictionary<string, string> { ["GOOGLE_APPLICATION_CREDENTIALS"] = keyFile });
        Assert.Equal("Bearer " + _tokens.ServiceAccountToken, await AuthorizationSentBy(client));
        Assert.Equal("GOOGLE_APPLICATION_CREDENTIALS (service account)", client.CredentialSource);
        Assert.Equal(["urn:ietf:params:oauth:grant-type:jwt-bearer"], _tokens.Calls);
        await AuthorizationSentBy(client);
        Assert.Single(_tokens.Calls); // the token is cached
    }

    [Fact]
    public async Task Service_account_keys_from_the_file_and_JSON_settings_are_used_before_the_environment()
    {
        var keyFile = WriteFile("sa.json", _tokens.ServiceAccountJson());
        var env = new Dictionary<string, string> { ["GOOGLE_APPLICATION_CREDENTIALS"] = Path.Combine(_dir, "missing.json") };
        var fromFile = Client(env, new GcsSettings { CredentialsFile = keyFile });
        Assert.Equal("Bearer " + _tokens.ServiceAccountToken, await AuthorizationSentBy(fromFile));
        Assert.Equal("the key file setting (service account)", fromFile.CredentialSource);
        var fromJson = Client(new Dictionary<string, string>(env), new GcsSettings { CredentialsJson = new SecretValue(_tokens.ServiceAccountJson()) });
        Assert.Equal("Bearer " + _tokens.ServiceAccountToken, await AuthorizationSentBy(fromJson));
        Assert.Equal("the key JSON setting (service account)", fromJson.CredentialSource);
    }

    [Fact]
    public async Task Application_default_credentials_from_gcloud_s_well_known_file_refresh_at_the_token_double()
    {
        var home = Path.Combine(_dir, "home");
        WriteFile("home/.config/gcloud/application_default_credentials.json", _tokens.AuthorizedUserJson());
        var client = Client(new Dictionary<string, string> { ["HOME"] = home });
        Assert.Equal("Bearer " + _tokens.UserToken, await AuthorizationSentBy(client));
        Assert.Equal("application-default credentials (authorized user)", client.CredentialSource);
        Assert.Equal(["refresh_token"], _tokens.Calls);

        WriteFile("cfg/application_default_credentials.json", _tokens.AuthorizedUserJson());
        var viaCloudsdkConfig = Client(new Dictionary<string, string> { ["CLOUDSDK_CONFIG"] = Path.Combine(_dir, "cfg") });
        Assert.Equal("Bearer " + _tokens.UserToken, await AuthorizationSentBy(viaCloudsdkConfig));
    }

    [Fact]
    public async Task The_GCE_metadata_server_double_named_by_GCE_METADATA_HOST_supplies_the_token_last()
    {
        var client = Client(new Dictionary<string, string> { ["GCE_METADATA_HOST"] = _tokens.BaseAddress.Authority });
        Assert.Equal("Bearer " + _tokens.MetadataToken, await AuthorizationSentBy(client));
        Assert.StartsWith("the GCE metadata server", client.CredentialSource, StringComparison.Ordinal);
        Assert.Equal(["metadata"], _tokens.Calls);
    }

    [Fact]
    public async Task Without_any_source_the_error_names_every_source_tried_and_no_request_is_sent()
    {
        var closed = LocalEndpoints.ClosedPort();
        var client = Client(new Dictionary<string, string> { ["GCE_METADATA_HOST"] = $"127.0.0.1:{closed}" }, endpoint: $"https://127.0.0.1:{closed}");
        var e = await Assert.ThrowsAnyAsync<DbBackupException>(() => client.StatAsync("x", CancellationToken.None));
        Assert.Equal(ErrorIds.StorageCredentialsMissing, e.ErrorId);
        foreach (var source in new[] { "access token setting", "GOOGLE_OAUTH_ACCESS_TOKEN", "key file setting", "GOOGLE_APPLICATION_CREDENTIALS", "application-default credentials", "GCE metadata server" })
            Assert.Contains(source, e.Message, StringComparison.Ordinal);
        Assert.Contains("GOOGLE_APPLICATION_CREDENTIALS", e.RecommendedAction!, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_plain_http_emulator_endpoint_without_credentials_is_used_anonymously()
    {
        var client = Client(new Dictionary<string, string>());
        Assert.Null(await AuthorizationSentBy(client));
        Assert.Null(client.CredentialSource);
    }

    [Fact]
    public async Task A_key_file_that_does_not_exist_is_reported_as_missing_credentials_naming_the_variable()
    {
        var client = Client(new Dictionary<string, string> { ["GOOGLE_APPLICATION_CREDENTIALS"] = Path.Combine(_dir, "nope.json") });
        var e = await Assert.ThrowsAnyAsync<DbBackupException>(() => client.StatAsync("x", CancellationToken.None));
        Assert.Equal(ErrorIds.StorageCredentialsMissing, e.ErrorId);
        Assert.Contains("GOOGLE_APPLICATION_CREDENTIALS", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_key_the_token_double_rejects_fails_with_StorageAuthenticationFailed_without_leaking_the_key()
    {
        var json = _tokens.ServiceAccountJson();
        using (var other = RSA.Create(2048)) _tokens.ServiceAccountKey = RSA.Create(other.ExportParameters(true)); // verifies against a different key
        var keyFile = WriteFile("sa.json", json);
        var client = Client(new Dictionary<string, string> { ["GOOGLE_APPLICATION_CREDENTIALS"] = keyFile });
        var e = await Assert.ThrowsAnyAsync<DbBackupException>(() => client.StatAsync("x", CancellationToken.None));
        Assert.Equal(ErrorIds.StorageAuthenticationFailed, e.ErrorId);
        Assert.Contains("GOOGLE_APPLICATION_CREDENTIALS", e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("PRIVATE KEY", e.ToString(), StringComparison.Ordinal);

        var user = Client(new Dictionary<string, string>(), new GcsSettings { CredentialsJson = new SecretValue(_tokens.AuthorizedUserJson().Replace(_tokens.RefreshToken, "1//revoked", StringComparison.Ordinal)) });
        var refused = await Assert.ThrowsAnyAsync<DbBackupException>(() => user.StatAsync("x", CancellationToken.None));
        Assert.Equal(ErrorIds.StorageAuthenticationFailed, refused.ErrorId);
        Assert.Contains("invalid_grant", refused.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("revoked", refused.ToString(), StringComparison.Ordinal);
    }
}
