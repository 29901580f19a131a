using Azure.Core;
using DbBackup.Engine.Errors;
using DbBackup.Engine.Storage;
using DbBackup.Engine.Storage.Azure;
using DbBackup.Engine.Storage.ObjectStore;
using Xunit;
using static DbBackup.Storage.Tests.Azure.AzureTestSupport;

namespace DbBackup.Storage.Tests.Azure;

/// <summary>The HTTPS Azurite started with "--oauth basic": container per class, created with the emulator key.</summary>
public sealed class AzureOAuthFixture : IAsyncLifetime
{
    public AzureOAuthFixture()
    {
        (AccountEndpoint, Handler) = OAuthAzurite();
        Container = AzureFixture.NewContainerName("oauth");
    }

    public Uri AccountEndpoint { get; }

    public HttpMessageHandler Handler { get; }

    public string Container { get; }

    public string Location(string prefix) => $"az://devstoreaccount1/{Container}/{prefix}?endpoint={AccountEndpoint.AbsoluteUri.TrimEnd('/')}";

    private AzureBlobClient Admin() => AzureBlobClient.Create(AzureBlobLocation.Parse(new Uri(Location(""))), new StorageOptions
    {
        Environment = _ => null,
        Azure = new AzureBlobSettings { AccountKey = new DbBackup.Engine.SecretValue(DbBackup.TestSupport.TestServers.Require("DBBACKUP_TEST_AZURE_KEY")), HttpHandler = Handler },
    });

    public Task InitializeAsync() => Admin().CreateContainerAsync(CancellationToken.None);

    public Task DisposeAsync() => Admin().DeleteContainerAsync(CancellationToken.None);
}

/// <summary>
/// Microsoft Entra bearer tokens: the token services are local HTTP DOUBLES following the documented protocols (they
/// cannot run here); the tokens they issue are then used against the real HTTPS Azurite in oauth mode, which checks
/// the bearer token's issuer, audience and lifetime.
/// </summary>
public sealed class AzureEntraTokenTests(AzureOAuthFixture fx) : IClassFixture<AzureOAuthFixture>
{
    private const string ClientSecret = "sp-client-secret-Zq8~dbbackup";
    private const string IdentityHeader = "identity-header-secret-7f3a";

    private StorageOptions Options(Func<string, string?> env, AzureBlobSettings? azure = null) => new()
    {
        Environment = env,
        Azure = azure ?? new AzureBlobSettings { HttpHandler = fx.Handler, UseImds = false },
        MaxRetries = 2,
        RetryBaseDelay = TimeSpan.FromMilliseconds(10),
        PartSize = 32 * 1024,
    };

    private IBackupStorage Open(StorageOptions options) => StorageRegistry.Open(fx.Location("t-" + Guid.NewGuid().ToString("N")[..8]), options);

    private static string CredentialSource(IBackupStorage storage) => ((AzureBlobClient)((RetryingObjectStoreClient)((ObjectStoreStorage)storage).Client).Inner).CredentialSource;

    [Fact]
    public async Task Service_principal_token_from_an_Entra_token_endpoint_double_is_accepted_by_Azurite()
    {
        await using var entra = new TokenServiceDouble(_ => (200, new { token_type = "Bearer", expires_in = 3599, access_token = Jwt() }));
        var storage = Open(Options(Env(("AZURE_TENANT_ID", "tenant-1"), ("AZURE_CLIENT_ID", "app-1"), ("AZURE_CLIENT_SECRET", ClientSecret),
            ("AZURE_AUTHORITY_HOST", entra.Address.AbsoluteUri))));
        await RoundTripAsync(storage);
        await RoundTripAsync(storage);
        var request = Assert.Single(entra.Requests); // cached for the token's lifetime
        Assert.Equal("POST", request.Method);
        Assert.Equal("/tenant-1/oauth2/v2.0/token", request.Path);
        Assert.Equal("client_credentials", request.Form["grant_type"]);
        Assert.Equal("app-1", request.Form["client_id"]);
        Assert.Equal(ClientSecret, request.Form["client_secret"]);
        Assert.Equal("https://storage.azure.com/.default", request.Form["scope"]);
        Assert.Contains("service principal app-1", CredentialSource(storage));
    }

    [Fact]
    public async Task A_refused_service_principal_is_StorageAuthenticationFailed_without_the_secret()
    {
        await using var entra = new TokenServiceDouble(_ => (401, new { error = "invalid_client", error_description = "AADSTS7000215: Invalid client secret provided." }));
        var storage = Open(Options(Env(("AZURE_TENANT_ID", "tenant-1"), ("AZURE_CLIENT_ID", "app-1"), ("AZURE_CLIENT_SECRET", ClientSecret),
            ("AZURE_AUTHORITY_HOST", entra.Address.AbsoluteUri))));
        var e = await Assert.ThrowsAsync<DbBackupException>(() => storage.StatAsync("x", CancellationToken.None));
        Assert.Equal(ErrorIds.StorageAuthenticationFailed, e.ErrorId);
        Assert.Contains("service principal app-1", e.Message);
        Assert.Contains("invalid_client", e.Message);
        Assert.DoesNotContain(ClientSecret, e.ToString());
    }

    [Fact]
    public async Task Automation_managed_identity_endpoint_double_is_asked_with_the_identity_header_and_api_version_2019_08_01()
    {
        await using var identity = new TokenServiceDouble(r => r.Headers.GetValueOrDefault("X-IDENTITY-HEADER") == IdentityHeader
            ? (200, new { access_token = Jwt(), expires_on = DateTimeOffset.UtcNow.AddHours(1).ToUnixTimeSeconds().ToString(), resource = "https://storage.azure.com/", token_type = "Bearer" })
            : (401, new { error = "unauthorized" }));
        var storage = Open(Options(Env(("IDENTITY_ENDPOINT", identity.Address.AbsoluteUri + "msi/token"), ("IDENTITY_HEADER", IdentityHeader))));
        await RoundTripAsync(storage);
        var request = identity.Requests[0];
        Assert.Equal("GET", request.Method);
        Assert.Equal("/msi/token", request.Path);
        Assert.Equal("2019-08-01", request.Query["api-version"]);
        Assert.Equal("https://storage.azure.com/", request.Query["resource"]);
        Assert.False(request.Query.ContainsKey("client_id"));
        Assert.Single(identity.Requests);
    }

    [Fact]
    public async Task A_user_assigned_identity_passes_its_client_id_and_a_wrong_identity_header_is_an_authentication_error()
    {
        await using var identity = new TokenServiceDouble(r => r.Headers.GetValueOrDefault("X-IDENTITY-HEADER") == IdentityHeader
            ? (200, new { access_token = Jwt(), expires_on = DateTimeOffset.UtcNow.AddHours(1).ToUnixTimeSeconds().ToString() })
            : (401, new { error = "unauthorized" }));
        var good = Open(Options(Env(("IDENTITY_ENDPOINT", identity.Address.AbsoluteUri), ("IDENTITY_HEADER", IdentityHeader)),
            new AzureBlobSettings { HttpHandler = fx.Handler, UseImds = false, ManagedIdentityClientId = "uami-1" }));
        await RoundTripAsync(good);
        Assert.Equal("uami-1", identity.Requests[0].Query["client_id"]);

        var bad = Open(Options(Env(("IDENTITY_ENDPOINT", identity.Address.AbsoluteUri), ("IDENTITY_HEADER", "wrong-header-value"))));
        var e = await Assert.ThrowsAsync<DbBackupException>(() => bad.StatAsync("x", CancellationToken.None));
        Assert.Equal(ErrorIds.StorageAuthenticationFailed, e.ErrorId);
        Assert.Contains("IDENTITY_ENDPOINT", e.Message);
        Assert.DoesNotContain("wrong-header-value", e.ToString());
    }

    [Fact]
    public async Task IMDS_double_is_asked_with_the_Metadata_header_and_its_token_works()
    {
        await using var imds = new TokenServiceDouble(r => r.Headers.GetValueOrDefault("Metadata") == "true" && r.Path == "/metadata/identity/oauth2/token"
            ? (200, new { access_token = Jwt(), expires_on = DateTimeOffset.UtcNow.AddHours(1).ToUnixTimeSeconds().ToString(), expires_in = "3599" })
            : (400, new { error = "invalid_request" }));
        var storage = Open(Options(Env(("AZURE_POD_IDENTITY_AUTHORITY_HOST", imds.Address.AbsoluteUri)), new AzureBlobSettings { HttpHandler = fx.Handler }));
        await RoundTripAsync(storage);
        Assert.Equal("2018-02-01", imds.Requests[0].Query["api-version"]);
        Assert.Equal("https://storage.azure.com/", imds.Requests[0].Query["resource"]);
        Assert.Contains("IMDS", CredentialSource(storage));
    }

    [Fact]
    public async Task A_token_service_that_fails_transiently_is_retried()
    {
        var calls = 0;
        await using var identity = new TokenServiceDouble(_ => Interlocked.Increment(ref calls) == 1
            ? (503, new { error = "busy" })
            : (200, new { access_token = Jwt(), expires_on = DateTimeOffset.UtcNow.AddHours(1).ToUnixTimeSeconds().ToString() }));
        var storage = Open(Options(Env(("IDENTITY_ENDPOINT", identity.Address.AbsoluteUri), ("IDENTITY_HEADER", IdentityHeader))));
        await RoundTripAsync(storage);
        Assert.Equal(2, identity.Requests.Count);
    }

    [Fact]
    public async Task A_token_for_another_audience_is_rejected_by_Azurite_as_StorageAuthenticationFailed()
    {
        await using var entra = new TokenServiceDouble(_ => (200, new { expires_in = 3599, access_token = Jwt(audience: "https://management.azure.com/") }));
        var storage = Open(Options(Env(("AZURE_TENANT_ID", "t"), ("AZURE_CLIENT_ID", "c"), ("AZURE_CLIENT_SECRET", ClientSecret), ("AZURE_AUTHORITY_HOST", entra.Address.AbsoluteUri))));
        var e = await Assert.ThrowsAsync<DbBackupException>(() => RoundTripAsync(storage));
        Assert.Equal(ErrorIds.StorageAuthenticationFailed, e.ErrorId);
    }

    [Fact]
    public async Task A_host_supplied_TokenCredential_is_used_before_the_environment()
    {
        var credential = new FixedTokenCredentialDouble(Jwt());
        var storage = Open(Options(Env(("AZURE_STORAGE_KEY", "V3Jvbmc=")), new AzureBlobSettings { TokenCredential = credential, HttpHandler = fx.Handler, UseImds = false }));
        await RoundTripAsync(storage);
        Assert.True(credential.Calls >= 1);
        Assert.Equal(["https://storage.azure.com/.default"], credential.Scopes);
    }

    [Fact]
    public void Bearer_tokens_are_never_sent_over_plain_http()
    {
        var e = Assert.ThrowsAny<DbBackupException>(() => StorageRegistry.Open("az://devstoreaccount1/somecontainer/p?endpoint=http://127.0.0.1:1",
            Options(_ => null, new AzureBlobSettings { TokenCredential = new FixedTokenCredentialDouble(Jwt()) })));
        Assert.Equal(ErrorIds.InvalidArgument, e.ErrorId);
        Assert.Contains("HTTPS", e.Message);
    }

    /// <summary>A TokenCredential DOUBLE standing in for an Azure.Identity credential a host would pass.</summary>
    private sealed class FixedTokenCredentialDouble(string token) : TokenCredential
    {
        public int Calls;
        public string[] Scopes = [];

        public override AccessToken GetToken(TokenRequestContext requestContext, CancellationToken cancellationToken)
        {
            Interlocked.Increment(ref Calls);
            Scopes = requestContext.Scopes;
            return new AccessToken(token, DateTimeOffset.UtcNow.AddHours(1));
        }

        public override ValueTask<AccessToken> GetTokenAsync(TokenRequestContext requestContext, CancellationToken cancellationToken)
            => ValueTask.FromResult(GetToken(requestContext, cancellationToken));
    }
}
