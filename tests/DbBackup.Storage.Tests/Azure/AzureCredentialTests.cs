using DbBackup.Engine;
using DbBackup.Engine.Errors;
using DbBackup.Engine.Storage;
using DbBackup.Engine.Storage.Azure;
using DbBackup.TestSupport;
using Xunit;
using static DbBackup.Storage.Tests.Azure.AzureTestSupport;

namespace DbBackup.Storage.Tests.Azure;

/// <summary>Keys, connection strings and SAS tokens from each source, against the real Azurite (SharedKey and SAS checked by the emulator).</summary>
public sealed class AzureCredentialTests(AzureFixture fx) : IClassFixture<AzureFixture>
{
    private const string WrongKey = "V3JvbmdLZXlXcm9uZ0tleVdyb25nS2V5V3JvbmdLZXlXcm9uZ0tleVdyb25nS2V5V3Jvbmc=";

    private static StorageOptions Options(Func<string, string?>? env = null, AzureBlobSettings? azure = null) => new()
    {
        Environment = env ?? (_ => null),
        Azure = azure ?? new AzureBlobSettings { UseImds = false },
        MaxRetries = 1,
        RetryBaseDelay = TimeSpan.FromMilliseconds(10),
    };

    private string Prefix() => "c-" + Guid.NewGuid().ToString("N")[..8];

    private IBackupStorage Open(StorageOptions options, string? location = null)
        => StorageRegistry.Open(location ?? fx.Location(Prefix()).AbsoluteUri, options);

    [Fact]
    public async Task An_account_key_in_the_settings_signs_requests_with_SharedKey()
        => await RoundTripAsync(Open(Options(azure: new AzureBlobSettings { AccountKey = new SecretValue(fx.Key), UseImds = false })));

    [Fact]
    public async Task AZURE_STORAGE_KEY_is_used_when_the_settings_have_no_credential()
        => await RoundTripAsync(Open(Options(Env(("AZURE_STORAGE_KEY", fx.Key)))));

    [Fact]
    public async Task A_connection_string_in_the_settings_supplies_key_and_blob_endpoint()
    {
        var cs = $"DefaultEndpointsProtocol=http;AccountName={fx.Account};AccountKey={fx.Key};BlobEndpoint={fx.AccountEndpoint.AbsoluteUri.TrimEnd('/')};";
        // No ?endpoint: the connection string's BlobEndpoint replaces the public-cloud default.
        var storage = Open(Options(azure: new AzureBlobSettings { ConnectionString = new SecretValue(cs), UseImds = false }), $"az://{fx.Account}/{fx.Container}/{Prefix()}");
        await RoundTripAsync(storage);
        Assert.DoesNotContain(fx.Key, storage.DisplayLocation);
    }

    [Fact]
    public async Task AZURE_STORAGE_CONNECTION_STRING_with_UseDevelopmentStorage_reaches_the_emulator()
    {
        var cs = $"UseDevelopmentStorage=true;DevelopmentStorageProxyUri={fx.ServiceEndpoint!.AbsoluteUri.TrimEnd('/')}";
        await RoundTripAsync(Open(Options(Env(("AZURE_STORAGE_CONNECTION_STRING", cs))), $"az://devstoreaccount1/{fx.Container}/{Prefix()}"));
    }

    [Fact]
    public async Task A_sas_token_in_the_location_query_authorizes_and_is_not_displayed()
    {
        var sas = AccountSas(fx.Account, fx.Key, "racwdl", DateTimeOffset.UtcNow.AddHours(1));
        var url = $"{fx.AccountEndpoint.AbsoluteUri.TrimEnd('/')}/{fx.Container}/{Prefix()}?{sas}";
        var storage = Open(Options(), url);
        await RoundTripAsync(storage);
        Assert.DoesNotContain("sig=", storage.DisplayLocation);
        Assert.DoesNotContain("?", storage.DisplayLocation);
    }

    [Fact]
    public async Task AZURE_STORAGE_SAS_TOKEN_and_a_connection_string_SharedAccessSignature_authorize()
    {
        var sas = AccountSas(fx.Account, fx.Key, "racwdl", DateTimeOffset.UtcNow.AddHours(1));
        await RoundTripAsync(Open(Options(Env(("AZURE_STORAGE_SAS_TOKEN", "?" + sas)))));
        var cs = $"BlobEndpoint={fx.AccountEndpoint.AbsoluteUri.TrimEnd('/')};SharedAccessSignature={sas}";
        await RoundTripAsync(Open(Options(azure: new AzureBlobSettings { ConnectionString = new SecretValue(cs), UseImds = false }), $"az://{fx.Account}/{fx.Container}/{Prefix()}"));
    }

    [Fact]
    public async Task Settings_win_over_the_environment()
    {
        var storage = Open(Options(Env(("AZURE_STORAGE_KEY", WrongKey)), new AzureBlobSettings { AccountKey = new SecretValue(fx.Key), UseImds = false }));
        await RoundTripAsync(storage);
    }

    [Fact]
    public async Task A_wrong_account_key_fails_as_StorageAuthenticationFailed_naming_the_source_but_not_the_key()
    {
        var storage = Open(Options(Env(("AZURE_STORAGE_KEY", WrongKey))));
        var e = await Assert.ThrowsAsync<DbBackupException>(() => RoundTripAsync(storage));
        Assert.Equal(ErrorIds.StorageAuthenticationFailed, e.ErrorId);
        Assert.Contains("AZURE_STORAGE_KEY", e.Message);
        Assert.DoesNotContain(WrongKey, e.ToString());
    }

    [Fact]
    public async Task An_expired_sas_fails_as_an_authentication_error()
    {
        var sas = AccountSas(fx.Account, fx.Key, "racwdl", DateTimeOffset.UtcNow.AddHours(-1));
        var storage = Open(Options(Env(("AZURE_STORAGE_SAS_TOKEN", sas))));
        var e = await Assert.ThrowsAsync<DbBackupException>(() => RoundTripAsync(storage));
        Assert.Contains(e.ErrorId, new[] { ErrorIds.StorageAuthenticationFailed, ErrorIds.StorageAccessDenied });
        Assert.DoesNotContain(sas[(sas.IndexOf("sig=") + 4)..], e.ToString());
    }

    [Fact]
    public async Task A_read_only_sas_can_read_but_writing_is_StorageAccessDenied()
    {
        var admin = fx.AdminClient(fx.Container, "ro");
        await admin.PutObjectAsync("existing", new byte[] { 1, 2, 3 }, CancellationToken.None);
        var sas = AccountSas(fx.Account, fx.Key, "rl", DateTimeOffset.UtcNow.AddHours(1));
        var storage = Open(Options(Env(("AZURE_STORAGE_SAS_TOKEN", sas))), fx.Location("ro").AbsoluteUri);
        await using (var read = await storage.OpenReadAsync("existing", 0, null, CancellationToken.None))
            Assert.Equal(3, await read.ReadAsync(new byte[10]));
        var e = await Assert.ThrowsAsync<DbBackupException>(async () =>
        {
            await using var writer = await storage.OpenWriteAsync("new", CancellationToken.None);
            await writer.CommitAsync(CancellationToken.None);
        });
        Assert.Equal(ErrorIds.StorageAccessDenied, e.ErrorId);
        Assert.Contains("AZURE_STORAGE_SAS_TOKEN", e.Message);
        Assert.Contains("Storage Blob Data Contributor", e.RecommendedAction);
    }

    [Fact]
    public async Task A_missing_container_fails_as_StorageContainerNotFound()
    {
        var storage = StorageRegistry.Open(fx.Location("p", container: AzureFixture.NewContainerName("missing")).AbsoluteUri, fx.DefaultOptions());
        var list = await Assert.ThrowsAsync<DbBackupException>(async () => { await foreach (var _ in storage.ListAsync("", CancellationToken.None)) { } });
        Assert.Equal(ErrorIds.StorageContainerNotFound, list.ErrorId);
        var write = await Assert.ThrowsAsync<DbBackupException>(async () =>
        {
            await using var writer = await storage.OpenWriteAsync("k", CancellationToken.None);
            await writer.CommitAsync(CancellationToken.None);
        });
        Assert.Equal(ErrorIds.StorageContainerNotFound, write.ErrorId);
        var stat = await Assert.ThrowsAsync<DbBackupException>(() => storage.StatAsync("k", CancellationToken.None));
        Assert.Equal(ErrorIds.StorageContainerNotFound, stat.ErrorId);
    }

    [Fact]
    public void No_credentials_anywhere_fails_as_StorageCredentialsMissing_naming_every_source()
    {
        var e = Assert.ThrowsAny<DbBackupException>(() => Open(Options()));
        Assert.Equal(ErrorIds.StorageCredentialsMissing, e.ErrorId);
        foreach (var source in new[] { "AZURE_STORAGE_CONNECTION_STRING", "AZURE_STORAGE_KEY", "AZURE_STORAGE_SAS_TOKEN", "AZURE_CLIENT_SECRET", "IDENTITY_ENDPOINT", "SAS token in the location" })
            Assert.Contains(source, e.Message);
    }

    [Fact]
    public async Task When_IMDS_does_not_answer_either_the_error_is_StorageCredentialsMissing()
    {
        var imds = new Uri($"http://127.0.0.1:{LocalEndpoints.ClosedPort()}/");
        var storage = Open(Options(azure: new AzureBlobSettings { ImdsEndpoint = imds }), $"az://{fx.Account}/{fx.Container}/p?endpoint=https://127.0.0.1:{LocalEndpoints.ClosedPort()}");
        var e = await Assert.ThrowsAsync<DbBackupException>(() => storage.StatAsync("k", CancellationToken.None));
        Assert.Equal(ErrorIds.StorageCredentialsMissing, e.ErrorId);
        Assert.Contains("IMDS", e.Message);
        Assert.Contains("AZURE_STORAGE_KEY", e.Message);
    }

    [Fact]
    public void A_malformed_connection_string_is_rejected_without_echoing_it()
    {
        var e = Assert.ThrowsAny<DbBackupException>(() => Open(Options(Env(("AZURE_STORAGE_CONNECTION_STRING", "this-is-not-a-connection-string-s3cr3t")))));
        Assert.Equal(ErrorIds.InvalidArgument, e.ErrorId);
        Assert.Contains("AZURE_STORAGE_CONNECTION_STRING", e.Message);
        Assert.DoesNotContain("s3cr3t", e.ToString());
    }

    [Fact]
    public void A_connection_string_of_another_account_is_rejected()
    {
        var cs = $"AccountName=otheraccount;AccountKey={fx.Key};EndpointSuffix=core.windows.net";
        var e = Assert.ThrowsAny<DbBackupException>(() => Open(Options(Env(("AZURE_STORAGE_CONNECTION_STRING", cs)))));
        Assert.Equal(ErrorIds.InvalidArgument, e.ErrorId);
        Assert.Contains("otheraccount", e.Message);
        Assert.DoesNotContain(fx.Key, e.ToString());
    }

    [Fact]
    public void An_account_key_that_is_not_base64_is_an_authentication_error()
    {
        var e = Assert.ThrowsAny<DbBackupException>(() => Open(Options(Env(("AZURE_STORAGE_KEY", "not base64 !!")))));
        Assert.Equal(ErrorIds.StorageAuthenticationFailed, e.ErrorId);
        Assert.Contains("AZURE_STORAGE_KEY", e.Message);
    }
}
