using DbBackup.Engine.Errors;

namespace DbBackup.Engine.Storage.Azure;

/// <summary>
/// Chooses how to authorize requests to an Azure Blob location. The first source that is present wins:
/// <list type="number">
/// <item>explicit settings: connection string, account key, SAS token, token credential;</item>
/// <item>a SAS token in the location's query;</item>
/// <item>environment: AZURE_STORAGE_CONNECTION_STRING, AZURE_STORAGE_KEY, AZURE_STORAGE_SAS_TOKEN;</item>
/// <item>Microsoft Entra: a service principal (AZURE_TENANT_ID + AZURE_CLIENT_ID + AZURE_CLIENT_SECRET), the managed
/// identity endpoint of Azure Automation/App Service/Functions (IDENTITY_ENDPOINT + IDENTITY_HEADER), then IMDS.</item>
/// </list>
/// </summary>
internal static class AzureCredentialChain
{
    public const string SourcesDescription =
        "settings (connection string, account key, SAS token, token credential), a SAS token in the location, "
        + "AZURE_STORAGE_CONNECTION_STRING, AZURE_STORAGE_KEY, AZURE_STORAGE_SAS_TOKEN, "
        + "a service principal (AZURE_TENANT_ID, AZURE_CLIENT_ID, AZURE_CLIENT_SECRET), "
        + "the managed identity endpoint (IDENTITY_ENDPOINT, IDENTITY_HEADER)";

    public static (AzureAuth Auth, AzureBlobLocation Location) Resolve(AzureBlobLocation location, StorageOptions options, HttpClient http)
    {
        var settings = options.Azure;
        var env = options.Environment;

        if (settings.ConnectionString is { IsEmpty: false } cs) return FromConnectionString(location, cs, "the connection string in the settings");
        if (settings.AccountKey is { IsEmpty: false } key) return (new SharedKeyAuth(location.Account, key, "the account key in the settings"), location);
        if (settings.SasToken is { IsEmpty: false } sas) return (new SasAuth(sas, "the SAS token in the settings"), location);
        if (settings.TokenCredential is { } credential)
            return (new BearerAuth(new TokenCredentialSource(credential, $"the token credential in the settings ({credential.GetType().Name})")), location);
        if (location.Sas is { } querySas) return (new SasAuth(querySas, "the SAS token in the location"), location);

        if (Env(env, "AZURE_STORAGE_CONNECTION_STRING") is { } envCs) return FromConnectionString(location, new SecretValue(envCs), "AZURE_STORAGE_CONNECTION_STRING");
        if (Env(env, "AZURE_STORAGE_KEY") is { } envKey) return (new SharedKeyAuth(location.Account, new SecretValue(envKey), "AZURE_STORAGE_KEY"), location);
        if (Env(env, "AZURE_STORAGE_SAS_TOKEN") is { } envSas) return (new SasAuth(new SecretValue(envSas), "AZURE_STORAGE_SAS_TOKEN"), location);

        var tenant = Env(env, "AZURE_TENANT_ID");
        var clientId = Env(env, "AZURE_CLIENT_ID");
        var secret = Env(env, "AZURE_CLIENT_SECRET");
        if (tenant is not null && clientId is not null && secret is not null)
        {
            var authority = settings.AuthorityHost ?? UriFrom(env, "AZURE_AUTHORITY_HOST") ?? new Uri("https://login.microsoftonline.com/");
            return (new BearerAuth(new ClientSecretTokenSource(http, authority, tenant, clientId, new SecretValue(secret),
                $"the service principal {clientId} (AZURE_TENANT_ID, AZURE_CLIENT_ID, AZURE_CLIENT_SECRET)")), location);
        }

        var managedClientId = settings.ManagedIdentityClientId ?? clientId;
        var identityEndpoint = Env(env, "IDENTITY_ENDPOINT");
        var identityHeader = Env(env, "IDENTITY_HEADER");
        if (identityEndpoint is not null && identityHeader is not null)
        {
            if (!Uri.TryCreate(identityEndpoint, UriKind.Absolute, out var endpoint))
                throw Missing(SourcesDescription + " (IDENTITY_ENDPOINT is set but is not a URL)");
            return (new BearerAuth(new AppServiceManagedIdentitySource(http, endpoint, new SecretValue(identityHeader), managedClientId,
                "the managed identity (IDENTITY_ENDPOINT, IDENTITY_HEADER)")), location);
        }

        if (settings.UseImds)
        {
            var imds = settings.ImdsEndpoint ?? UriFrom(env, "AZURE_POD_IDENTITY_AUTHORITY_HOST") ?? new Uri("http://169.254.169.254/");
            return (new BearerAuth(new ImdsTokenSource(imds, managedClientId, "the managed identity via IMDS", SourcesDescription)), location);
        }
        throw Missing(SourcesDescription);
    }

    public static DbBackupException Missing(string sourcesTried, Exception? inner = null) => new(
        ErrorIds.StorageCredentialsMissing, ErrorKind.AuthenticationError,
        $"No Azure Storage credentials were found. Tried: {sourcesTried}.",
        "Set AZURE_STORAGE_CONNECTION_STRING, AZURE_STORAGE_KEY or AZURE_STORAGE_SAS_TOKEN, put a SAS token in the location, "
        + "or run with a Microsoft Entra identity (service principal variables or a managed identity) that has the 'Storage Blob Data Contributor' role.",
        inner);

    private static (AzureAuth, AzureBlobLocation) FromConnectionString(AzureBlobLocation location, SecretValue connectionString, string source)
    {
        var cs = AzureConnectionString.Parse(connectionString, source);
        if (cs.AccountName is { } name && !string.Equals(name, location.Account, StringComparison.OrdinalIgnoreCase) && cs.AccountKey is not null)
        {
            throw new DbBackupException(ErrorIds.InvalidArgument, ErrorKind.InvalidArgument,
                $"The connection string from {source} is for account '{name}', but the location is in account '{location.Account}'.",
                "Use a connection string of the location's account, or a location in the connection string's account.") { Target = location.Display };
        }
        if (!location.EndpointIsExplicit && cs.BlobEndpoint is { } blobEndpoint) location = location.WithEndpoint(blobEndpoint);
        if (cs.AccountKey is { } key) return (new SharedKeyAuth(location.Account, key, source), location);
        if (cs.Sas is { } sas) return (new SasAuth(sas, source), location);
        throw new DbBackupException(ErrorIds.StorageCredentialsMissing, ErrorKind.AuthenticationError,
            $"The connection string from {source} has neither AccountKey nor SharedAccessSignature.",
            "Copy the full connection string of the storage account (Access keys in the portal).");
    }

    private static string? Env(Func<string, string?> env, string name) => env(name) is { Length: > 0 } v ? v.Trim() : null;

    private static Uri? UriFrom(Func<string, string?> env, string name) => Env(env, name) is { } v && Uri.TryCreate(v, UriKind.Absolute, out var u) ? u : null;
}

/// <summary>An Azure Storage connection string's blob-relevant parts.</summary>
internal sealed record AzureConnectionString(string? AccountName, SecretValue? AccountKey, SecretValue? Sas, Uri? BlobEndpoint)
{
    /// <summary>The well-known development storage account (Azurite); its key is public.</summary>
    private const string DevAccount = "devstoreaccount1";
    private const string DevKey = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

    public static AzureConnectionString Parse(SecretValue connectionString, string source)
    {
        var parts = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (var part in connectionString.Reveal().Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var eq = part.IndexOf('=');
            if (eq <= 0) throw Invalid(source);
            parts[part[..eq].Trim()] = part[(eq + 1)..].Trim();
        }
        if (parts.TryGetValue("UseDevelopmentStorage", out var dev) && dev.Equals("true", StringComparison.OrdinalIgnoreCase))
        {
            var proxy = parts.TryGetValue("DevelopmentStorageProxyUri", out var p) ? p.TrimEnd('/') : "http://127.0.0.1:10000";
            return new(DevAccount, new SecretValue(DevKey), null, new Uri(proxy + "/" + DevAccount));
        }
        parts.TryGetValue("AccountName", out var account);
        Uri? endpoint = null;
        if (parts.TryGetValue("BlobEndpoint", out var be))
        {
            if (!Uri.TryCreate(be, UriKind.Absolute, out endpoint)) throw Invalid(source);
        }
        else if (account is not null && parts.TryGetValue("EndpointSuffix", out var suffix))
        {
            var protocol = parts.TryGetValue("DefaultEndpointsProtocol", out var pr) ? pr : "https";
            endpoint = new Uri($"{protocol}://{account}.blob.{suffix}");
        }
        var key = parts.TryGetValue("AccountKey", out var k) && k.Length > 0 ? new SecretValue(k) : null;
        var sas = parts.TryGetValue("SharedAccessSignature", out var s) && s.Length > 0 ? new SecretValue(s) : null;
        if (key is null && sas is null && account is null && endpoint is null) throw Invalid(source);
        return new(account, key, sas, endpoint);
    }

    private static DbBackupException Invalid(string source) => new(ErrorIds.InvalidArgument, ErrorKind.InvalidArgument,
        $"The Azure Storage connection string from {source} is not in the form Name=value;Name=value (AccountName, AccountKey, BlobEndpoint, ...).",
        "Copy the connection string of the storage account again (Access keys in the portal, or 'az storage account show-connection-string').");
}
