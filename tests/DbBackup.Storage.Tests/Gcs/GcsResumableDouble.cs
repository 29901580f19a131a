using System.Collections.Concurrent;
using System.Globalization;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace DbBackup.Storage.Tests.Gcs;

/// <summary>
/// TEST DOUBLE of the Google Cloud Storage JSON API on 127.0.0.1, for the protocol paths the firebase-tools emulator
/// lacks: multi-chunk resumable uploads as documented (https://cloud.google.com/storage/docs/performing-resumable-uploads):
/// chunks of <c>bytes a-b/*</c> answered with 308 and <c>Range: bytes=0-N</c>, the final chunk (or an empty
/// <c>bytes */total</c> request) finalizing, <c>bytes */*</c> status queries, DELETE of the session answered with 499.
/// Like GCS, a non-final chunk keeps only whole 256 KiB units. Also media upload, ranged alt=media download, object
/// metadata, list and delete, so ObjectStoreStorage round-trips through it. Every request is recorded.
/// </summary>
public sealed class GcsResumableDouble : IAsyncDisposable
{
    private const int Granularity = 256 * 1024;
    private readonly WebApplication _app;
    private readonly ConcurrentDictionary<string, Session> _sessions = new();
    private int _nextSession;

    public ConcurrentDictionary<string, byte[]> Objects { get; } = new(StringComparer.Ordinal);

    /// <summary>Method, path, Content-Range and Authorization of every request, in arrival order.</summary>
    public ConcurrentQueue<(string Method, string Path, string? ContentRange, string? Authorization)> Requests { get; } = new();

    /// <summary>Status to answer requests with instead of serving them (e.g. 401, 403, 404 with a bucket message), while set.</summary>
    public Func<HttpRequest, (int Status, string Body)?>? Intercept { get; set; }

    /// <summary>When set, the next non-final chunk persists this many fewer whole 256 KiB units than it carried (GCS may do that).</summary>
    public int ShortPersistUnits { get; set; }

    /// <summary>When > 0, that many chunk PUTs persist their data and then answer 503 (the client must ask what was kept).</summary>
    public int FailChunksAfterPersisting { get; set; }

    public int AbortedSessions { get; private set; }

    public Uri Endpoint { get; }

    private sealed class Session(string name)
    {
        public string Name { get; } = name;
        public MemoryStream Data { get; } = new();
        public bool Finalized { get; set; }
    }

    private GcsResumableDouble(WebApplication app)
    {
        _app = app;
        Endpoint = new Uri(app.Urls.First() + "/");
    }

    public static async Task<GcsResumableDouble> StartAsync()
    {
        GcsResumableDouble? self = null;
        var app = await LocalHttpServer.StartAsync(context => self!.HandleAsync(context));
        self = new GcsResumableDouble(app);
        return self;
    }

    private async Task HandleAsync(HttpContext context)
    {
        var request = context.Request;
        // The raw target: Kestrel's decoded Path would decode "%2520" once already.
        var raw = context.Features.Get<Microsoft.AspNetCore.Http.Features.IHttpRequestFeature>()!.RawTarget;
        var path = raw.Split('?')[0];
        Requests.Enqueue((request.Method, path + request.QueryString, request.Headers.ContentRange.FirstOrDefault(), request.Headers.Authorization.FirstOrDefault()));
        var body = new MemoryStream();
        await request.Body.CopyToAsync(body);
        if (Intercept?.Invoke(request) is { } answer)
        {
            await Answer(context, answer.Status, answer.Body);
            return;
        }
        var response = context.Response;
        if (path.StartsWith("/upload/storage/v1/b/", StringComparison.Ordinal) && request.Method == "POST")
        {
            var name = request.Query["name"].ToString();
            if (request.Query["uploadType"] == "media")
            {
                Store(name, body.ToArray());
                await Json(context, Metadata(name));
                return;
            }
            var id = Interlocked.Increment(ref _nextSession).ToString(CultureInfo.InvariantCulture);
            _sessions[id] = new Session(name);
            // Like the real service, the session URI names the host the client addressed (a proxy in front keeps the Host header).
            response.Headers.Location = $"http://{request.Host}/upload/storage/v1/b/bucket/o?uploadType=resumable&upload_id={id}";
            return;
        }
        if (path.StartsWith("/upload/storage/v1/b/", StringComparison.Ordinal) && request.Query["upload_id"].ToString() is { Length: > 0 } sessionId)
        {
            if (!_sessions.TryGetValue(sessionId, out var session))
            {
                response.StatusCode = 404;
                return;
            }
            if (request.Method == "DELETE")
            {
                _sessions.TryRemove(sessionId, out _);
                AbortedSessions++;
                response.StatusCode = 499;
                return;
            }
            await PutChunkAsync(context, session, body.ToArray());
            return;
        }
        var objectPath = path.StartsWith("/download/", StringComparison.Ordinal) ? path["/download".Length..] : path;
        const string objectsOf = "/storage/v1/b/";
        if (objectPath.StartsWith(objectsOf, StringComparison.Ordinal))
        {
            var rest = objectPath[objectsOf.Length..];
            var slash = rest.IndexOf("/o", StringComparison.Ordinal);
            var objectName = rest.Length > slash + 2 ? Uri.UnescapeDataString(rest[(slash + 3)..]) : null;
            if (objectName is null && request.Method == "GET")
            {
                var prefix = request.Query["prefix"].ToString();
                var max = int.Parse(request.Query["maxResults"].FirstOrDefault() ?? "1000", CultureInfo.InvariantCulture);
                var after = request.Query["pageToken"].FirstOrDefault();
                var names = Objects.Keys.Where(k => k.StartsWith(prefix, StringComparison.Ordinal) && (after is null || string.CompareOrdinal(k, after) > 0)).Order(StringComparer.Ordinal).ToList();
                var page = names.Take(max).ToList();
                await Json(context, new Dictionary<string, object?> { ["items"] = page.Select(Metadata).ToList(), ["nextPageToken"] = names.Count > max ? page[^1] : null });
                return;
            }
            byte[]? data = null;
            if (objectName is not null && !Objects.TryGetValue(objectName, out data))
            {
                await Answer(context, 404, "{\"error\":{\"code\":404,\"message\":\"No such object: bucket/" + objectName + "\"}}");
                return;
            }
            if (objectName is not null && request.Method == "DELETE")
            {
                Objects.TryRemove(objectName, out _);
                response.StatusCode = 204;
                return;
            }
            else if (objectName is not null && request.Query["alt"] == "media")
            {
                var (from, to) = (0L, data!.Length - 1L);
                if (request.Headers.Range.FirstOrDefault() is { } range)
                {
                    var parts = range["bytes=".Length..].Split('-');
                    from = long.Parse(parts[0], CultureInfo.InvariantCulture);
                    if (parts[1].Length > 0) to = Math.Min(to, long.Parse(parts[1], CultureInfo.InvariantCulture));
                    if (from >= data.Length) { response.StatusCode = 416; return; }
                    response.StatusCode = 206;
                }
                response.ContentLength = to - from + 1;
                await response.Body.WriteAsync(data.AsMemory((int)from, (int)(to - from + 1)));
                return;
            }
            else if (objectName is not null)
            {
                await Json(context, Metadata(objectName));
                return;
            }
        }
        response.StatusCode = 400;
    }

    private async Task PutChunkAsync(HttpContext context, Session session, byte[] body)
    {
        var response = context.Response;
        var range = context.Request.Headers.ContentRange.FirstOrDefault() ?? "";
        // "bytes a-b/total", "bytes a-b/*", "bytes */total" or "bytes */*"
        var spec = range.StartsWith("bytes ", StringComparison.Ordinal) ? range[6..] : throw new InvalidOperationException("Content-Range missing: " + range);
        var slash = spec.IndexOf('/');
        var (span, totalText) = (spec[..slash], spec[(slash + 1)..]);
        long? total = totalText == "*" ? null : long.Parse(totalText, CultureInfo.InvariantCulture);
        if (session.Finalized)
        {
            await Json(context, Metadata(session.Name));
            return;
        }
        if (span != "*")
        {
            var dash = span.IndexOf('-');
            var start = long.Parse(span[..dash], CultureInfo.InvariantCulture);
            var end = long.Parse(span[(dash + 1)..], CultureInfo.InvariantCulture) + 1;
            if (end - start != body.Length) { response.StatusCode = 400; return; }
            if (start > session.Data.Length) { response.StatusCode = 400; return; } // a gap: GCS refuses
            var keep = body.AsMemory((int)(session.Data.Length - start)); // bytes already persisted are skipped
            if (total is null)
            {
                var units = keep.Length / Granularity; // only whole units of a non-final chunk are kept
                if (ShortPersistUnits > 0 && units > ShortPersistUnits) { units -= ShortPersistUnits; ShortPersistUnits = 0; }
                keep = keep[..(units * Granularity)];
            }
            session.Data.Position = session.Data.Length;
            session.Data.Write(keep.Span);
            if (FailChunksAfterPersisting > 0)
            {
                FailChunksAfterPersisting--;
                response.StatusCode = 503;
                return;
            }
        }
        if (total is { } t && session.Data.Length == t)
        {
            session.Finalized = true;
            Store(session.Name, session.Data.ToArray());
            await Json(context, Metadata(session.Name));
            return;
        }
        if (total is { } t2 && session.Data.Length != t2 && span == "*") { response.StatusCode = 400; return; }
        response.StatusCode = 308;
        if (session.Data.Length > 0) response.Headers["Range"] = $"bytes=0-{session.Data.Length - 1}";
    }

    private readonly ConcurrentDictionary<string, DateTimeOffset> _updated = new(StringComparer.Ordinal);

    private void Store(string name, byte[] data)
    {
        _updated[name] = DateTimeOffset.UtcNow;
        Objects[name] = data;
    }

    private Dictionary<string, object?> Metadata(string name) => new()
    {
        ["name"] = name,
        ["size"] = (Objects.TryGetValue(name, out var d) ? d.Length : 0).ToString(CultureInfo.InvariantCulture),
        ["updated"] = _updated.GetValueOrDefault(name, DateTimeOffset.UnixEpoch).ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture),
    };

    private static Task Json(HttpContext context, object value)
    {
        context.Response.ContentType = "application/json";
        return context.Response.WriteAsync(JsonSerializer.Serialize(value));
    }

    private static Task Answer(HttpContext context, int status, string body)
    {
        context.Response.StatusCode = status;
        context.Response.ContentType = "application/json";
        return context.Response.WriteAsync(body);
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
