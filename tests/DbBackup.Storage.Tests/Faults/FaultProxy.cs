using System.Net;
using System.Net.Sockets;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Logging;

namespace DbBackup.Storage.Tests.Faults;

/// <summary>What the proxy does to a request a rule matched.</summary>
public enum FaultKind
{
    /// <summary>Answers with <see cref="FaultRule.Status"/> without forwarding.</summary>
    Status,
    /// <summary>Reads <see cref="FaultRule.AfterBytes"/> bytes of the request body, then resets the connection; nothing is forwarded.</summary>
    ResetDuringRequestBody,
    /// <summary>Forwards, sends the response headers and <see cref="FaultRule.AfterBytes"/> body bytes, then resets the connection.</summary>
    ResetDuringResponseBody,
    /// <summary>Reads the request, then answers nothing until the client gives up (or <see cref="FaultRule.StallLimit"/> passes).</summary>
    Stall,
    /// <summary>Resets the connection and closes the listener: further connections are refused until <see cref="FaultProxy.RestartAsync"/>.</summary>
    ServerGone,
}

/// <summary>One request as the proxy saw it.</summary>
public sealed class ProxiedRequest
{
    public required int Sequence { get; init; }
    public required string Method { get; init; }
    public required string PathAndQuery { get; init; }
    /// <summary>The request body length (Content-Length, or the bytes read for a chunked body).</summary>
    public long? ContentLength { get; internal set; }
    /// <summary>The upstream response's Content-Length (known only when it was forwarded).</summary>
    public long? ResponseLength { get; internal set; }
    /// <summary>The status sent to the client (null when the connection was reset or the client gave up).</summary>
    public int? Status { get; internal set; }
    /// <summary>The fault applied, or null when the request was forwarded untouched.</summary>
    public FaultKind? Fault { get; internal set; }

    public bool HasBody => ContentLength > 0;

    public override string ToString() => $"#{Sequence} {Method} {PathAndQuery} ({ContentLength} bytes) -> {(Fault is { } f ? f.ToString() : Status?.ToString() ?? "?")}";
}

/// <summary>
/// A programmable fault: applied to matching requests number <see cref="Skip"/>+1 .. <see cref="Skip"/>+<see cref="Times"/>
/// (1-based among the requests <see cref="Match"/> accepts), the others pass.
/// </summary>
public sealed class FaultRule
{
    public required Func<ProxiedRequest, bool> Match { get; init; }
    public required FaultKind Kind { get; init; }
    public int Status { get; init; } = 503;
    /// <summary>Bytes of the request (or response) body that get through before a reset.</summary>
    public long AfterBytes { get; init; } = 1000;
    /// <summary>Matching requests let through before the fault applies ("fail the Nth" = Skip N-1).</summary>
    public int Skip { get; init; }
    public int Times { get; init; } = 1;
    public TimeSpan StallLimit { get; init; } = TimeSpan.FromSeconds(60);
    /// <summary>Called (on the proxy's thread) when the fault is applied, e.g. to cancel the client.</summary>
    public Action<ProxiedRequest>? OnFault { get; init; }

    private int _matched;
    private int _fired;

    public int Fired => Volatile.Read(ref _fired);

    internal bool TryFire(ProxiedRequest request)
    {
        if (!Match(request)) return false;
        lock (this)
        {
            var n = ++_matched;
            if (n <= Skip || n > (long)Skip + Times) return false;
            _fired++;
            return true;
        }
    }
}

/// <summary>
/// A reverse proxy on 127.0.0.1 in front of a storage emulator that injects faults by rule: error statuses, connections
/// reset in the middle of a request or response body, stalls past the client's timeout, and the server going away
/// (listener closed, connections refused). Request bodies are read whole before anything is forwarded, so a faulted
/// request never reaches the emulator half-sent. Every request is recorded, so tests can prove retries happened.
/// </summary>
public sealed class FaultProxy : IAsyncDisposable
{
    private static readonly HashSet<string> HopByHop = new(StringComparer.OrdinalIgnoreCase)
    {
        "Connection", "Keep-Alive", "Transfer-Encoding", "Upgrade", "Proxy-Connection", "Proxy-Authenticate", "Proxy-Authorization", "TE", "Trailer", "Host",
    };

    private readonly Uri _upstream;
    private readonly HttpClient _http;
    private readonly List<FaultRule> _rules = [];
    private readonly List<ProxiedRequest> _requests = [];
    private readonly SemaphoreSlim _lifecycle = new(1, 1);
    private WebApplication? _app;
    private Task _gone = Task.CompletedTask;
    private volatile bool _refusing; // set by a ServerGone fault at once, before the listener has finished closing
    private int _sequence;
    private int _port;

    private FaultProxy(Uri upstream)
    {
        _upstream = upstream;
        _http = new HttpClient(new SocketsHttpHandler
        {
            AllowAutoRedirect = false,
            UseCookies = false,
            UseProxy = false,
            AutomaticDecompression = DecompressionMethods.None,
        }) { Timeout = Timeout.InfiniteTimeSpan };
    }

    /// <summary>Where clients send requests: http://127.0.0.1:port.</summary>
    public Uri Endpoint => new($"http://127.0.0.1:{_port}");

    public static async Task<FaultProxy> StartAsync(Uri upstream)
    {
        var proxy = new FaultProxy(upstream);
        await proxy.ListenAsync(0).ConfigureAwait(false);
        return proxy;
    }

    public FaultRule Add(FaultRule rule)
    {
        lock (_rules) _rules.Add(rule);
        return rule;
    }

    /// <summary>Removes every rule: later requests pass untouched.</summary>
    public void ClearRules()
    {
        lock (_rules) _rules.Clear();
    }

    public IReadOnlyList<ProxiedRequest> Requests
    {
        get { lock (_requests) return [.. _requests]; }
    }

    public bool IsListening => _app is not null;

    /// <summary>A request that carries object data: a PUT or POST whose body is at least <paramref name="minBytes"/> long (parts, whole-object puts).</summary>
    public static bool IsDataUpload(ProxiedRequest r, long minBytes) => r.Method is "PUT" or "POST" && r.ContentLength >= minBytes;

    /// <summary>Closes the listener and every open connection: new connections are refused.</summary>
    public async Task StopListeningAsync()
    {
        await _lifecycle.WaitAsync().ConfigureAwait(false);
        try
        {
            if (_app is null) return;
            var app = _app;
            _app = null;
            using (var grace = new CancellationTokenSource(TimeSpan.FromMilliseconds(200)))
                await app.StopAsync(grace.Token).ConfigureAwait(false);
            await app.DisposeAsync().ConfigureAwait(false);
        }
        finally
        {
            _lifecycle.Release();
        }
    }

    /// <summary>Completes when a <see cref="FaultKind.ServerGone"/> fault has closed the listener.</summary>
    public Task WaitUntilGoneAsync()
    {
        lock (_rules) return _gone;
    }

    /// <summary>Listens again on the same port ("the server is back").</summary>
    public async Task RestartAsync()
    {
        for (var attempt = 0; ; attempt++)
        {
            try
            {
                await ListenAsync(_port).ConfigureAwait(false);
                return;
            }
            catch (IOException) when (attempt < 50)
            {
                await Task.Delay(100).ConfigureAwait(false); // the port is still being released
            }
        }
    }

    private async Task ListenAsync(int port)
    {
        await _lifecycle.WaitAsync().ConfigureAwait(false);
        try
        {
            if (_app is not null) return;
            _refusing = false;
            var app = await LocalHttpServer.StartAsync(HandleAsync, port).ConfigureAwait(false);
            var address = app.Services.GetService(typeof(Microsoft.AspNetCore.Hosting.Server.IServer)) is Microsoft.AspNetCore.Hosting.Server.IServer server
                ? server.Features.Get<Microsoft.AspNetCore.Hosting.Server.Features.IServerAddressesFeature>()!.Addresses.First()
                : throw new InvalidOperationException("Kestrel did not start.");
            _port = new Uri(address).Port;
            _app = app;
        }
        finally
        {
            _lifecycle.Release();
        }
    }

    private FaultRule? FirstFiring(ProxiedRequest request, bool responsePhase)
    {
        lock (_rules)
        {
            foreach (var rule in _rules)
            {
                if ((rule.Kind == FaultKind.ResetDuringResponseBody) != responsePhase) continue;
                if (rule.TryFire(request)) return rule;
            }
        }
        return null;
    }

    private async Task HandleAsync(HttpContext context)
    {
        context.Features.Get<IHttpMaxRequestBodySizeFeature>()!.MaxRequestBodySize = null;
        var request = new ProxiedRequest
        {
            Sequence = Interlocked.Increment(ref _sequence),
            Method = context.Request.Method,
            PathAndQuery = context.Request.Path.ToUriComponent() + context.Request.QueryString.ToUriComponent(),
            ContentLength = context.Request.ContentLength,
        };
        lock (_requests) _requests.Add(request);
        var aborted = context.RequestAborted;
        if (_refusing)
        {
            // The server is gone, but Kestrel takes a moment to stop listening: a request that gets in meanwhile (a
            // quick retry) is dropped like a refused connection instead of reaching the upstream.
            request.Fault = FaultKind.ServerGone;
            context.Abort();
            return;
        }
        var rule = FirstFiring(request, responsePhase: false);
        if (rule is not null)
        {
            request.Fault = rule.Kind;
            rule.OnFault?.Invoke(request);
        }

        if (rule?.Kind == FaultKind.ResetDuringRequestBody)
        {
            await ReadAtMostAsync(context.Request.Body, rule.AfterBytes, aborted).ConfigureAwait(false);
            context.Abort();
            return;
        }

        byte[] body;
        try
        {
            using var buffer = new MemoryStream();
            await context.Request.Body.CopyToAsync(buffer, aborted).ConfigureAwait(false);
            body = buffer.ToArray();
        }
        catch (Exception e) when (e is IOException or OperationCanceledException or BadHttpRequestException)
        {
            return; // the client went away while sending
        }
        request.ContentLength ??= body.Length;

        switch (rule?.Kind)
        {
            case FaultKind.Status:
                request.Status = rule.Status;
                context.Response.StatusCode = rule.Status;
                context.Response.ContentType = "application/xml";
                await context.Response.WriteAsync($"<?xml version=\"1.0\" encoding=\"utf-8\"?><Error><Code>ServerBusy</Code><Message>Injected by the fault proxy.</Message></Error>", CancellationToken.None).ConfigureAwait(false);
                return;
            case FaultKind.Stall:
                try { await Task.Delay(rule.StallLimit, aborted).ConfigureAwait(false); }
                catch (OperationCanceledException) { return; } // the client gave up: what the stall was for
                context.Abort();
                return;
            case FaultKind.ServerGone:
                _refusing = true;
                context.Abort();
                lock (_rules) _gone = Task.Run(StopListeningAsync);
                return;
        }

        using var upstream = new HttpRequestMessage(new HttpMethod(request.Method), new Uri(_upstream, request.PathAndQuery));
        if (body.Length > 0 || context.Request.ContentLength is not null) upstream.Content = new ByteArrayContent(body);
        foreach (var (name, values) in context.Request.Headers)
        {
            if (HopByHop.Contains(name)) continue;
            if (!upstream.Headers.TryAddWithoutValidation(name, (IEnumerable<string?>)values))
                upstream.Content?.Headers.TryAddWithoutValidation(name, (IEnumerable<string?>)values);
        }
        upstream.Headers.Host = context.Request.Host.Value; // signatures cover the host the client addressed

        HttpResponseMessage response;
        try
        {
            response = await _http.SendAsync(upstream, HttpCompletionOption.ResponseHeadersRead, aborted).ConfigureAwait(false);
        }
        catch (Exception e) when (e is HttpRequestException or OperationCanceledException)
        {
            if (aborted.IsCancellationRequested) return;
            request.Status = 502;
            context.Response.StatusCode = 502;
            return;
        }
        using (response)
        {
            request.ResponseLength = response.Content.Headers.ContentLength;
            var responseRule = FirstFiring(request, responsePhase: true);
            if (responseRule is not null && !(request.ResponseLength > responseRule.AfterBytes)) responseRule = null; // too short to break in the middle
            context.Response.StatusCode = (int)response.StatusCode;
            foreach (var (name, values) in response.Headers.Concat(response.Content.Headers))
            {
                if (HopByHop.Contains(name)) continue;
                context.Response.Headers[name] = values.ToArray();
            }
            await using var content = await response.Content.ReadAsStreamAsync(aborted).ConfigureAwait(false);
            if (responseRule is not null)
            {
                request.Fault = FaultKind.ResetDuringResponseBody;
                responseRule.OnFault?.Invoke(request);
                var sent = 0L;
                var chunk = new byte[8192];
                while (sent < responseRule.AfterBytes)
                {
                    var n = await content.ReadAsync(chunk.AsMemory(0, (int)Math.Min(chunk.Length, responseRule.AfterBytes - sent)), aborted).ConfigureAwait(false);
                    if (n == 0) break;
                    await context.Response.Body.WriteAsync(chunk.AsMemory(0, n), aborted).ConfigureAwait(false);
                    sent += n;
                }
                await context.Response.Body.FlushAsync(aborted).ConfigureAwait(false);
                context.Abort();
                return;
            }
            request.Status = (int)response.StatusCode;
            try
            {
                await content.CopyToAsync(context.Response.Body, aborted).ConfigureAwait(false);
            }
            catch (Exception e) when (e is IOException or OperationCanceledException)
            {
                context.Abort(); // the client or the emulator went away mid-body
            }
        }
    }

    private static async Task ReadAtMostAsync(Stream body, long limit, CancellationToken cancellationToken)
    {
        var buffer = new byte[8192];
        var read = 0L;
        try
        {
            while (read < limit)
            {
                var n = await body.ReadAsync(buffer.AsMemory(0, (int)Math.Min(buffer.Length, limit - read)), cancellationToken).ConfigureAwait(false);
                if (n == 0) break;
                read += n;
            }
        }
        catch (Exception e) when (e is IOException or OperationCanceledException or BadHttpRequestException)
        {
            // the client went away first
        }
    }

    public async ValueTask DisposeAsync()
    {
        await StopListeningAsync().ConfigureAwait(false);
        _http.Dispose();
        _lifecycle.Dispose();
    }

    /// <summary>Throws unless the connection to <paramref name="endpoint"/> is refused (used to prove "server gone").</summary>
    public static async Task<bool> RefusesConnectionsAsync(Uri endpoint)
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            await socket.ConnectAsync(IPAddress.Loopback, endpoint.Port).ConfigureAwait(false);
            return false;
        }
        catch (SocketException e) when (e.SocketErrorCode == SocketError.ConnectionRefused)
        {
            return true;
        }
    }
}
