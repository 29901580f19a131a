using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace DbBackup.Storage.Tests.Gcs;

/// <summary>
/// TEST DOUBLE of Google's token services on 127.0.0.1 (the real ones cannot run here):
/// the OAuth 2.0 token endpoint (<c>POST /token</c>: the JWT-bearer grant of a service-account key, verified against
/// the key's public half, and the refresh-token grant of an authorized_user file) and the GCE metadata server
/// (<c>GET /</c> and <c>/computeMetadata/v1/instance/service-accounts/default/token</c>, refusing requests without
/// <c>Metadata-Flavor: Google</c>, answering with that header as documented).
/// </summary>
public sealed class GoogleTokenServiceDouble : IAsyncDisposable
{
    private readonly WebApplication _app;

    public RSA? ServiceAccountKey { get; set; }
    public string ServiceAccountToken { get; set; } = "ya29.double-sa-" + Guid.NewGuid().ToString("N");
    public string RefreshToken { get; set; } = "1//double-refresh-" + Guid.NewGuid().ToString("N");
    public string UserToken { get; set; } = "ya29.double-user-" + Guid.NewGuid().ToString("N");
    public string MetadataToken { get; set; } = "ya29.double-gce-" + Guid.NewGuid().ToString("N");

    /// <summary>Grant types received at /token, and metadata token requests ("metadata"), in order.</summary>
    public ConcurrentQueue<string> Calls { get; } = new();

    public Uri BaseAddress { get; }

    private GoogleTokenServiceDouble(WebApplication app)
    {
        _app = app;
        BaseAddress = new Uri(app.Urls.First());
    }

    public static async Task<GoogleTokenServiceDouble> StartAsync()
    {
        GoogleTokenServiceDouble? self = null;
        var app = await LocalHttpServer.StartAsync(context => self!.HandleAsync(context));
        self = new GoogleTokenServiceDouble(app);
        return self;
    }

    private async Task HandleAsync(HttpContext context)
    {
        var request = context.Request;
        var response = context.Response;
        if (request.Path == "/token" && request.Method == "POST")
        {
            var form = await request.ReadFormAsync();
            var grant = form["grant_type"].ToString();
            Calls.Enqueue(grant);
            if (grant == "urn:ietf:params:oauth:grant-type:jwt-bearer" && ServiceAccountKey is { } key && VerifyJwt(form["assertion"].ToString(), key))
            {
                await Token(response, ServiceAccountToken);
                return;
            }
            if (grant == "refresh_token" && form["refresh_token"] == RefreshToken && form["client_id"] == "double-client-id" && form["client_secret"] == "double-client-secret")
            {
                await Token(response, UserToken);
                return;
            }
            response.StatusCode = 400;
            response.ContentType = "application/json";
            await response.WriteAsync("{\"error\":\"invalid_grant\",\"error_description\":\"rejected by the double\"}");
            return;
        }
        // GCE metadata server protocol.
        response.Headers["Metadata-Flavor"] = "Google";
        if (request.Headers["Metadata-Flavor"] != "Google")
        {
            response.StatusCode = 403;
            return;
        }
        if (request.Path == "/")
        {
            await response.WriteAsync("computeMetadata/\n");
            return;
        }
        if (request.Path == "/computeMetadata/v1/instance/service-accounts/default/token" && request.Method == "GET")
        {
            Calls.Enqueue("metadata");
            await Token(response, MetadataToken);
            return;
        }
        response.StatusCode = 404;
    }

    /// <summary>Checks an RS256 JWT's signature and that it asks for the storage scope.</summary>
    private static bool VerifyJwt(string jwt, RSA key)
    {
        var parts = jwt.Split('.');
        if (parts.Length != 3) return false;
        var signed = Encoding.ASCII.GetBytes(parts[0] + "." + parts[1]);
        if (!key.VerifyData(signed, Base64Url(parts[2]), HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1)) return false;
        using var claims = JsonDocument.Parse(Base64Url(parts[1]));
        return claims.RootElement.GetProperty("scope").GetString()!.Contains("devstorage", StringComparison.Ordinal);
    }

    private static byte[] Base64Url(string s)
    {
        s = s.Replace('-', '+').Replace('_', '/');
        return Convert.FromBase64String(s.PadRight(s.Length + (4 - s.Length % 4) % 4, '='));
    }

    private static Task Token(HttpResponse response, string token)
    {
        response.ContentType = "application/json";
        return response.WriteAsync(JsonSerializer.Serialize(new { access_token = token, expires_in = 3599, token_type = "Bearer" }));
    }

    /// <summary>A service-account JSON key whose token_uri points at this double.</summary>
    public string ServiceAccountJson()
    {
        ServiceAccountKey ??= RSA.Create(2048);
        return JsonSerializer.Serialize(new Dictionary<string, string>
        {
            ["type"] = "service_account",
            ["project_id"] = "dbbackup-test",
            ["private_key_id"] = "double-key-1",
            ["private_key"] = ServiceAccountKey.ExportPkcs8PrivateKeyPem(),
            ["client_email"] = "backup@dbbackup-test.iam.gserviceaccount.com",
            ["client_id"] = "1234567890",
            ["token_uri"] = BaseAddress + "token",
        });
    }

    /// <summary>A gcloud authorized_user file (application-default credentials) whose token_uri points at this double.</summary>
    public string AuthorizedUserJson() => JsonSerializer.Serialize(new Dictionary<string, string>
    {
        ["type"] = "authorized_user",
        ["client_id"] = "double-client-id",
        ["client_secret"] = "double-client-secret",
        ["refresh_token"] = RefreshToken,
        ["token_uri"] = BaseAddress + "token",
    });

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
        ServiceAccountKey?.Dispose();
    }
}
