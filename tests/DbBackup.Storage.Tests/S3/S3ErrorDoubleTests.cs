using System.Collections.Concurrent;
using DbBackup.Engine;
using DbBackup.Engine.Errors;
using DbBackup.Engine.Storage;
using DbBackup.Engine.Storage.ObjectStore;
using DbBackup.Engine.Storage.S3;
using Microsoft.AspNetCore.Http;
using Xunit;

namespace DbBackup.Storage.Tests.S3;

/// <summary>
/// Protocol paths fauxqs cannot show, against a local S3 double: it does not verify signatures (so it never answers
/// InvalidAccessKeyId/SignatureDoesNotMatch/AccessDenied), has no ListMultipartUploads and never throttles.
/// </summary>
public sealed class S3ErrorDoubleTests
{
    private const string Secret = "double-secret-key-value";
    private static CancellationToken Ct => CancellationToken.None;

    private static StorageOptions Options(int maxRetries = 0) => new()
    {
        Environment = _ => null,
        S3 = new S3Settings { AccessKeyId = "AKIADOUBLE", SecretAccessKey = new SecretValue(Secret), SessionToken = new SecretValue("double-session-token") },
        MaxRetries = maxRetries,
        RetryBaseDelay = TimeSpan.FromMilliseconds(10),
    };

    private static IObjectStoreClient Client(S3HttpDouble s3, int maxRetries = 0)
        => S3ObjectStoreClient.Create(new Uri($"s3://bkt/root?endpoint={s3.Endpoint.ToString().TrimEnd('/')}&region=us-east-1"), Options(maxRetries));

    public static TheoryData<int, string, string> Mappings => new()
    {
        { 403, "InvalidAccessKeyId", ErrorIds.StorageAuthenticationFailed },
        { 403, "SignatureDoesNotMatch", ErrorIds.StorageAuthenticationFailed },
        { 400, "ExpiredToken", ErrorIds.StorageAuthenticationFailed },
        { 403, "AccessDenied", ErrorIds.StorageAccessDenied },
        { 404, "NoSuchBucket", ErrorIds.StorageContainerNotFound },
        { 503, "SlowDown", ErrorIds.StorageError },
        { 500, "InternalError", ErrorIds.StorageError },
        { 400, "InvalidArgument", ErrorIds.StorageError },
    };

    [Theory]
    [MemberData(nameof(Mappings))]
    public async Task S3_error_codes_map_to_storage_error_ids_S3_error_double(int status, string code, string errorId)
    {
        await using var s3 = await S3HttpDouble.StartAsync(c => S3HttpDouble.WriteErrorAsync(c, status, code));
        var client = Client(s3);
        foreach (var call in new Func<Task>[]
        {
            () => client.ListPageAsync("", null, Ct),
            () => client.PutObjectAsync("k", new byte[10], Ct),
            () => client.OpenReadAsync("k", 0, null, Ct),
            () => client.StartMultipartAsync("k", Ct),
        })
        {
            var e = await Assert.ThrowsAnyAsync<DbBackupException>(call);
            Assert.Equal(errorId, e.ErrorId);
            if (e is StorageRequestException r)
            {
                Assert.Equal(status >= 500, r.IsTransient);
                Assert.Equal(status, r.StatusCode);
            }
            Assert.Contains("s3://bkt/root", e.Message, StringComparison.Ordinal);
            Assert.DoesNotContain(Secret, e.ToString(), StringComparison.Ordinal);
            Assert.DoesNotContain("double-session-token", e.ToString(), StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task A_missing_object_is_BackupNotFound_and_stat_returns_null_S3_error_double()
    {
        await using var s3 = await S3HttpDouble.StartAsync(c => S3HttpDouble.WriteErrorAsync(c, 404, "NoSuchKey"));
        var client = Client(s3);
        var e = await Assert.ThrowsAsync<BackupNotFoundException>(() => client.OpenReadAsync("gone", 0, null, Ct));
        Assert.Equal(ErrorIds.BackupNotFound, e.ErrorId);
        Assert.Null(await client.StatAsync("gone", Ct));
    }

    [Fact]
    public async Task Throttling_is_retried_by_the_decorator_only_because_the_SDK_retries_are_off_S3_error_double()
    {
        var calls = 0;
        await using var s3 = await S3HttpDouble.StartAsync(c => Interlocked.Increment(ref calls) <= 2
            ? S3HttpDouble.WriteErrorAsync(c, 503, "SlowDown")
            : c.Response.WriteAsync("<?xml version=\"1.0\" encoding=\"UTF-8\"?><ListBucketResult><Name>bkt</Name><KeyCount>0</KeyCount><IsTruncated>false</IsTruncated></ListBucketResult>"));
        var retrying = new RetryingObjectStoreClient(Client(s3), Options(maxRetries: 3));
        var page = await retrying.ListPageAsync("", null, Ct);
        Assert.Empty(page.Items);
        Assert.Equal(3, s3.Requests.Count); // two 503s, one success: the SDK added no attempts of its own
        Assert.Equal(2, retrying.Retries);

        await using var always = await S3HttpDouble.StartAsync(c => S3HttpDouble.WriteErrorAsync(c, 503, "SlowDown"));
        var e = await Assert.ThrowsAsync<StorageRequestException>(() => Client(always).PutObjectAsync("k", new byte[5], Ct));
        Assert.True(e.IsTransient);
        Assert.Single(always.Requests); // one request per call: MaxErrorRetry = 0
    }

    [Fact]
    public async Task Aborting_an_upload_that_is_already_gone_succeeds_S3_error_double()
    {
        await using var s3 = await S3HttpDouble.StartAsync(c => S3HttpDouble.WriteErrorAsync(c, 404, "NoSuchUpload"));
        await Client(s3).AbortMultipartAsync("k", "upload-1", Ct);
        Assert.Equal("DELETE", Assert.Single(s3.Requests).Method);
    }

    [Fact]
    public async Task Requests_carry_no_aws_chunked_body_and_no_optional_checksum_S3_error_double()
    {
        await using var s3 = await S3HttpDouble.StartAsync(c => { c.Response.Headers.ETag = "\"e\""; return Task.CompletedTask; });
        var client = Client(s3);
        await client.PutObjectAsync("k", new byte[1000], Ct);
        await client.UploadPartAsync(new UploadPart("k", "u1", 1, 0, new byte[1000]), Ct);
        Assert.All(s3.Requests, r =>
        {
            Assert.Equal("1000", r.Headers["Content-Length"]);
            Assert.DoesNotContain("aws-chunked", r.Headers.GetValueOrDefault("Content-Encoding") ?? "", StringComparison.Ordinal);
            Assert.DoesNotContain(r.Headers.Keys, h => h.StartsWith("x-amz-checksum-", StringComparison.OrdinalIgnoreCase));
            Assert.StartsWith("/bkt/root/k", r.PathAndQuery, StringComparison.Ordinal); // path-style under the location's prefix
        });
    }

    [Fact]
    public async Task AbortIncompleteUploads_pages_through_ListMultipartUploads_and_aborts_each_under_the_prefix_S3_double()
    {
        // fauxqs has no ListMultipartUploads (it answers ?uploads with an object listing), so this runs against a double.
        var aborted = new ConcurrentBag<string>();
        await using var s3 = await S3HttpDouble.StartAsync(async c =>
        {
            var q = c.Request.Query;
            if (c.Request.Method == "GET" && q.ContainsKey("uploads"))
            {
                Assert.Equal("root/db/", q["prefix"].ToString());
                c.Response.ContentType = "application/xml";
                var second = q["key-marker"] == "root/db/a";
                await c.Response.WriteAsync("<?xml version=\"1.0\" encoding=\"UTF-8\"?><ListMultipartUploadsResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><Bucket>bkt</Bucket>"
                    + (second
                        ? "<IsTruncated>false</IsTruncated><Upload><Key>root/db/b</Key><UploadId>u3</UploadId></Upload><Upload><Key>root/other</Key><UploadId>u-not-mine</UploadId></Upload>"
                        : "<IsTruncated>true</IsTruncated><NextKeyMarker>root/db/a</NextKeyMarker><NextUploadIdMarker>u2</NextUploadIdMarker><Upload><Key>root/db/a</Key><UploadId>u1</UploadId></Upload><Upload><Key>root/db/a</Key><UploadId>u2</UploadId></Upload>")
                    + "</ListMultipartUploadsResult>");
                return;
            }
            if (c.Request.Method == "DELETE" && q.ContainsKey("uploadId"))
            {
                aborted.Add(c.Request.Path + "#" + q["uploadId"]);
                if (q["uploadId"] == "u2") { await S3HttpDouble.WriteErrorAsync(c, 404, "NoSuchUpload"); return; } // finished meanwhile
                c.Response.StatusCode = 204;
                return;
            }
            c.Response.StatusCode = 400;
        });
        var storage = new ObjectStoreStorage(new RetryingObjectStoreClient(Client(s3), Options()));
        await storage.CleanupIncompleteAsync("db/", Ct);
        Assert.Equal(["/bkt/root/db/a#u1", "/bkt/root/db/a#u2", "/bkt/root/db/b#u3"], aborted.Order(StringComparer.Ordinal));
        Assert.Equal(2, s3.Requests.Count(r => r.Method == "GET"));
    }
}
