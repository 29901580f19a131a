using System.Collections.Concurrent;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Logging;

namespace DbBackup.Storage.Tests.S3;

/// <summary>
/// A small Kestrel server on 127.0.0.1 that plays one side of a documented AWS protocol (S3 error responses,
/// ListMultipartUploads, the ECS container-credentials endpoint, EC2 IMDSv2) for paths the emulator does not have.
/// A test double: tests that use it say so in their names. Records every request it saw.
/// </summary>
public sealed class S3HttpDouble : IAsyncDisposable
{
    private readonly WebApplication _app;

    public sealed record Seen(string Method, string PathAndQuery, IReadOnlyDictionary<string, string> Headers);

    private S3HttpDouble(WebApplication app) => _app = app;

    public ConcurrentQueue<Seen> Requests { get; } = new();

    public Uri Endpoint { get; private set; } = null!;

    public static async Task<S3HttpDouble> StartAsync(Func<HttpContext, Task> handler)
    {
        S3HttpDouble? double_ = null;
        var app = await LocalHttpServer.StartAsync(async context =>
        {
            var headers = context.Request.Headers.ToDictionary(h => h.Key, h => h.Value.ToString(), StringComparer.OrdinalIgnoreCase);
            double_!.Requests.Enqueue(new Seen(context.Request.Method, context.Request.Path + context.Request.QueryString, headers));
            // Drain the body so the client sees the response rather than a reset.
            await context.Request.Body.CopyToAsync(Stream.Null);
            await handler(context);
        });
        double_ = new S3HttpDouble(app) { Endpoint = new Uri(app.Urls.First()) };
        return double_;
    }

    /// <summary>Writes an S3 XML error document with the given status and code.</summary>
    public static Task WriteErrorAsync(HttpContext context, int status, string code, string message = "error from the S3 error double")
    {
        context.Response.StatusCode = status;
        if (HttpMethods.IsHead(context.Request.Method)) return Task.CompletedTask;
        context.Response.ContentType = "application/xml";
        return context.Response.WriteAsync($"<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>{code}</Code><Message>{message}</Message><RequestId>R1</RequestId><HostId>H1</HostId></Error>");
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
