using DbBackup.Engine;
using DbBackup.Engine.Errors;
using DbBackup.Engine.Storage;
using DbBackup.Engine.Storage.Azure;
using DbBackup.Engine.Storage.ObjectStore;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Xunit;

namespace DbBackup.Storage.Tests.Azure;

/// <summary>Block-upload behaviour specific to Azure, on the raw client against Azurite.</summary>
public sealed class AzureBlockUploadTests(AzureFixture fx) : IClassFixture<AzureFixture>
{
    private static readonly CancellationToken Ct = CancellationToken.None;

    private static async Task<byte[]> ReadAsync(IObjectStoreClient client, string key)
    {
        await using var s = await client.OpenReadAsync(key, 0, null, Ct);
        using var m = new MemoryStream();
        await s.CopyToAsync(m, Ct);
        return m.ToArray();
    }

    [Fact]
    public async Task Blocks_commit_in_part_order_and_uncommitted_blocks_stay_invisible()
    {
        var client = fx.AdminClient(fx.Container, "blocks-" + Guid.NewGuid().ToString("N")[..8]);
        var id = await client.StartMultipartAsync("obj", Ct);
        var parts = new[] { "aaa"u8.ToArray(), "bbbb"u8.ToArray(), "c"u8.ToArray() };
        // Upload out of order: the block list decides the order.
        var tags = new string[3];
        foreach (var i in new[] { 2, 0, 1 }) tags[i] = await client.UploadPartAsync(new UploadPart("obj", id, i + 1, 0, parts[i]), Ct);
        Assert.Null(await client.StatAsync("obj", Ct));
        Assert.Empty((await client.ListPageAsync("", null, Ct)).Items);
        await client.CompleteMultipartAsync("obj", id, tags, 8, Ct);
        Assert.Equal("aaabbbbc"u8.ToArray(), await ReadAsync(client, "obj"));
        // Committing the same block list again (a retried request whose response was lost) still succeeds.
        await client.CompleteMultipartAsync("obj", id, tags, 8, Ct);
        Assert.Equal("aaabbbbc"u8.ToArray(), await ReadAsync(client, "obj"));
    }

    [Fact]
    public async Task A_commit_whose_blocks_were_discarded_by_a_concurrent_writer_is_superseded_not_failed()
    {
        var client = fx.AdminClient(fx.Container, "race-" + Guid.NewGuid().ToString("N")[..8]);
        var id = await client.StartMultipartAsync("obj", Ct);
        var tag1 = await client.UploadPartAsync(new UploadPart("obj", id, 1, 0, "old-1"u8.ToArray()), Ct);
        // Another writer commits a whole version meanwhile (Put Blob discards the uncommitted blocks of the name).
        await client.PutObjectAsync("obj", "winner"u8.ToArray(), Ct);
        var tag2 = await client.UploadPartAsync(new UploadPart("obj", id, 2, 5, "old-2"u8.ToArray()), Ct);
        await client.CompleteMultipartAsync("obj", id, [tag1, tag2], 10, Ct);
        var content = await ReadAsync(client, "obj");
        Assert.True(content.AsSpan().SequenceEqual("winner"u8) || content.AsSpan().SequenceEqual("old-1old-2"u8), System.Text.Encoding.UTF8.GetString(content));
    }

    /// <summary>
    /// Azure discards a name's uncommitted blocks when another writer commits it (Put Blob / Put Block List); Azurite
    /// keeps them, so the resulting InvalidBlockList is exercised against a Blob service DOUBLE that answers it.
    /// </summary>
    [Theory]
    [InlineData("\"0x2\"", true)] // the blob changed since the upload started: superseded, success
    [InlineData("\"0x1\"", false)] // unchanged: the blocks are really missing, the commit fails
    [InlineData(null, false)] // still absent
    public async Task InvalidBlockList_counts_as_superseded_only_when_another_version_was_committed_meanwhile_double(string? etagNow, bool succeeds)
    {
        await using var app = await LocalHttpServer.StartAsync(context =>
        {
            if (context.Request.Method == "HEAD")
            {
                if (etagNow is null) { context.Response.StatusCode = 404; context.Response.Headers["x-ms-error-code"] = "BlobNotFound"; }
                else { context.Response.Headers.ETag = etagNow; context.Response.ContentLength = 6; }
                return Task.CompletedTask;
            }
            context.Response.StatusCode = 400;
            context.Response.Headers["x-ms-error-code"] = "InvalidBlockList";
            return context.Response.WriteAsync("<Error><Code>InvalidBlockList</Code></Error>");
        });
        var client = AzureBlobClient.Create(AzureBlobLocation.Parse(new Uri($"az://devstoreaccount1/container/p?endpoint={app.Urls.First()}")),
            new StorageOptions { Environment = _ => null, Azure = new AzureBlobSettings { AccountKey = new SecretValue(fx.Key), UseImds = false } });
        var commit = () => client.CompleteMultipartAsync("obj", "0123456789abcdef:\"0x1\"", [AzureBlobClient.BlockId("0123456789abcdef", 1)], 6, Ct);
        if (succeeds) await commit();
        else Assert.Contains("InvalidBlockList", (await Assert.ThrowsAnyAsync<DbBackupException>(commit)).Message);
    }

    [Fact]
    public async Task A_block_list_naming_unknown_blocks_fails_when_no_other_writer_committed()
    {
        var client = fx.AdminClient(fx.Container, "bad-" + Guid.NewGuid().ToString("N")[..8]);
        var id = await client.StartMultipartAsync("obj", Ct);
        var e = await Assert.ThrowsAnyAsync<DbBackupException>(() => client.CompleteMultipartAsync("obj", id, [Engine.Storage.Azure.AzureBlobClient.BlockId(id, 1)], 1, Ct));
        Assert.Contains("InvalidBlockList", e.Message);
        Assert.Null(await client.StatAsync("obj", Ct));
    }
}
