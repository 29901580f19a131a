using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace DbBackup.Storage.Tests;

/// <summary>
/// The Kestrel host under every HTTP double, fake and proxy of these tests: 127.0.0.1 only, silent, no request-body
/// size or data-rate limits (doubles take whole parts; the fault proxy stalls on purpose).
/// </summary>
internal static class LocalHttpServer
{
    /// <summary>Starts answering every request with <paramref name="handler"/> on <paramref name="port"/> (0: a free port); the address is in <c>app.Urls</c>.</summary>
    public static async Task<WebApplication> StartAsync(RequestDelegate handler, int port = 0)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k =>
        {
            k.Listen(IPAddress.Loopback, port);
            k.Limits.MaxRequestBodySize = null;
            k.Limits.MinRequestBodyDataRate = null;
            k.Limits.MinResponseDataRate = null;
        });
        var app = builder.Build();
        app.Run(handler);
        await app.StartAsync().ConfigureAwait(false);
        return app;
    }
}
