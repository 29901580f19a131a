using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using System.Xml;
using DbBackup.Engine.Errors;
using DbBackup.Engine.Storage.ObjectStore;

namespace DbBackup.Engine.Storage.Azure;

/// <summary>
/// Azure Blob Storage client over the Blob REST API (the Azure Storage SDK does not restore here): block blobs written
/// with Put Blob (one part) or Put Block + Put Block List, ranged Get Blob, List Blobs, Get Blob Properties, Delete Blob.
/// Uncommitted blocks are never visible and are garbage-collected by the service (after a week, or when the blob is
/// next committed), so aborting an upload sends no request.
/// </summary>
public sealed class AzureBlobClient : IObjectStoreClient
{
    public const string ApiVersion = "2021-12-02";
    public const int DefaultPartSize = 16 << 20;
    public const int DefaultMaxConcurrentParts = 4;
    public const int DefaultListPageSize = 1000;
    private const int MaxPartSize = 256 << 20; // the service allows 4000 MiB blocks; buffers are held in memory
    private const int MaxListPageSize = 5000;

    private static readonly HttpClient SharedHttp = new(new SocketsHttpHandler
    {
        PooledConnectionLifetime = TimeSpan.FromMinutes(5),
        ConnectTimeout = TimeSpan.FromSeconds(30),
        AutomaticDecompression = DecompressionMethods.None,
    })
    { Timeout = Timeout.InfiniteTimeSpan };

    private readonly HttpClient _http;
    private readonly AzureAuth _auth;

    private AzureBlobClient(AzureBlobLocation location, AzureAuth auth, HttpClient http, ObjectStoreLimits limits)
    {
        Location = location;
        _auth = auth;
        _http = http;
        Limits = limits;
    }

    /// <summary>Opens <paramref name="location"/> (<c>az://</c>, <c>https://account.blob.core.windows.net/...</c> or an Azurite <c>http://127.0.0.1:port/account/...</c> URL).</summary>
    public static IObjectStoreClient Create(Uri location, StorageOptions options) => Create(AzureBlobLocation.Parse(location), options);

    /// <summary>Opens a parsed location; credentials are resolved now (see <see cref="AzureCredentialChain"/>), tokens on first use.</summary>
    public static AzureBlobClient Create(AzureBlobLocation location, StorageOptions options)
    {
        var http = options.Azure.HttpHandler is { } handler ? new HttpClient(handler, disposeHandler: false) { Timeout = Timeout.InfiniteTimeSpan } : SharedHttp;
        var (auth, resolved) = AzureCredentialChain.Resolve(location, options, http);
        if (auth.IsBearer && resolved.Endpoint.Scheme != Uri.UriSchemeHttps)
        {
            throw new DbBackupException(ErrorIds.InvalidArgument, ErrorKind.InvalidArgument,
                $"Microsoft Entra tokens ({auth.Source}) are only sent over HTTPS, but '{resolved.Display}' is plain HTTP.",
                "Use an https endpoint, or a key, connection string or SAS token for the emulator.") { Target = resolved.Display };
        }
        return new AzureBlobClient(resolved, auth, http, LimitsFor(options));
    }

    /// <summary>
    /// Block size and concurrency: <see cref="StorageOptions"/> when set, else DBBACKUP_AZURE_BLOCK_SIZE_MIB (1-256) and
    /// DBBACKUP_AZURE_MAX_CONCURRENT_BLOCKS (1-64), else the defaults. Part memory of a backup is about
    /// (concurrency + 2) x block size, so a runbook in a small sandbox can trade throughput for memory.
    /// </summary>
    internal static ObjectStoreLimits LimitsFor(StorageOptions options)
    {
        var partSize = options.PartSize ?? (options.EnvironmentNumber("DBBACKUP_AZURE_BLOCK_SIZE_MIB", MaxPartSize >> 20) << 20 ?? DefaultPartSize);
        var concurrency = options.MaxConcurrentParts ?? options.EnvironmentNumber("DBBACKUP_AZURE_MAX_CONCURRENT_BLOCKS") ?? DefaultMaxConcurrentParts;
        return new ObjectStoreLimits(
            Math.Clamp(partSize, 1, MaxPartSize),
            Math.Clamp(concurrency, 1, 64),
            Math.Clamp(options.ListPageSize ?? DefaultListPageSize, 1, MaxListPageSize));
    }

    public AzureBlobLocation Location { get; }

    public string DisplayLocation => Location.Display;

    public ObjectStoreLimits Limits { get; }

    /// <summary>Where the credential in use came from (for diagnostics and tests; never the secret).</summary>
    public string CredentialSource => _auth.Source;

    public async Task PutObjectAsync(string key, ReadOnlyMemory<byte> content, CancellationToken cancellationToken)
    {
        using var request = Request(HttpMethod.Put, Location.BlobUri(key), Body(content));
        request.Headers.Add("x-ms-blob-type", "BlockBlob");
        using var response = await SendAsync(request, cancellationToken).ConfigureAwait(false);
        EnsureSuccess(response, $"upload '{key}'");
    }

    /// <summary>The upload id is a random block-id prefix plus the blob's ETag before the upload ("-" when absent), see <see cref="CompleteMultipartAsync"/>.</summary>
    public async Task<string> StartMultipartAsync(string key, CancellationToken cancellationToken)
    {
        var etag = await ETagAsync(key, cancellationToken).ConfigureAwait(false);
        return Convert.ToHexString(RandomNumberGenerator.GetBytes(8)).ToLowerInvariant() + ":" + (etag ?? "-");
    }

    public async Task<string> UploadPartAsync(UploadPart part, CancellationToken cancellationToken)
    {
        var blockId = BlockId(part.UploadId, part.PartNumber);
        using var request = Request(HttpMethod.Put, Query(Location.BlobUri(part.Key), "comp=block&blockid=" + Uri.EscapeDataString(blockId)), Body(part.Content));
        using var response = await SendAsync(request, cancellationToken).ConfigureAwait(false);
        EnsureSuccess(response, $"upload part {part.PartNumber} of '{part.Key}'");
        return blockId;
    }

    /// <summary>
    /// Commits the block list. Committing (or a Put Blob) of the same name by a concurrent writer discards this writer's
    /// uncommitted blocks; Put Block List then fails with InvalidBlockList. When the blob's ETag has changed since the
    /// upload started, another writer's whole version was committed during this upload: this write is ordered before
    /// it (it was superseded), which is what "last writer wins" means, and succeeds. Otherwise the failure stands.
    /// </summary>
    public async Task CompleteMultipartAsync(string key, string uploadId, IReadOnlyList<string> partTags, long totalLength, CancellationToken cancellationToken)
    {
        var xml = new StringBuilder("<?xml version=\"1.0\" encoding=\"utf-8\"?><BlockList>");
        foreach (var id in partTags) xml.Append("<Latest>").Append(id).Append("</Latest>");
        xml.Append("</BlockList>");
        var body = new ByteArrayContent(Encoding.UTF8.GetBytes(xml.ToString()));
        body.Headers.ContentType = new MediaTypeHeaderValue("application/xml");
        using var request = Request(HttpMethod.Put, Query(Location.BlobUri(key), "comp=blocklist"), body);
        using var response = await SendAsync(request, cancellationToken).ConfigureAwait(false);
        if (response.StatusCode == HttpStatusCode.BadRequest && AzureErrors.ErrorCode(response) == "InvalidBlockList")
        {
            var before = uploadId[(uploadId.IndexOf(':') + 1)..];
            var now = await ETagAsync(key, cancellationToken).ConfigureAwait(false);
            if (now is not null && now != before) return;
        }
        EnsureSuccess(response, $"commit the parts of '{key}'");
    }

    /// <summary>No request: uncommitted blocks are invisible and discarded by the service (at the next commit of the name, or after seven days).</summary>
    public Task AbortMultipartAsync(string key, string uploadId, CancellationToken cancellationToken) => Task.CompletedTask;

    public async Task<Stream> OpenReadAsync(string key, long offset, long? length, CancellationToken cancellationToken)
    {
        var request = Request(HttpMethod.Get, Location.BlobUri(key), null);
        if (offset > 0 || length is not null)
        {
            var end = length is { } l ? (offset + l - 1).ToString(CultureInfo.InvariantCulture) : "";
            request.Headers.Add("x-ms-range", $"bytes={offset.ToString(CultureInfo.InvariantCulture)}-{end}");
        }
        HttpResponseMessage response;
        try
        {
            response = await SendAsync(request, cancellationToken, HttpCompletionOption.ResponseHeadersRead).ConfigureAwait(false);
        }
        finally
        {
            request.Dispose();
        }
        if (!response.IsSuccessStatusCode)
        {
            using (response)
            {
                var code = AzureErrors.ErrorCode(response);
                if (response.StatusCode == HttpStatusCode.NotFound && code is not ("ContainerNotFound" or "AccountNotFound" or "ResourceNotFound"))
                {
                    throw new BackupNotFoundException(ErrorIds.BackupNotFound, $"'{key}' does not exist in '{DisplayLocation}'.",
                        "Refresh the catalog (Get-BackupHistory -Refresh) or check the repository location.");
                }
                if (response.StatusCode == HttpStatusCode.RequestedRangeNotSatisfiable && length is null) return new MemoryStream([], writable: false);
                throw AzureErrors.ToException(response, $"read '{key}'", DisplayLocation, _auth.Source);
            }
        }
        return new OwningReadStream(await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false), response);
    }

    public async Task<ObjectListPage> ListPageAsync(string prefix, string? continuationToken, CancellationToken cancellationToken)
    {
        var fullPrefix = Location.Join(prefix);
        if (prefix.Length == 0 && Location.Prefix.Length > 0) fullPrefix = Location.Prefix + "/";
        var query = "restype=container&comp=list&maxresults=" + Limits.ListPageSize.ToString(CultureInfo.InvariantCulture)
            + (fullPrefix.Length > 0 ? "&prefix=" + Uri.EscapeDataString(fullPrefix) : "")
            + (continuationToken is null ? "" : "&marker=" + Uri.EscapeDataString(continuationToken));
        using var request = Request(HttpMethod.Get, Query(new Uri(Location.ContainerUri), query), null);
        using var response = await SendAsync(request, cancellationToken).ConfigureAwait(false);
        EnsureSuccess(response, "list blobs");
        var xml = await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
        var (names, next) = await AzureListing.ParseAsync(xml, cancellationToken).ConfigureAwait(false);
        var rootLength = Location.Prefix.Length == 0 ? 0 : Location.Prefix.Length + 1;
        var items = names.Where(b => b.Name.Length > rootLength).Select(b => new StorageItem(b.Name[rootLength..], b.Size, b.LastModified)).ToList();
        return new ObjectListPage(items, string.IsNullOrEmpty(next) ? null : next);
    }

    public async Task<StorageItem?> StatAsync(string key, CancellationToken cancellationToken)
    {
        using var request = Request(HttpMethod.Head, Location.BlobUri(key), null);
        using var response = await SendAsync(request, cancellationToken).ConfigureAwait(false);
        if (IsBlobNotFound(response)) return null;
        EnsureSuccess(response, $"read the properties of '{key}'");
        var size = response.Content.Headers.ContentLength ?? 0;
        var modified = response.Content.Headers.LastModified ?? DateTimeOffset.UtcNow;
        return new StorageItem(key, size, modified);
    }

    public async Task DeleteAsync(string key, CancellationToken cancellationToken)
    {
        using var request = Request(HttpMethod.Delete, Location.BlobUri(key), null);
        request.Headers.Add("x-ms-delete-snapshots", "include");
        using var response = await SendAsync(request, cancellationToken).ConfigureAwait(false);
        if (IsBlobNotFound(response)) return;
        EnsureSuccess(response, $"delete '{key}'");
    }

    /// <summary>Creates the container when it does not exist (tests and first-time setup; backups never create containers on their own).</summary>
    public async Task CreateContainerAsync(CancellationToken cancellationToken)
    {
        using var request = Request(HttpMethod.Put, Query(new Uri(Location.ContainerUri), "restype=container"), null);
        using var response = await SendAsync(request, cancellationToken).ConfigureAwait(false);
        if (response.StatusCode == HttpStatusCode.Conflict && AzureErrors.ErrorCode(response) == "ContainerAlreadyExists") return;
        EnsureSuccess(response, "create the container");
    }

    /// <summary>Deletes the container and everything in it (tests).</summary>
    public async Task DeleteContainerAsync(CancellationToken cancellationToken)
    {
        using var request = Request(HttpMethod.Delete, Query(new Uri(Location.ContainerUri), "restype=container"), null);
        using var response = await SendAsync(request, cancellationToken).ConfigureAwait(false);
        if (response.StatusCode == HttpStatusCode.NotFound) return;
        EnsureSuccess(response, "delete the container");
    }

    /// <summary>No request: the service discards uncommitted blocks by itself.</summary>
    public Task AbortIncompleteUploadsAsync(string prefix, CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>A block id: base64 of the upload's random prefix and the zero-padded part number, so every id of a blob has the same length.</summary>
    internal static string BlockId(string uploadId, int partNumber)
    {
        var colon = uploadId.IndexOf(':');
        var prefix = colon < 0 ? uploadId : uploadId[..colon];
        return Convert.ToBase64String(Encoding.ASCII.GetBytes(prefix + "-" + partNumber.ToString("D6", CultureInfo.InvariantCulture)));
    }

    private async Task<string?> ETagAsync(string key, CancellationToken cancellationToken)
    {
        using var request = Request(HttpMethod.Head, Location.BlobUri(key), null);
        using var response = await SendAsync(request, cancellationToken).ConfigureAwait(false);
        if (IsBlobNotFound(response)) return null;
        EnsureSuccess(response, $"read the properties of '{key}'");
        return response.Headers.ETag?.Tag ?? "";
    }

    private static bool IsBlobNotFound(HttpResponseMessage response)
        => response.StatusCode == HttpStatusCode.NotFound && AzureErrors.ErrorCode(response) is not ("ContainerNotFound" or "AccountNotFound" or "ResourceNotFound");

    private void EnsureSuccess(HttpResponseMessage response, string operation)
    {
        if (!response.IsSuccessStatusCode) throw AzureErrors.ToException(response, operation, DisplayLocation, _auth.Source);
    }

    private static HttpContent Body(ReadOnlyMemory<byte> content)
    {
        var body = new ReadOnlyMemoryContent(content);
        body.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
        body.Headers.ContentLength = content.Length;
        return body;
    }

    private static HttpRequestMessage Request(HttpMethod method, Uri uri, HttpContent? content)
        => new(method, uri) { Content = content, Version = HttpVersion.Version11 };

    private static Uri Query(Uri uri, string query)
        => new(uri.OriginalString + (uri.OriginalString.Contains('?') ? "&" : "?") + query, new UriCreationOptions { DangerousDisablePathAndQueryCanonicalization = true });

    private async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken, HttpCompletionOption completion = HttpCompletionOption.ResponseContentRead)
    {
        request.Headers.Add("x-ms-date", DateTimeOffset.UtcNow.ToString("R", CultureInfo.InvariantCulture));
        request.Headers.Add("x-ms-version", ApiVersion);
        await _auth.AuthorizeAsync(request, cancellationToken).ConfigureAwait(false);
        return await _http.SendAsync(request, completion, cancellationToken).ConfigureAwait(false);
    }

}

/// <summary>Reads a List Blobs response (EnumerationResults) without loading it whole.</summary>
internal static class AzureListing
{
    public sealed record Blob(string Name, long Size, DateTimeOffset LastModified);

    public static async Task<(List<Blob> Blobs, string? NextMarker)> ParseAsync(Stream xml, CancellationToken cancellationToken)
    {
        var blobs = new List<Blob>();
        string? next = null;
        using var reader = XmlReader.Create(xml, new XmlReaderSettings { Async = true, IgnoreWhitespace = true, DtdProcessing = DtdProcessing.Prohibit });
        string? name = null;
        long size = 0;
        var modified = DateTimeOffset.MinValue;
        var positioned = false; // ReadElementContentAsString leaves the reader on the next node already
        while (positioned || await reader.ReadAsync().ConfigureAwait(false))
        {
            positioned = false;
            cancellationToken.ThrowIfCancellationRequested();
            if (reader.NodeType == XmlNodeType.EndElement && reader.Name == "Blob")
            {
                if (name is not null) blobs.Add(new Blob(name, size, modified));
                name = null; size = 0; modified = DateTimeOffset.MinValue;
                continue;
            }
            if (reader.NodeType != XmlNodeType.Element) continue;
            switch (reader.Name)
            {
                case "Name" when reader.Depth == 3:
                    var encoded = reader.GetAttribute("Encoded") == "true";
                    var text = await reader.ReadElementContentAsStringAsync().ConfigureAwait(false);
                    name = encoded ? Uri.UnescapeDataString(text) : text;
                    positioned = true;
                    break;
                case "Content-Length":
                    size = long.Parse(await reader.ReadElementContentAsStringAsync().ConfigureAwait(false), CultureInfo.InvariantCulture);
                    positioned = true;
                    break;
                case "Last-Modified":
                    modified = DateTimeOffset.Parse(await reader.ReadElementContentAsStringAsync().ConfigureAwait(false), CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal);
                    positioned = true;
                    break;
                case "NextMarker":
                    next = await reader.ReadElementContentAsStringAsync().ConfigureAwait(false);
                    positioned = true;
                    break;
            }
        }
        return (blobs, next);
    }
}
