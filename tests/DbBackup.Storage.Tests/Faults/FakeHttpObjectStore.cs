using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using DbBackup.Engine.Errors;
using DbBackup.Engine.Storage;
using DbBackup.Engine.Storage.ObjectStore;
using DbBackup.Storage.Tests.Conformance;
using Xunit;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace DbBackup.Storage.Tests.Faults;

/// <summary>
/// A FAKE object store: a small in-memory HTTP service (Kestrel on 127.0.0.1) with a multipart protocol shaped like
/// S3's (start, parts, complete, abort, ranged GET, paged list), so the fault suite and the object-store decorators are
/// proven over real HTTP before (and besides) the cloud adapters. Keys travel in the query string.
/// <code>
/// PUT    /o?key=K                 body            whole object
/// GET    /o?key=K  [Range]                        200/206, 404
/// HEAD   /o?key=K                                 Content-Length, Last-Modified, 404
/// DELETE /o?key=K                                 204 (also when absent)
/// POST   /uploads?key=K                           {"uploadId"}
/// PUT    /uploads/part?id=U&amp;n=N      body            {"etag"}
/// POST   /uploads/complete?id=U   body: etags, one per line
/// DELETE /uploads?id=U                            204 (also when absent)
/// GET    /uploads?prefix=P                        ["id", ...]
/// GET    /list?prefix=P&amp;max=M&amp;after=K              {"items":[{key,size,modified}],"next":K|null}
/// </code>
/// </summary>
public sealed class FakeHttpObjectStore : IAsyncDisposable
{
    private readonly ConcurrentDictionary<string, StoredObject> _objects = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, PendingUpload> _uploads = new(StringComparer.Ordinal);
    private WebApplication? _app;

    public Uri Endpoint { get; private set; } = null!;

    /// <summary>Multipart uploads started and neither completed nor aborted.</summary>
    public int PendingUploadCount(string keyPrefix) => _uploads.Values.Count(u => u.Key.StartsWith(keyPrefix, StringComparison.Ordinal));

    public int ObjectCount(string keyPrefix) => _objects.Keys.Count(k => k.StartsWith(keyPrefix, StringComparison.Ordinal));

    public static async Task<FakeHttpObjectStore> StartAsync()
    {
        var store = new FakeHttpObjectStore();
        var app = await LocalHttpServer.StartAsync(store.HandleAsync).ConfigureAwait(false);
        store._app = app;
        store.Endpoint = new Uri(app.Urls.First().Replace("[::1]", "127.0.0.1", StringComparison.Ordinal));
        return store;
    }

    private sealed record StoredObject(byte[] Data, DateTimeOffset Modified);

    private sealed class PendingUpload(string key)
    {
        public string Key => key;
        public ConcurrentDictionary<string, byte[]> Parts { get; } = new(StringComparer.Ordinal);
    }

    private async Task HandleAsync(HttpContext context)
    {
        var request = context.Request;
        var response = context.Response;
        var path = request.Path.Value ?? "/";
        var key = request.Query["key"].ToString();
        var id = request.Query["id"].ToString();
        switch (request.Method, path)
        {
            case ("PUT", "/o"):
                _objects[key] = new StoredObject(await ReadBodyAsync(request).ConfigureAwait(false), DateTimeOffset.UtcNow);
                response.StatusCode = 200;
                return;
            case ("GET" or "HEAD", "/o"):
                if (!_objects.TryGetValue(key, out var obj))
                {
                    response.StatusCode = 404;
                    return;
                }
                response.Headers.LastModified = obj.Modified.ToString("R", CultureInfo.InvariantCulture);
                var (from, to) = (0L, obj.Data.Length - 1L);
                if (request.Headers.Range.ToString() is { Length: > 0 } range && RangeHeaderValue.TryParse(range, out var parsed) && parsed.Ranges.Count == 1)
                {
                    var r = parsed.Ranges.First();
                    from = r.From ?? 0;
                    to = Math.Min(r.To ?? obj.Data.Length - 1L, obj.Data.Length - 1L);
                    if (from >= obj.Data.Length)
                    {
                        response.StatusCode = 416;
                        return;
                    }
                    response.StatusCode = 206;
                    response.Headers.ContentRange = $"bytes {from}-{to}/{obj.Data.Length}";
                }
                response.ContentLength = to - from + 1;
                if (request.Method == "GET") await response.Body.WriteAsync(obj.Data.AsMemory((int)from, (int)(to - from + 1))).ConfigureAwait(false);
                return;
            case ("DELETE", "/o"):
                _objects.TryRemove(key, out _);
                response.StatusCode = 204;
                return;
            case ("POST", "/uploads"):
                var uploadId = Guid.NewGuid().ToString("N");
                _uploads[uploadId] = new PendingUpload(key);
                await response.WriteAsJsonAsync(new { uploadId }).ConfigureAwait(false);
                return;
            case ("PUT", "/uploads/part"):
            {
                if (!_uploads.TryGetValue(id, out var upload))
                {
                    response.StatusCode = 404;
                    return;
                }
                var data = await ReadBodyAsync(request).ConfigureAwait(false);
                var etag = Convert.ToHexString(SHA256.HashData(data))[..16] + "-" + request.Query["n"];
                upload.Parts[etag] = data;
                await response.WriteAsJsonAsync(new { etag }).ConfigureAwait(false);
                return;
            }
            case ("POST", "/uploads/complete"):
            {
                if (!_uploads.TryGetValue(id, out var upload))
                {
                    response.StatusCode = 404;
                    return;
                }
                var tags = Encoding.UTF8.GetString(await ReadBodyAsync(request).ConfigureAwait(false)).Split('\n', StringSplitOptions.RemoveEmptyEntries);
                using var assembled = new MemoryStream();
                foreach (var tag in tags)
                {
                    if (!upload.Parts.TryGetValue(tag, out var part))
                    {
                        response.StatusCode = 400;
                        return;
                    }
                    assembled.Write(part);
                }
                _objects[upload.Key] = new StoredObject(assembled.ToArray(), DateTimeOffset.UtcNow);
                _uploads.TryRemove(id, out _);
                response.StatusCode = 200;
                return;
            }
            case ("DELETE", "/uploads"):
                _uploads.TryRemove(id, out _);
                response.StatusCode = 204;
                return;
            case ("GET", "/uploads"):
            {
                var prefix = request.Query["prefix"].ToString();
                await response.WriteAsJsonAsync(_uploads.Where(u => u.Value.Key.StartsWith(prefix, StringComparison.Ordinal)).Select(u => u.Key).ToArray()).ConfigureAwait(false);
                return;
            }
            case ("GET", "/list"):
            {
                var prefix = request.Query["prefix"].ToString();
                var after = request.Query["after"].ToString();
                var max = int.Parse(request.Query["max"].ToString(), CultureInfo.InvariantCulture);
                var keys = _objects.Keys.Where(k => k.StartsWith(prefix, StringComparison.Ordinal) && string.CompareOrdinal(k, after) > 0)
                    .Order(StringComparer.Ordinal).Take(max + 1).ToList();
                var page = keys.Take(max).Select(k => _objects.TryGetValue(k, out var o) ? new ListedItem(k, o.Data.Length, o.Modified) : null).OfType<ListedItem>().ToList();
                await response.WriteAsJsonAsync(new ListPage(page, keys.Count > max ? keys[max - 1] : null)).ConfigureAwait(false);
                return;
            }
            default:
                response.StatusCode = 405;
                return;
        }
    }

    internal sealed record ListedItem(string Key, long Size, DateTimeOffset Modified);

    internal sealed record ListPage(List<ListedItem> Items, string? Next);

    private static async Task<byte[]> ReadBodyAsync(HttpRequest request)
    {
        using var buffer = new MemoryStream();
        await request.Body.CopyToAsync(buffer).ConfigureAwait(false);
        return buffer.ToArray();
    }

    public async ValueTask DisposeAsync()
    {
        if (_app is not null) await _app.DisposeAsync().ConfigureAwait(false);
    }
}

/// <summary>The <see cref="IObjectStoreClient"/> of the FAKE store's protocol: what a real adapter does, minus the cloud.</summary>
public sealed class FakeHttpObjectStoreClient(Uri endpoint, string rootPrefix, ObjectStoreLimits limits) : IObjectStoreClient, IDisposable
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);
    private readonly HttpClient _http = new(new SocketsHttpHandler { UseProxy = false, PooledConnectionIdleTimeout = TimeSpan.FromSeconds(5) })
    {
        BaseAddress = endpoint,
        Timeout = Timeout.InfiniteTimeSpan, // the retry decorator times requests out
    };

    public string DisplayLocation => $"fake://{endpoint.Authority}/{rootPrefix}";

    public ObjectStoreLimits Limits => limits;

    private string Full(string key) => ObjectKeys.Join(rootPrefix, key);

    private static string Q(string value) => Uri.EscapeDataString(value);

    public async Task PutObjectAsync(string key, ReadOnlyMemory<byte> content, CancellationToken cancellationToken)
    {
        using var response = await SendAsync(HttpMethod.Put, $"o?key={Q(Full(key))}", new ReadOnlyMemoryContent(content), cancellationToken).ConfigureAwait(false);
    }

    public async Task<string> StartMultipartAsync(string key, CancellationToken cancellationToken)
    {
        using var response = await SendAsync(HttpMethod.Post, $"uploads?key={Q(Full(key))}", null, cancellationToken).ConfigureAwait(false);
        return (await response.Content.ReadFromJsonAsync<JsonElement>(Json, cancellationToken).ConfigureAwait(false)).GetProperty("uploadId").GetString()!;
    }

    public async Task<string> UploadPartAsync(UploadPart part, CancellationToken cancellationToken)
    {
        using var response = await SendAsync(HttpMethod.Put, $"uploads/part?id={part.UploadId}&n={part.PartNumber}", new ReadOnlyMemoryContent(part.Content), cancellationToken).ConfigureAwait(false);
        return (await response.Content.ReadFromJsonAsync<JsonElement>(Json, cancellationToken).ConfigureAwait(false)).GetProperty("etag").GetString()!;
    }

    public async Task CompleteMultipartAsync(string key, string uploadId, IReadOnlyList<string> partTags, long totalLength, CancellationToken cancellationToken)
    {
        using var response = await SendAsync(HttpMethod.Post, $"uploads/complete?id={uploadId}", new StringContent(string.Join('\n', partTags)), cancellationToken).ConfigureAwait(false);
    }

    public async Task AbortMultipartAsync(string key, string uploadId, CancellationToken cancellationToken)
    {
        using var response = await SendAsync(HttpMethod.Delete, $"uploads?id={uploadId}", null, cancellationToken).ConfigureAwait(false);
    }

    public async Task<Stream> OpenReadAsync(string key, long offset, long? length, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, $"o?key={Q(Full(key))}");
        if (offset > 0 || length is not null) request.Headers.Range = new RangeHeaderValue(offset, length is { } l ? offset + l - 1 : null);
        var response = await _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken).ConfigureAwait(false);
        try
        {
            if (response.StatusCode == HttpStatusCode.NotFound)
                throw new BackupNotFoundException(ErrorIds.BackupNotFound, $"The object '{key}' does not exist in '{DisplayLocation}'.") { Target = key };
            if (response.StatusCode == HttpStatusCode.RequestedRangeNotSatisfiable) return new MemoryStream([], false);
            ThrowIfFailed(response, "read", key);
            return new OwningReadStream(await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false), response);
        }
        catch
        {
            response.Dispose();
            throw;
        }
    }

    public async Task<ObjectListPage> ListPageAsync(string prefix, string? continuationToken, CancellationToken cancellationToken)
    {
        var root = Full("x")[..^1];
        using var response = await SendAsync(HttpMethod.Get, $"list?prefix={Q(root + prefix)}&max={limits.ListPageSize}&after={Q(continuationToken ?? "")}", null, cancellationToken).ConfigureAwait(false);
        var page = (await response.Content.ReadFromJsonAsync<FakeHttpObjectStore.ListPage>(Json, cancellationToken).ConfigureAwait(false))!;
        return new ObjectListPage(page.Items.Select(i => new StorageItem(i.Key[root.Length..], i.Size, i.Modified)).ToList(), page.Next);
    }

    public async Task<StorageItem?> StatAsync(string key, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Head, $"o?key={Q(Full(key))}");
        using var response = await _http.SendAsync(request, cancellationToken).ConfigureAwait(false);
        if (response.StatusCode == HttpStatusCode.NotFound) return null;
        ThrowIfFailed(response, "stat", key);
        return new StorageItem(key, response.Content.Headers.ContentLength ?? 0, response.Content.Headers.LastModified ?? DateTimeOffset.UtcNow);
    }

    public async Task DeleteAsync(string key, CancellationToken cancellationToken)
    {
        using var response = await SendAsync(HttpMethod.Delete, $"o?key={Q(Full(key))}", null, cancellationToken).ConfigureAwait(false);
    }

    public async Task AbortIncompleteUploadsAsync(string prefix, CancellationToken cancellationToken)
    {
        string[] ids;
        using (var response = await SendAsync(HttpMethod.Get, $"uploads?prefix={Q(Full("x")[..^1] + prefix)}", null, cancellationToken).ConfigureAwait(false))
            ids = (await response.Content.ReadFromJsonAsync<string[]>(Json, cancellationToken).ConfigureAwait(false))!;
        foreach (var id in ids) await AbortMultipartAsync("", id, cancellationToken).ConfigureAwait(false);
    }

    private async Task<HttpResponseMessage> SendAsync(HttpMethod method, string relative, HttpContent? content, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(method, relative) { Content = content };
        var response = await _http.SendAsync(request, cancellationToken).ConfigureAwait(false);
        try
        {
            ThrowIfFailed(response, method.Method, relative);
            return response;
        }
        catch
        {
            response.Dispose();
            throw;
        }
    }

    private void ThrowIfFailed(HttpResponseMessage response, string operation, string what)
    {
        if (response.IsSuccessStatusCode) return;
        var status = (int)response.StatusCode;
        throw new StorageRequestException($"The fake store at '{DisplayLocation}' answered HTTP {status} to {operation} '{what}'.",
            StorageRequestException.IsTransientStatus(status), status);
    }

    public void Dispose() => _http.Dispose();

}

/// <summary>The FAKE HTTP store as a storage fixture: one store per test class, a fresh key prefix per <see cref="Open"/>.</summary>
public sealed class FakeHttpStorageFixture : IStorageFixture, IAsyncLifetime
{
    private FakeHttpObjectStore? _store;

    public FakeHttpObjectStore Store => _store ?? throw new InvalidOperationException("The fixture was not initialized.");

    public async Task InitializeAsync() => _store = await FakeHttpObjectStore.StartAsync();

    public int PartSize => 64 * 1024;

    public int ListPageSize => 7;

    public Uri? ServiceEndpoint => Store.Endpoint;

    public IBackupStorage Open(Uri? endpoint, StorageOptions? options)
    {
        var limits = new ObjectStoreLimits(options?.PartSize ?? PartSize, options?.MaxConcurrentParts ?? 3, options?.ListPageSize ?? ListPageSize);
        var prefix = "t-" + Guid.NewGuid().ToString("N")[..10] + "/";
        var client = new FakeHttpObjectStoreClient(endpoint ?? Store.Endpoint, prefix, limits);
        return StorageRegistry.Cloud(client, options ?? new StorageOptions { RetryBaseDelay = TimeSpan.FromMilliseconds(5), RequestTimeout = TimeSpan.FromSeconds(30) });
    }

    public async Task<int?> CountPendingUploadsAsync(IBackupStorage storage)
    {
        await Task.CompletedTask.ConfigureAwait(false);
        var display = storage.DisplayLocation;
        return Store.PendingUploadCount(display[(display.IndexOf('/', "fake://".Length) + 1)..]);
    }

    public async Task DisposeAsync()
    {
        if (_store is not null) await _store.DisposeAsync();
    }
}

public sealed class FakeHttpStorageConformanceTests(FakeHttpStorageFixture fixture) : StorageConformanceTests<FakeHttpStorageFixture>(fixture);

public sealed class FakeHttpStorageFaultTests(FakeHttpStorageFixture fixture) : StorageFaultTests<FakeHttpStorageFixture>(fixture);
