using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using DbBackup.Engine.Errors;
using DbBackup.Engine.Storage.ObjectStore;

namespace DbBackup.Engine.Storage.Gcs;

/// <summary>
/// Google Cloud Storage client over the JSON API: <c>gs://bucket/prefix</c>. Objects that fit in one part go up with a
/// media upload; larger ones through a resumable upload session whose chunks (multiples of 256 KiB) are sent in
/// order, one at a time, the last one carrying the total size. Reads are ranged <c>alt=media</c> downloads.
/// Credentials: see <see cref="GcsCredentials"/>.
/// </summary>
public sealed class GcsClient : IObjectStoreClient
{
    /// <summary>Resumable chunks must be multiples of this (except the last).</summary>
    public const int ChunkGranularity = 256 * 1024;

    /// <summary>Default part (chunk) size against Google Cloud Storage.</summary>
    public const int DefaultPartSize = 16 * 1024 * 1024;

    /// <summary>
    /// Default part size against a plain-http endpoint (an emulator). The firebase-tools emulator finalizes a resumable
    /// upload on its first chunk and accepts bodies up to 130 MiB, so there every data volume (64 MiB by default) goes
    /// up in one request.
    /// </summary>
    public const int EmulatorPartSize = 100 * 1024 * 1024;

    private static readonly HttpClient SharedHttp = new(new SocketsHttpHandler
    {
        PooledConnectionLifetime = TimeSpan.FromMinutes(5),
        AutomaticDecompression = DecompressionMethods.None,
        AllowAutoRedirect = false,
    })
    { Timeout = Timeout.InfiniteTimeSpan };

    private readonly HttpClient _http;
    private readonly GcsLocation _location;
    private readonly GcsCredentials _credentials;
    private readonly ConcurrentDictionary<string, bool> _uncertainSessions = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, (long Offset, byte[] Data)> _tails = new(StringComparer.Ordinal);

    internal GcsClient(GcsLocation location, StorageOptions options, HttpClient? http = null)
    {
        _location = location;
        _http = http ?? SharedHttp;
        _credentials = new GcsCredentials(options.Gcs, options.Environment, allowAnonymous: location.IsEmulator, _http);
        // StorageOptions, else DBBACKUP_GCS_CHUNK_SIZE_MIB (1-1024), else the default for the endpoint.
        var partSize = options.PartSize
            ?? options.EnvironmentNumber("DBBACKUP_GCS_CHUNK_SIZE_MIB", 1024) << 20
            ?? (location.IsEmulator ? EmulatorPartSize : DefaultPartSize);
        partSize = (int)Math.Min(int.MaxValue - ChunkGranularity, (Math.Max(partSize, ChunkGranularity) + ChunkGranularity - 1L) / ChunkGranularity * ChunkGranularity);
        Limits = new ObjectStoreLimits(partSize, 1, Math.Clamp(options.ListPageSize ?? 1000, 1, 1000));
    }

    /// <summary>Opens <paramref name="location"/> (a <c>gs://</c> URI).</summary>
    public static IObjectStoreClient Create(Uri location, StorageOptions options)
        => new GcsClient(GcsLocation.Parse(location, options.Gcs, options.Environment), options);

    public string DisplayLocation => _location.Display;

    public ObjectStoreLimits Limits { get; }

    /// <summary>The credential source in use (null before the first request, or when requests go anonymously).</summary>
    public string? CredentialSource => _credentials.SourceName;

    internal GcsLocation Location => _location;

    private string ObjectName(string key) => ObjectKeys.Join(_location.Prefix, key);

    private string BucketPath => "b/" + Uri.EscapeDataString(_location.Bucket);

    private Uri ObjectUri(string key, string? query = null)
        => new(_location.Endpoint, "storage/v1/" + BucketPath + "/o/" + Uri.EscapeDataString(ObjectName(key)) + (query is null ? "" : "?" + query));

    private Uri UploadUri(string key, string uploadType)
        => new(_location.Endpoint, "upload/storage/v1/" + BucketPath + "/o?uploadType=" + uploadType + "&name=" + Uri.EscapeDataString(ObjectName(key)));

    public async Task PutObjectAsync(string key, ReadOnlyMemory<byte> content, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, UploadUri(key, "media")) { Content = Body(content) };
        using var response = await SendAsync(request, "upload", key, cancellationToken).ConfigureAwait(false);
        await EnsureSuccessAsync(response, "upload", key, cancellationToken).ConfigureAwait(false);
    }

    public async Task<string> StartMultipartAsync(string key, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, UploadUri(key, "resumable"))
        {
            Content = new StringContent(JsonSerializer.Serialize(new Dictionary<string, string> { ["name"] = ObjectName(key) }), Encoding.UTF8, "application/json"),
        };
        request.Headers.Add("X-Upload-Content-Type", "application/octet-stream");
        using var response = await SendAsync(request, "start a resumable upload of", key, cancellationToken).ConfigureAwait(false);
        await EnsureSuccessAsync(response, "start a resumable upload of", key, cancellationToken).ConfigureAwait(false);
        var session = response.Headers.Location;
        if (session is null)
            throw new StorageRequestException($"{DisplayLocation}: starting a resumable upload of '{key}' returned no session URI.", isTransient: true, (int)response.StatusCode);
        return (session.IsAbsoluteUri ? session : new Uri(_location.Endpoint, session)).AbsoluteUri;
    }

    public async Task<string> UploadPartAsync(UploadPart part, CancellationToken cancellationToken)
    {
        if (part.Content.Length == 0) throw new ArgumentException("Empty parts are not uploaded.", nameof(part));
        if (_tails.TryGetValue(part.UploadId, out var earlier) && earlier.Offset < part.Offset)
            throw new InvalidOperationException("Only the last part of a GCS resumable upload may be shorter than a whole number of 256 KiB units.");
        // Non-final chunks must be whole 256 KiB units, and a chunk that carries the total size makes the object visible.
        // So the unaligned tail of the (necessarily last) short part stays here, under 256 KiB, and goes up with the total
        // size only in CompleteMultipartAsync: a cancelled or failed writer never makes anything visible.
        var aligned = part.Content.Length / ChunkGranularity * ChunkGranularity;
        if (aligned < part.Content.Length) _tails[part.UploadId] = (part.Offset + aligned, part.Content[aligned..].ToArray());
        if (aligned > 0) await SendChunkAsync(part.UploadId, part.Key, part.Content[..aligned], part.Offset, total: null, cancellationToken).ConfigureAwait(false);
        return "persisted:" + (part.Offset + aligned).ToString(CultureInfo.InvariantCulture);
    }

    public async Task CompleteMultipartAsync(string key, string uploadId, IReadOnlyList<string> partTags, long totalLength, CancellationToken cancellationToken)
    {
        var (offset, tail) = _tails.TryGetValue(uploadId, out var t) ? t : (totalLength, Array.Empty<byte>());
        if (offset + tail.Length != totalLength)
            throw new InvalidOperationException($"The upload of '{key}' ends at {offset + tail.Length}, not at its total length {totalLength}.");
        await SendChunkAsync(uploadId, key, tail, offset, totalLength, cancellationToken).ConfigureAwait(false);
        _tails.TryRemove(uploadId, out _);
        _uncertainSessions.TryRemove(uploadId, out _);
    }

    /// <summary>
    /// Sends <paramref name="data"/> (object bytes from <paramref name="dataOffset"/>) to a resumable session, continuing
    /// from what the service reports persisted; with <paramref name="total"/> the request finalizes the object.
    /// </summary>
    private async Task SendChunkAsync(string uploadId, string key, ReadOnlyMemory<byte> data, long dataOffset, long? total, CancellationToken cancellationToken)
    {
        var session = new Uri(uploadId);
        var start = dataOffset;
        var end = dataOffset + data.Length; // exclusive
        if (_uncertainSessions.ContainsKey(uploadId))
        {
            // An earlier attempt broke off: ask how much the service persisted and continue from there.
            var (persisted, finalized) = await QueryPersistedAsync(session, key, cancellationToken).ConfigureAwait(false);
            if (finalized && total is not null) return;
            if (finalized || persisted < start || persisted > end)
                throw new StorageRequestException($"{DisplayLocation}: the resumable upload of '{key}' holds {persisted} bytes where {start} were expected.", isTransient: false);
            start = persisted;
            _uncertainSessions.TryRemove(uploadId, out _);
        }

        while (start < end)
        {
            using var request = new HttpRequestMessage(HttpMethod.Put, session) { Content = Body(data[(int)(start - dataOffset)..]) };
            request.Content.Headers.TryAddWithoutValidation("Content-Range",
                $"bytes {start}-{end - 1}/{(total is { } size ? size.ToString(CultureInfo.InvariantCulture) : "*")}");
            HttpResponseMessage response;
            try
            {
                response = await SendAsync(request, "upload a chunk of", key, cancellationToken).ConfigureAwait(false);
            }
            catch
            {
                _uncertainSessions[uploadId] = true;
                throw;
            }
            using (response)
            {
                if ((int)response.StatusCode == 308)
                {
                    // Resume Incomplete: Range says what is persisted; resend the rest (GCS may keep less than was sent).
                    var persisted = PersistedEnd(response);
                    if (persisted <= start)
                    {
                        _uncertainSessions[uploadId] = true;
                        throw new StorageRequestException($"{DisplayLocation}: the service persisted nothing of a chunk of '{key}'.", isTransient: true, 308);
                    }
                    start = Math.Min(persisted, end);
                    continue;
                }
                if (response.IsSuccessStatusCode)
                {
                    if (total is null)
                    {
                        throw new StorageRequestException(
                            $"{DisplayLocation}: the service finalized the resumable upload of '{key}' after a chunk that did not carry the total size " +
                            "(the firebase-tools storage emulator does this: it supports single-request resumable uploads only).",
                            isTransient: false, (int)response.StatusCode,
                            "Against an emulator use a part size larger than every object (the default for plain-http endpoints), or use Google Cloud Storage.");
                    }
                    return;
                }
                _uncertainSessions[uploadId] = true;
                await EnsureSuccessAsync(response, "upload a chunk of", key, cancellationToken).ConfigureAwait(false);
            }
        }
        // Every byte is persisted; with the total known, finalize with an empty request (also when there was no tail).
        if (total is { } length) await FinalizeAsync(session, key, length, cancellationToken).ConfigureAwait(false);
    }

    private async Task FinalizeAsync(Uri session, string key, long total, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Put, session) { Content = Body(ReadOnlyMemory<byte>.Empty) };
        request.Content.Headers.TryAddWithoutValidation("Content-Range", $"bytes */{total.ToString(CultureInfo.InvariantCulture)}");
        using var response = await SendAsync(request, "finish the upload of", key, cancellationToken).ConfigureAwait(false);
        if ((int)response.StatusCode == 308)
            throw new StorageRequestException($"{DisplayLocation}: the service did not finalize the upload of '{key}' ({PersistedEnd(response)} of {total} bytes persisted).", isTransient: false, 308);
        await EnsureSuccessAsync(response, "finish the upload of", key, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Asks a resumable session how many bytes it holds (a PUT with <c>Content-Range: bytes */*</c>).</summary>
    private async Task<(long Persisted, bool Finalized)> QueryPersistedAsync(Uri session, string key, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Put, session) { Content = Body(ReadOnlyMemory<byte>.Empty) };
        request.Content.Headers.TryAddWithoutValidation("Content-Range", "bytes */*");
        using var response = await SendAsync(request, "query the upload of", key, cancellationToken).ConfigureAwait(false);
        if ((int)response.StatusCode == 308) return (PersistedEnd(response), false);
        if (response.IsSuccessStatusCode) return (0, true);
        await EnsureSuccessAsync(response, "query the upload of", key, cancellationToken).ConfigureAwait(false);
        return (0, false);
    }

    /// <summary>The exclusive end of what a 308 response says is persisted (<c>Range: bytes=0-N</c>; none when absent).</summary>
    private static long PersistedEnd(HttpResponseMessage response)
    {
        if (!response.Headers.TryGetValues("Range", out var values)) return 0;
        var value = values.FirstOrDefault() ?? "";
        var dash = value.LastIndexOf('-');
        return dash >= 0 && long.TryParse(value.AsSpan(dash + 1), NumberStyles.None, CultureInfo.InvariantCulture, out var last) ? last + 1 : 0;
    }

    public async Task AbortMultipartAsync(string key, string uploadId, CancellationToken cancellationToken)
    {
        _uncertainSessions.TryRemove(uploadId, out _);
        _tails.TryRemove(uploadId, out _);
        using var request = new HttpRequestMessage(HttpMethod.Delete, new Uri(uploadId));
        using var response = await SendAsync(request, "cancel the upload of", key, cancellationToken).ConfigureAwait(false);
        var status = (int)response.StatusCode;
        // GCS answers a cancelled session with 499; a session that is gone (or unknown to an emulator) with 404/410.
        if (status is 499 or 404 or 410 || response.IsSuccessStatusCode) return;
        await EnsureSuccessAsync(response, "cancel the upload of", key, cancellationToken).ConfigureAwait(false);
    }

    public async Task<Stream> OpenReadAsync(string key, long offset, long? length, CancellationToken cancellationToken)
    {
        var request = new HttpRequestMessage(HttpMethod.Get, new Uri(_location.Endpoint, "download/storage/v1/" + BucketPath + "/o/" + Uri.EscapeDataString(ObjectName(key)) + "?alt=media"));
        if (offset > 0 || length is not null) request.Headers.Range = new RangeHeaderValue(offset, length is { } l ? offset + l - 1 : null);
        HttpResponseMessage? response = null;
        try
        {
            response = await SendAsync(request, "read", key, cancellationToken, HttpCompletionOption.ResponseHeadersRead).ConfigureAwait(false);
            if (response.StatusCode == HttpStatusCode.RequestedRangeNotSatisfiable)
            {
                response.Dispose();
                request.Dispose();
                return new MemoryStream([], writable: false); // reading at or past the end
            }
            await EnsureSuccessAsync(response, "read", key, cancellationToken).ConfigureAwait(false);
            if ((offset > 0 || length is not null) && response.StatusCode != HttpStatusCode.PartialContent)
                throw new StorageRequestException($"{DisplayLocation}: a ranged read of '{key}' returned the whole object (HTTP {(int)response.StatusCode}).", isTransient: false, (int)response.StatusCode);
            var stream = await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
            return new OwningReadStream(stream, response, request);
        }
        catch
        {
            response?.Dispose();
            request.Dispose();
            throw;
        }
    }

    public async Task<ObjectListPage> ListPageAsync(string prefix, string? continuationToken, CancellationToken cancellationToken)
    {
        var fullPrefix = _location.Prefix.Length == 0 ? prefix : _location.Prefix + "/" + prefix;
        var query = new StringBuilder("prefix=").Append(Uri.EscapeDataString(fullPrefix))
            .Append("&maxResults=").Append(Limits.ListPageSize.ToString(CultureInfo.InvariantCulture))
            .Append("&fields=").Append(Uri.EscapeDataString("items(name,size,updated),nextPageToken"));
        if (continuationToken is not null) query.Append("&pageToken=").Append(Uri.EscapeDataString(continuationToken));
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(_location.Endpoint, "storage/v1/" + BucketPath + "/o?" + query));
        using var response = await SendAsync(request, "list", prefix, cancellationToken).ConfigureAwait(false);
        await EnsureSuccessAsync(response, "list", prefix, cancellationToken, bucketLevel: true).ConfigureAwait(false);
        using var doc = JsonDocument.Parse(await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false));
        var items = new List<StorageItem>();
        if (doc.RootElement.TryGetProperty("items", out var array) && array.ValueKind == JsonValueKind.Array)
        {
            var strip = _location.Prefix.Length == 0 ? 0 : _location.Prefix.Length + 1;
            foreach (var item in array.EnumerateArray())
            {
                var name = item.GetProperty("name").GetString()!;
                if (name.Length <= strip || !name.StartsWith(fullPrefix, StringComparison.Ordinal)) continue;
                items.Add(ToItem(name[strip..], item));
            }
        }
        var next = doc.RootElement.TryGetProperty("nextPageToken", out var t) && t.ValueKind == JsonValueKind.String && t.GetString() is { Length: > 0 } s ? s : null;
        return new ObjectListPage(items, next);
    }

    public async Task<StorageItem?> StatAsync(string key, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, ObjectUri(key, "fields=" + Uri.EscapeDataString("name,size,updated")));
        using var response = await SendAsync(request, "stat", key, cancellationToken).ConfigureAwait(false);
        if (response.StatusCode == HttpStatusCode.NotFound)
        {
            var body = await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false);
            if (IsBucketMissing(body)) throw BucketNotFound();
            return null;
        }
        await EnsureSuccessAsync(response, "stat", key, cancellationToken).ConfigureAwait(false);
        using var doc = JsonDocument.Parse(await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false));
        return ToItem(key, doc.RootElement);
    }

    public async Task DeleteAsync(string key, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Delete, ObjectUri(key));
        using var response = await SendAsync(request, "delete", key, cancellationToken).ConfigureAwait(false);
        if (response.StatusCode == HttpStatusCode.NotFound) return;
        await EnsureSuccessAsync(response, "delete", key, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>No-op: an unfinished resumable session holds nothing visible and expires after a week on its own.</summary>
    public Task AbortIncompleteUploadsAsync(string prefix, CancellationToken cancellationToken) => Task.CompletedTask;

    private static StorageItem ToItem(string key, JsonElement item)
    {
        var size = item.TryGetProperty("size", out var s) ? s.ValueKind == JsonValueKind.Number ? s.GetInt64() : long.Parse(s.GetString() ?? "0", CultureInfo.InvariantCulture) : 0;
        var updated = item.TryGetProperty("updated", out var u) && u.ValueKind == JsonValueKind.String
            && DateTimeOffset.TryParse(u.GetString(), CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var when) ? when : DateTimeOffset.MinValue;
        return new StorageItem(key, size, updated);
    }

    private static ByteArrayContentOfMemory Body(ReadOnlyMemory<byte> content) => new(content);

    private async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, string operation, string key, CancellationToken cancellationToken,
        HttpCompletionOption completion = HttpCompletionOption.ResponseContentRead)
    {
        request.Headers.Authorization = await _credentials.GetHeaderAsync(cancellationToken).ConfigureAwait(false);
        request.Headers.UserAgent.ParseAdd("dbbackup-gcs/1.0");
        try
        {
            return await _http.SendAsync(request, completion, cancellationToken).ConfigureAwait(false);
        }
        catch (HttpRequestException e)
        {
            throw new StorageRequestException($"{DisplayLocation}: could not {operation} '{key}' ({e.HttpRequestError}).", isTransient: true, inner: e);
        }
    }

    private async Task EnsureSuccessAsync(HttpResponseMessage response, string operation, string key, CancellationToken cancellationToken, bool bucketLevel = false)
    {
        if (response.IsSuccessStatusCode) return;
        var status = (int)response.StatusCode;
        string body;
        try { body = await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false); }
        catch (HttpRequestException) { body = ""; }
        var detail = ErrorMessage(body);
        switch (status)
        {
            case 401:
                throw new DbBackupException(ErrorIds.StorageAuthenticationFailed, ErrorKind.AuthenticationError,
                    $"{DisplayLocation}: Google Cloud Storage rejected the credential from {_credentials.SourceName ?? "no source (anonymous request)"} (HTTP 401{detail}).",
                    "Check that the key or token is valid and not expired; see docs/storage/gcs.md for the credential sources.")
                { Target = DisplayLocation };
            case 403:
                throw new DbBackupException(ErrorIds.StorageAccessDenied, ErrorKind.PermissionDenied,
                    $"{DisplayLocation}: the credential from {_credentials.SourceName ?? "no source (anonymous request)"} may not {operation} '{key}' (HTTP 403{detail}).",
                    "Grant the account roles/storage.objectAdmin on the bucket (see docs/storage/gcs.md).")
                { Target = DisplayLocation };
            case 404 when bucketLevel || IsBucketMissing(body):
                throw BucketNotFound();
            case 404 when operation == "read":
                throw new BackupNotFoundException(ErrorIds.BackupNotFound, $"{DisplayLocation}: the object '{key}' does not exist.") { Target = DisplayLocation };
        }
        throw new StorageRequestException($"{DisplayLocation}: could not {operation} '{key}' (HTTP {status}{detail}).", StorageRequestException.IsTransientStatus(status), status);
    }

    private DbBackupException BucketNotFound() => new(ErrorIds.StorageContainerNotFound, ErrorKind.ObjectNotFound,
        $"{DisplayLocation}: the bucket '{_location.Bucket}' does not exist.", "Create the bucket (gcloud storage buckets create gs://NAME) or fix the location.")
    { Target = DisplayLocation };

    private static bool IsBucketMissing(string body) => body.Contains("bucket does not exist", StringComparison.OrdinalIgnoreCase);

    private static string ErrorMessage(string body)
    {
        if (body.Length == 0) return "";
        try
        {
            using var doc = JsonDocument.Parse(body);
            if (doc.RootElement.ValueKind == JsonValueKind.Object && doc.RootElement.TryGetProperty("error", out var e) && e.ValueKind == JsonValueKind.Object
                && e.TryGetProperty("message", out var m) && m.GetString() is { Length: > 0 } message)
                return ": " + (message.Length > 300 ? message[..300] : message);
        }
        catch (JsonException)
        {
            // not JSON: an HTML error page or plain text; the status says enough
        }
        return "";
    }

    /// <summary>Request body over a buffer the caller keeps alive until the request completes (no copy).</summary>
    private sealed class ByteArrayContentOfMemory : HttpContent
    {
        private readonly ReadOnlyMemory<byte> _content;

        public ByteArrayContentOfMemory(ReadOnlyMemory<byte> content)
        {
            _content = content;
            Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
        }

        protected override Task SerializeToStreamAsync(Stream stream, TransportContext? context) => stream.WriteAsync(_content).AsTask();

        protected override Task SerializeToStreamAsync(Stream stream, TransportContext? context, CancellationToken cancellationToken) => stream.WriteAsync(_content, cancellationToken).AsTask();

        protected override bool TryComputeLength(out long length)
        {
            length = _content.Length;
            return true;
        }
    }
}
