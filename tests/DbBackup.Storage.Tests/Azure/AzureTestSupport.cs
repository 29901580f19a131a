using System.Globalization;
using System.Net.Security;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json;
using DbBackup.Engine.Storage;
using DbBackup.TestSupport;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace DbBackup.Storage.Tests.Azure;

internal static class AzureTestSupport
{
    /// <summary>An account SAS (signed version 2021-12-02) for the blob service, made with the account key as the portal or az CLI would.</summary>
    public static string AccountSas(string account, string key, string permissions, DateTimeOffset expiry, string resourceTypes = "sco")
    {
        const string version = "2021-12-02";
        var se = expiry.UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture);
        var stringToSign = string.Join("\n", account, permissions, "b", resourceTypes, "", se, "", "", version, "", "");
        var sig = Convert.ToBase64String(HMACSHA256.HashData(Convert.FromBase64String(key), Encoding.UTF8.GetBytes(stringToSign)));
        return $"sv={version}&ss=b&srt={resourceTypes}&sp={permissions}&se={Uri.EscapeDataString(se)}&sig={Uri.EscapeDataString(sig)}";
    }

    /// <summary>A structurally valid, unsigned JWT as Entra would issue for Azure Storage (Azurite's "oauth basic" checks structure, issuer, audience and lifetime only).</summary>
    public static string Jwt(string audience = "https://storage.azure.com", string tenant = "72f988bf-86f1-41af-91ab-2d7cd011db47", TimeSpan? lifetime = null)
    {
        static string B64(string s) => Convert.ToBase64String(Encoding.UTF8.GetBytes(s)).TrimEnd('=').Replace('+', '-').Replace('/', '_');
        var now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        var exp = now + (long)(lifetime ?? TimeSpan.FromHours(1)).TotalSeconds;
        var payload = JsonSerializer.Serialize(new Dictionary<string, object>
        {
            ["aud"] = audience, ["iss"] = $"https://sts.windows.net/{tenant}/", ["iat"] = now - 60, ["nbf"] = now - 60, ["exp"] = exp,
            ["oid"] = Guid.NewGuid().ToString(), ["tid"] = tenant, ["ver"] = "1.0",
        });
        return B64("{\"alg\":\"RS256\",\"typ\":\"JWT\"}") + "." + B64(payload) + "." + B64("double-signature");
    }

    /// <summary>The HTTPS Azurite (oauth basic) endpoint and a handler that trusts exactly the test CA made by start-azurite.sh.</summary>
    public static (Uri AccountEndpoint, HttpMessageHandler Handler) OAuthAzurite()
    {
        var endpoint = new Uri(TestServers.Require("DBBACKUP_TEST_AZURE_OAUTH_ENDPOINT"));
        var ca = X509Certificate2.CreateFromPem(File.ReadAllText(TestServers.Require("DBBACKUP_TEST_AZURE_CA_CERT")));
        var handler = new SocketsHttpHandler
        {
            SslOptions = new SslClientAuthenticationOptions
            {
                RemoteCertificateValidationCallback = (_, cert, _, errors) =>
                {
                    if (cert is null) return false;
                    if (errors == SslPolicyErrors.None) return true;
                    if ((errors & ~SslPolicyErrors.RemoteCertificateChainErrors) != SslPolicyErrors.None) return false;
                    using var chain = new X509Chain();
                    chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
                    chain.ChainPolicy.CustomTrustStore.Add(ca);
                    chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
                    return chain.Build(new X509Certificate2(cert));
                },
            },
        };
        return (endpoint, handler);
    }

    public static Func<string, string?> Env(params (string Name, string Value)[] variables)
    {
        var map = variables.ToDictionary(v => v.Name, v => v.Value);
        return name => map.GetValueOrDefault(name);
    }

    /// <summary>Writes, reads back, lists and deletes one object: every request kind under the storage's credential.</summary>
    public static async Task RoundTripAsync(IBackupStorage storage)
    {
        var data = RandomNumberGenerator.GetBytes(70_000);
        await using (var writer = await storage.OpenWriteAsync("cred/obj", CancellationToken.None))
        {
            await writer.Stream.WriteAsync(data);
            await writer.CommitAsync(CancellationToken.None);
        }
        await using (var read = await storage.OpenReadAsync("cred/obj", 0, null, CancellationToken.None))
        {
            using var copy = new MemoryStream();
            await read.CopyToAsync(copy);
            if (!copy.ToArray().AsSpan().SequenceEqual(data)) throw new InvalidOperationException("read back different bytes");
        }
        var listed = new List<StorageItem>();
        await foreach (var item in storage.ListAsync("cred/", CancellationToken.None)) listed.Add(item);
        if (listed.Count != 1 || listed[0].Key != "cred/obj") throw new InvalidOperationException($"listed {listed.Count} objects");
        await storage.DeleteAsync("cred/obj", CancellationToken.None);
        if (await storage.StatAsync("cred/obj", CancellationToken.None) is not null) throw new InvalidOperationException("delete left the object");
    }
}

/// <summary>
/// A local HTTP DOUBLE of a token service (Entra token endpoint, the Automation/App Service identity endpoint, IMDS), on
/// 127.0.0.1, answering with <see cref="Handler"/>. It records every request so tests can check the documented protocol.
/// </summary>
internal sealed class TokenServiceDouble : IAsyncDisposable
{
    private readonly WebApplication _app;

    public sealed record Seen(string Method, string Path, Dictionary<string, string> Query, Dictionary<string, string> Headers, Dictionary<string, string> Form);

    public TokenServiceDouble(Func<Seen, (int Status, object Body)> handler)
    {
        _app = LocalHttpServer.StartAsync(async context =>
        {
            var form = new Dictionary<string, string>();
            if (context.Request.HasFormContentType)
                foreach (var kv in await context.Request.ReadFormAsync()) form[kv.Key] = kv.Value.ToString();
            var seen = new Seen(context.Request.Method, context.Request.Path.Value ?? "",
                context.Request.Query.ToDictionary(q => q.Key, q => q.Value.ToString()),
                context.Request.Headers.ToDictionary(h => h.Key, h => h.Value.ToString(), StringComparer.OrdinalIgnoreCase), form);
            lock (Requests) Requests.Add(seen);
            var (status, body) = handler(seen);
            context.Response.StatusCode = status;
            context.Response.ContentType = "application/json";
            await context.Response.WriteAsync(body as string ?? JsonSerializer.Serialize(body));
        }).GetAwaiter().GetResult();
        Address = new Uri(_app.Urls.First());
    }

    public Uri Address { get; }

    public List<Seen> Requests { get; } = [];

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
