using System.Net;
using DbBackup.Engine.Errors;
using DbBackup.Engine.Storage;
using DbBackup.Engine.Storage.Azure;
using DbBackup.Engine.Storage.ObjectStore;
using Xunit;

namespace DbBackup.Storage.Tests.Azure;

/// <summary>Location parsing, display and block ids: no server involved.</summary>
public sealed class AzureBlobLocationTests
{
    private const string Sas = "sv=2021-12-02&ss=b&srt=sco&sp=rwdlac&se=2030-01-01T00%3A00%3A00Z&sig=c2VjcmV0U2lnbmF0dXJl%2B%2F%3D";

    [Fact]
    public void Block_size_and_concurrency_default_to_16_MiB_x_4_can_be_tuned_through_the_environment_and_options_win()
    {
        var d = AzureBlobClient.LimitsFor(new StorageOptions { Environment = _ => null });
        Assert.Equal((16 << 20, 4), (d.PartSize, d.MaxConcurrentParts));
        var env = new Dictionary<string, string> { ["DBBACKUP_AZURE_BLOCK_SIZE_MIB"] = "8", ["DBBACKUP_AZURE_MAX_CONCURRENT_BLOCKS"] = "2" };
        var tuned = AzureBlobClient.LimitsFor(new StorageOptions { Environment = env.GetValueOrDefault });
        Assert.Equal((8 << 20, 2), (tuned.PartSize, tuned.MaxConcurrentParts));
        var explicit_ = AzureBlobClient.LimitsFor(new StorageOptions { Environment = env.GetValueOrDefault, PartSize = 4 << 20, MaxConcurrentParts = 6 });
        Assert.Equal((4 << 20, 6), (explicit_.PartSize, explicit_.MaxConcurrentParts));
        var junk = new Dictionary<string, string> { ["DBBACKUP_AZURE_BLOCK_SIZE_MIB"] = "4096", ["DBBACKUP_AZURE_MAX_CONCURRENT_BLOCKS"] = "many" };
        var fallback = AzureBlobClient.LimitsFor(new StorageOptions { Environment = junk.GetValueOrDefault });
        Assert.Equal((AzureBlobClient.DefaultPartSize, AzureBlobClient.DefaultMaxConcurrentParts), (fallback.PartSize, fallback.MaxConcurrentParts));
    }

    [Fact]
    public void An_az_uri_uses_the_public_endpoint_of_the_account()
    {
        var l = AzureBlobLocation.Parse(new Uri("az://myacct/backups/prod/db1"));
        Assert.Equal("myacct", l.Account);
        Assert.Equal("https://myacct.blob.core.windows.net/", l.Endpoint.AbsoluteUri);
        Assert.Equal("backups", l.Container);
        Assert.Equal("prod/db1", l.Prefix);
        Assert.False(l.EndpointIsExplicit);
        Assert.Equal("az://myacct/backups/prod/db1", l.Display);
        Assert.Equal("https://myacct.blob.core.windows.net/backups/prod/db1/x/y.bin", l.BlobUri("x/y.bin").AbsoluteUri);
    }

    [Fact]
    public void An_az_uri_without_prefix_has_an_empty_prefix()
    {
        var l = AzureBlobLocation.Parse(new Uri("az://myacct/backups"));
        Assert.Equal("", l.Prefix);
        Assert.Equal("a/b", l.Join("a/b"));
        Assert.Equal("az://myacct/backups", l.Display);
    }

    [Theory]
    [InlineData("az://devstoreaccount1/cont1/p?endpoint=http://127.0.0.1:10000", "http://127.0.0.1:10000/devstoreaccount1")]
    [InlineData("az://devstoreaccount1/cont1/p?endpoint=http://127.0.0.1:10000/devstoreaccount1", "http://127.0.0.1:10000/devstoreaccount1")]
    [InlineData("az://devstoreaccount1/cont1/p?endpoint=http://localhost:10000/", "http://localhost:10000/devstoreaccount1")]
    [InlineData("az://myacct/cont1/p?endpoint=https://myacct.blob.core.chinacloudapi.cn", "https://myacct.blob.core.chinacloudapi.cn")]
    [InlineData("az://myacct/cont1/p?endpoint=https%3A%2F%2Fbackup.example.com", "https://backup.example.com")]
    public void The_endpoint_query_parameter_replaces_the_public_endpoint(string uri, string endpoint)
    {
        var l = AzureBlobLocation.Parse(new Uri(uri));
        Assert.Equal(endpoint, l.Endpoint.AbsoluteUri.TrimEnd('/'));
        Assert.True(l.EndpointIsExplicit);
        Assert.Equal("cont1", l.Container);
        Assert.Equal("p", l.Prefix);
        Assert.Equal($"az://{l.Account}/cont1/p?endpoint={endpoint}", l.Display);
    }

    [Fact]
    public void The_blob_endpoint_url_form_is_understood()
    {
        var l = AzureBlobLocation.Parse(new Uri("https://myacct.blob.core.windows.net/backups/nightly/"));
        Assert.Equal("myacct", l.Account);
        Assert.Equal("https://myacct.blob.core.windows.net/", l.Endpoint.AbsoluteUri);
        Assert.Equal("backups", l.Container);
        Assert.Equal("nightly", l.Prefix);
        Assert.Equal("https://myacct.blob.core.windows.net/backups/nightly", l.Display);
    }

    [Fact]
    public void Azurite_path_style_urls_take_the_account_from_the_path()
    {
        var l = AzureBlobLocation.Parse(new Uri("http://127.0.0.1:10000/devstoreaccount1/backups/a/b"));
        Assert.Equal("devstoreaccount1", l.Account);
        Assert.Equal("http://127.0.0.1:10000/devstoreaccount1", l.Endpoint.AbsoluteUri.TrimEnd('/'));
        Assert.Equal("backups", l.Container);
        Assert.Equal("a/b", l.Prefix);
        Assert.Equal("http://127.0.0.1:10000/devstoreaccount1/backups/a/b/k", l.BlobUri("k").AbsoluteUri);
    }

    [Theory]
    [InlineData("https://myacct.blob.core.windows.net/backups/p?" + Sas)]
    [InlineData("http://127.0.0.1:10000/devstoreaccount1/backups/p?" + Sas)]
    [InlineData("az://myacct/backups/p?" + Sas)]
    [InlineData("https://user:pa55word@myacct.blob.core.windows.net/backups/p?" + Sas)]
    public void A_sas_token_in_the_query_is_kept_as_a_secret_and_never_displayed(string uri)
    {
        var l = AzureBlobLocation.Parse(new Uri(uri));
        Assert.NotNull(l.Sas);
        Assert.Contains("sig=", l.Sas!.Reveal());
        Assert.Equal("***", l.Sas.ToString());
        foreach (var secret in new[] { "sig", "c2VjcmV0U2lnbmF0dXJl", "se=", "sp=", "pa55word", "?" })
            Assert.DoesNotContain(secret, l.Display, StringComparison.Ordinal);
        Assert.DoesNotContain("pa55word", l.Endpoint.AbsoluteUri);
    }

    [Fact]
    public void Keys_with_reserved_and_unicode_characters_are_escaped_per_segment()
    {
        var l = AzureBlobLocation.Parse(new Uri("az://myacct/backups/my prefix"));
        Assert.Equal("my prefix", l.Prefix);
        var uri = l.BlobUri("a b/c+d%e#f?g&h/ü名");
        Assert.Equal("/backups/my%20prefix/a%20b/c%2Bd%25e%23f%3Fg%26h/%C3%BC%E5%90%8D", uri.AbsolutePath);
        Assert.Equal("", uri.Query);
    }

    [Theory]
    [InlineData("az://myacct")] // no container
    [InlineData("az://my_acct/backups")] // invalid account
    [InlineData("az://myacct/Backups")] // upper case container
    [InlineData("az://myacct/ab")] // too short
    [InlineData("az://myacct/backups?unknown=1")]
    [InlineData("az://myacct/backups?endpoint=ftp://host")]
    [InlineData("https://example.com/backups/p")] // not a blob endpoint
    [InlineData("https://myacct.blob.core.windows.net/backups?endpoint=https://x")]
    [InlineData("http://127.0.0.1:10000/devstoreaccount1")] // no container
    public void Invalid_locations_are_rejected_with_an_actionable_message(string uri)
    {
        var e = Assert.ThrowsAny<DbBackupException>(() => AzureBlobLocation.Parse(new Uri(uri)));
        Assert.Equal(ErrorIds.InvalidArgument, e.ErrorId);
        Assert.Contains("Azure Blob location", e.Message);
        Assert.False(string.IsNullOrEmpty(e.RecommendedAction));
    }

    [Fact]
    public void An_invalid_location_message_never_shows_the_sas_token()
    {
        var e = Assert.ThrowsAny<DbBackupException>(() => AzureBlobLocation.Parse(new Uri("az://my_acct/backups?" + Sas)));
        Assert.DoesNotContain("c2VjcmV0U2lnbmF0dXJl", e.Message + e.RecommendedAction);
    }

    [Fact]
    public void Block_ids_have_one_length_for_every_part_and_differ_between_uploads()
    {
        var ids = new[] { 1, 9, 10, 999, 50_000 }.Select(n => AzureBlobClient.BlockId("0123456789abcdef:\"0x8D\"", n)).ToList();
        Assert.Single(ids.Select(i => i.Length).Distinct());
        Assert.Equal(ids.Count, ids.Distinct().Count());
        Assert.All(ids, i => Convert.FromBase64String(i));
        Assert.NotEqual(AzureBlobClient.BlockId("0123456789abcdef:-", 1), AzureBlobClient.BlockId("fedcba9876543210:-", 1));
    }

    [Fact]
    public void The_registry_routes_az_and_blob_urls_to_the_azure_adapter_with_redacted_display()
    {
        var options = new Engine.Storage.StorageOptions { Environment = _ => null, Azure = new AzureBlobSettings { UseImds = false } };
        var storage = Engine.Storage.StorageRegistry.Open("https://myacct.blob.core.windows.net/backups/p?" + Sas, options);
        Assert.Equal("https://myacct.blob.core.windows.net/backups/p", storage.DisplayLocation);
        var inner = ((RetryingObjectStoreClient)((ObjectStoreStorage)storage).Client).Inner;
        Assert.Equal("the SAS token in the location", ((AzureBlobClient)inner).CredentialSource);
    }

    [Theory]
    [InlineData(HttpStatusCode.Forbidden, "AuthenticationFailed", ErrorIds.StorageAuthenticationFailed)]
    [InlineData(HttpStatusCode.Unauthorized, "InvalidAuthenticationInfo", ErrorIds.StorageAuthenticationFailed)]
    [InlineData(HttpStatusCode.Unauthorized, null, ErrorIds.StorageAuthenticationFailed)]
    [InlineData(HttpStatusCode.Forbidden, "AuthorizationPermissionMismatch", ErrorIds.StorageAccessDenied)]
    [InlineData(HttpStatusCode.Forbidden, "AuthorizationFailure", ErrorIds.StorageAccessDenied)]
    [InlineData(HttpStatusCode.Forbidden, "AuthorizationSourceIPMismatch", ErrorIds.StorageAccessDenied)]
    [InlineData(HttpStatusCode.Forbidden, null, ErrorIds.StorageAccessDenied)]
    [InlineData(HttpStatusCode.NotFound, "ContainerNotFound", ErrorIds.StorageContainerNotFound)]
    [InlineData(HttpStatusCode.Conflict, "LeaseIdMissing", ErrorIds.StorageError)]
    public void Service_errors_map_to_stable_error_ids(HttpStatusCode status, string? code, string errorId)
    {
        var e = AzureErrors.ToException(status, code, "upload 'k'", "az://a/c/p", "AZURE_STORAGE_KEY");
        Assert.Equal(errorId, e.ErrorId);
        Assert.Contains("az://a/c/p", e.Message);
        if (e is StorageRequestException s) Assert.False(s.IsTransient);
    }

    [Theory]
    [InlineData("AuthorizationFailure", "Server failed to authenticate the request. Make sure the value of the Authorization header is formed correctly including the signature.", ErrorIds.StorageAuthenticationFailed)]
    [InlineData("AuthorizationFailure", "This request is not authorized to perform this operation.", ErrorIds.StorageAccessDenied)]
    public void A_403_that_says_authentication_failed_is_an_authentication_error_whatever_its_code(string code, string reason, string errorId)
        => Assert.Equal(errorId, AzureErrors.ToException(HttpStatusCode.Forbidden, code, "list", "az://a/c/p", "AZURE_STORAGE_KEY", reason).ErrorId);

    [Theory]
    [InlineData(HttpStatusCode.InternalServerError, "InternalError")]
    [InlineData(HttpStatusCode.ServiceUnavailable, "ServerBusy")]
    [InlineData(HttpStatusCode.TooManyRequests, null)]
    [InlineData(HttpStatusCode.RequestTimeout, "OperationTimedOut")]
    public void Throttling_and_server_errors_are_transient(HttpStatusCode status, string? code)
    {
        var e = Assert.IsType<StorageRequestException>(AzureErrors.ToException(status, code, "upload 'k'", "az://a/c/p", "AZURE_STORAGE_KEY"));
        Assert.True(e.IsTransient);
        Assert.Equal((int)status, e.StatusCode);
    }
}
