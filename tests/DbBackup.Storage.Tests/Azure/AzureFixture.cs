using DbBackup.Engine;
using DbBackup.Engine.Storage;
using DbBackup.Engine.Storage.Azure;
using DbBackup.Storage.Tests.Conformance;
using DbBackup.TestSupport;
using Xunit;

namespace DbBackup.Storage.Tests.Azure;

/// <summary>
/// Azure Blob on the Azurite started by tests/servers/start-azurite.sh: one container per fixture (created and removed
/// here), a fresh key prefix per <see cref="Open(Uri?, StorageOptions?)"/>, SharedKey with the emulator's well-known key
/// unless the options carry credentials of their own.
/// </summary>
public sealed class AzureFixture : IStorageFixture, IAsyncLifetime
{
    public AzureFixture()
    {
        AccountEndpoint = new Uri(TestServers.Require("DBBACKUP_TEST_AZURE_ENDPOINT"));
        Account = TestServers.Require("DBBACKUP_TEST_AZURE_ACCOUNT");
        Key = TestServers.Require("DBBACKUP_TEST_AZURE_KEY");
        ServiceEndpoint = new Uri(AccountEndpoint.GetLeftPart(UriPartial.Authority));
        Container = NewContainerName("conf");
    }

    /// <summary>The account's blob endpoint, e.g. http://127.0.0.1:P/devstoreaccount1.</summary>
    public Uri AccountEndpoint { get; }

    public string Account { get; }

    public string Key { get; }

    public string Container { get; }

    public int PartSize => 256 * 1024; // Azure has no minimum block size: several parts stay cheap

    public int ListPageSize => 5;

    public Uri? ServiceEndpoint { get; }

    public static string NewContainerName(string purpose) => $"{purpose}-{Guid.NewGuid():N}"[..Math.Min(40, purpose.Length + 33)];

    public StorageOptions DefaultOptions() => new()
    {
        PartSize = PartSize,
        ListPageSize = ListPageSize,
        RetryBaseDelay = TimeSpan.FromMilliseconds(50),
        Environment = _ => null,
        Azure = new AzureBlobSettings { AccountKey = new SecretValue(Key), UseImds = false },
    };

    /// <summary>An az:// location in this fixture's container under <paramref name="prefix"/>, reached through <paramref name="endpoint"/> (default: Azurite).</summary>
    public Uri Location(string prefix, Uri? endpoint = null, string? container = null)
        => new($"az://{Account}/{container ?? Container}/{prefix}?endpoint={Uri.EscapeDataString((endpoint ?? ServiceEndpoint!).AbsoluteUri.TrimEnd('/'))}");

    public IBackupStorage Open(Uri? endpoint, StorageOptions? options)
    {
        var effective = options is null ? DefaultOptions() : WithDefaults(options);
        return StorageRegistry.Open(Location("p-" + Guid.NewGuid().ToString("N")[..10], endpoint).AbsoluteUri, effective);
    }

    /// <summary>The caller's options with this fixture's part/page sizes and the emulator key filled in where unset.</summary>
    private StorageOptions WithDefaults(StorageOptions o)
    {
        var a = o.Azure;
        var hasCredentials = a.ConnectionString is not null || a.AccountKey is not null || a.SasToken is not null || a.TokenCredential is not null;
        return new StorageOptions
        {
            Environment = o.Environment,
            PartSize = o.PartSize ?? PartSize,
            MaxConcurrentParts = o.MaxConcurrentParts,
            ListPageSize = o.ListPageSize ?? ListPageSize,
            MaxRetries = o.MaxRetries,
            RetryBaseDelay = o.RetryBaseDelay,
            RequestTimeout = o.RequestTimeout,
            S3 = o.S3,
            Gcs = o.Gcs,
            Azure = hasCredentials ? a : new AzureBlobSettings
            {
                AccountKey = new SecretValue(Key),
                ManagedIdentityClientId = a.ManagedIdentityClientId,
                AuthorityHost = a.AuthorityHost,
                ImdsEndpoint = a.ImdsEndpoint,
                UseImds = a.UseImds,
                HttpHandler = a.HttpHandler,
            },
        };
    }

    /// <summary>A raw client on a container of this account (SharedKey), for setup and inspection.</summary>
    public AzureBlobClient AdminClient(string container, string prefix = "")
        => AzureBlobClient.Create(AzureBlobLocation.Parse(Location(prefix, null, container)), DefaultOptions());

    public async Task InitializeAsync() => await AdminClient(Container).CreateContainerAsync(CancellationToken.None);

    public async Task DisposeAsync() => await AdminClient(Container).DeleteContainerAsync(CancellationToken.None);
}

public sealed class AzureStorageConformanceTests(AzureFixture f) : StorageConformanceTests<AzureFixture>(f);

public sealed class AzureFaultTests(AzureFixture f) : StorageFaultTests<AzureFixture>(f);
