using System.Globalization;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using Azure.Core;

namespace DbBackup.Engine.Storage.Azure;

/// <summary>How requests are authorized: SharedKey signature, SAS query or Entra bearer token. <see cref="Source"/> names where the credential came from (never its value).</summary>
internal abstract class AzureAuth(string source)
{
    public string Source { get; } = source;

    /// <summary>Adds the authorization to a request whose URL, headers and content are final (x-ms-date/x-ms-version already set).</summary>
    public abstract ValueTask AuthorizeAsync(HttpRequestMessage request, CancellationToken cancellationToken);

    /// <summary>Whether the credential is an Entra token (bearer tokens need HTTPS).</summary>
    public virtual bool IsBearer => false;
}

/// <summary>Shared Key authorization (Authorization: SharedKey account:signature) as specified for Blob service version 2015-02-21 and later.</summary>
internal sealed class SharedKeyAuth : AzureAuth
{
    private readonly string _account;
    private readonly byte[] _key;

    public SharedKeyAuth(string account, SecretValue key, string source) : base(source)
    {
        _account = account;
        try { _key = Convert.FromBase64String(key.Reveal().Trim()); }
        catch (FormatException)
        {
            throw new Errors.DbBackupException(Errors.ErrorIds.StorageAuthenticationFailed, Errors.ErrorKind.AuthenticationError,
                $"The Azure storage account key from {source} is not valid base64.", "Copy key1 or key2 of the storage account again (Access keys in the portal, or 'az storage account keys list').");
        }
    }

    public override ValueTask AuthorizeAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        var signature = Convert.ToBase64String(HMACSHA256.HashData(_key, Encoding.UTF8.GetBytes(StringToSign(request, _account))));
        request.Headers.Authorization = new AuthenticationHeaderValue("SharedKey", _account + ":" + signature);
        return ValueTask.CompletedTask;
    }

    internal static string StringToSign(HttpRequestMessage request, string account)
    {
        var content = request.Content?.Headers;
        var length = content?.ContentLength is { } l and > 0 ? l.ToString(CultureInfo.InvariantCulture) : "";
        var sb = new StringBuilder();
        sb.Append(request.Method.Method.ToUpperInvariant()).Append('\n')
          .Append(Join(content?.ContentEncoding)).Append('\n')
          .Append(Join(content?.ContentLanguage)).Append('\n')
          .Append(length).Append('\n')
          .Append(content?.ContentMD5 is { } md5 ? Convert.ToBase64String(md5) : "").Append('\n')
          .Append(content?.ContentType?.ToString() ?? "").Append('\n')
          .Append('\n') // Date: x-ms-date is used instead
          .Append(Header(request, "If-Modified-Since")).Append('\n')
          .Append(Header(request, "If-Match")).Append('\n')
          .Append(Header(request, "If-None-Match")).Append('\n')
          .Append(Header(request, "If-Unmodified-Since")).Append('\n')
          .Append(Header(request, "Range")).Append('\n');
        foreach (var (name, value) in request.Headers
                     .Where(h => h.Key.StartsWith("x-ms-", StringComparison.OrdinalIgnoreCase))
                     .Select(h => (Name: h.Key.ToLowerInvariant(), Value: string.Join(",", h.Value).Trim()))
                     .OrderBy(h => h.Name, StringComparer.Ordinal))
        {
            sb.Append(name).Append(':').Append(value).Append('\n');
        }
        var uri = request.RequestUri!;
        sb.Append('/').Append(account).Append(uri.AbsolutePath.Length == 0 ? "/" : uri.AbsolutePath);
        var parameters = uri.Query.TrimStart('?').Split('&', StringSplitOptions.RemoveEmptyEntries)
            .Select(p => p.Split('=', 2))
            .GroupBy(p => Uri.UnescapeDataString(p[0]).ToLowerInvariant(), p => p.Length > 1 ? Uri.UnescapeDataString(p[1]) : "")
            .OrderBy(g => g.Key, StringComparer.Ordinal);
        foreach (var group in parameters)
            sb.Append('\n').Append(group.Key).Append(':').Append(string.Join(",", group.Order(StringComparer.Ordinal)));
        return sb.ToString();
    }

    private static string Join(ICollection<string>? values) => values is null || values.Count == 0 ? "" : string.Join(",", values);

    private static string Header(HttpRequestMessage request, string name) => request.Headers.TryGetValues(name, out var v) ? string.Join(",", v) : "";
}

/// <summary>A shared access signature appended to every request's query.</summary>
internal sealed class SasAuth(SecretValue sas, string source) : AzureAuth(source)
{
    private readonly string _sas = sas.Reveal().Trim().TrimStart('?');

    public override ValueTask AuthorizeAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        var uri = request.RequestUri!.OriginalString;
        request.RequestUri = new Uri(uri + (uri.Contains('?') ? "&" : "?") + _sas, new UriCreationOptions { DangerousDisablePathAndQueryCanonicalization = true });
        return ValueTask.CompletedTask;
    }
}

/// <summary>Microsoft Entra bearer tokens for https://storage.azure.com, cached until five minutes before they expire.</summary>
internal sealed class BearerAuth(IAzureTokenSource tokens) : AzureAuth(tokens.Name)
{
    private readonly SemaphoreSlim _lock = new(1, 1);
    private AccessToken? _token;

    public override bool IsBearer => true;

    public IAzureTokenSource Tokens => tokens;

    public override async ValueTask AuthorizeAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        var token = await GetTokenAsync(cancellationToken).ConfigureAwait(false);
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
    }

    private async Task<string> GetTokenAsync(CancellationToken cancellationToken)
    {
        if (_token is { } cached && cached.ExpiresOn > DateTimeOffset.UtcNow.AddMinutes(5)) return cached.Token;
        await _lock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (_token is { } again && again.ExpiresOn > DateTimeOffset.UtcNow.AddMinutes(5)) return again.Token;
            var token = await tokens.GetTokenAsync(cancellationToken).ConfigureAwait(false);
            _token = token;
            return token.Token;
        }
        finally
        {
            _lock.Release();
        }
    }
}
