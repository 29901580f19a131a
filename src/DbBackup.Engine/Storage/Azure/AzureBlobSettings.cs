using Azure.Core;

namespace DbBackup.Engine.Storage.Azure;

/// <summary>
/// Explicit Azure Blob settings given by the host (cmdlet parameters, CLI, config). The first credential set here
/// wins; unset values fall back to a SAS token in the location's query, then the AZURE_STORAGE_* variables, then
/// Microsoft Entra tokens (service principal, managed identity). See docs/storage/azure.md for the order.
/// </summary>
public sealed class AzureBlobSettings
{
    /// <summary>A storage connection string (AccountName/AccountKey, SharedAccessSignature, BlobEndpoint, UseDevelopmentStorage).</summary>
    public SecretValue? ConnectionString { get; init; }

    /// <summary>The storage account's shared key (base64), signed with SharedKey.</summary>
    public SecretValue? AccountKey { get; init; }

    /// <summary>A SAS token (with or without the leading '?').</summary>
    public SecretValue? SasToken { get; init; }

    /// <summary>Any Azure.Identity credential (AzureCliCredential, WorkloadIdentityCredential, ...) the host built; used for bearer tokens.</summary>
    public TokenCredential? TokenCredential { get; init; }

    /// <summary>A user-assigned managed identity's client id (else AZURE_CLIENT_ID when no client secret is set; else the system-assigned identity).</summary>
    public string? ManagedIdentityClientId { get; init; }

    /// <summary>Entra authority for service-principal tokens (else AZURE_AUTHORITY_HOST, else https://login.microsoftonline.com/).</summary>
    public Uri? AuthorityHost { get; init; }

    /// <summary>The instance metadata service (else AZURE_POD_IDENTITY_AUTHORITY_HOST, else http://169.254.169.254/).</summary>
    public Uri? ImdsEndpoint { get; init; }

    /// <summary>Whether to ask the instance metadata service (IMDS) for a token when no other credential is found (default true).</summary>
    public bool UseImds { get; init; } = true;

    /// <summary>The HTTP handler for storage and token requests (proxies, a private CA); null uses a shared default handler.</summary>
    public HttpMessageHandler? HttpHandler { get; init; }
}
