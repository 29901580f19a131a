using System.Net;
using System.Runtime.InteropServices;
using Amazon;
using Amazon.Runtime;
using Amazon.S3;
using Amazon.S3.Model;
using DbBackup.Engine.Errors;
using DbBackup.Engine.Storage.ObjectStore;

namespace DbBackup.Engine.Storage.S3;

/// <summary>
/// S3 (and S3-compatible) object store client over AWSSDK.S3: <c>s3://bucket/prefix</c>. Each method is one S3
/// request with the SDK's own retries turned off (<see cref="RetryingObjectStoreClient"/> retries), checksums only
/// where the service requires them and no aws-chunked bodies, so S3-compatible stores (MinIO, Ceph, R2, Wasabi) accept
/// the requests.
/// </summary>
public sealed class S3ObjectStoreClient : IObjectStoreClient
{
    /// <summary>Default upload part size. S3 requires at least 5 MiB for every part but the last.</summary>
    public const int DefaultPartSize = 8 << 20;

    /// <summary>Default parts of one object in flight.</summary>
    public const int DefaultMaxConcurrentParts = 8;

    private const int MinPartSize = 5 << 20;

    private readonly IAmazonS3 _s3;
    private readonly S3Location _location;
    private readonly S3CredentialChain? _credentials;

    internal S3ObjectStoreClient(IAmazonS3 s3, S3Location location, ObjectStoreLimits limits, S3CredentialChain? credentials)
    {
        _s3 = s3;
        _location = location;
        Limits = limits;
        _credentials = credentials;
    }

    /// <summary>Opens <paramref name="location"/> (an <c>s3://</c> URI). No request is sent until the first operation.</summary>
    public static IObjectStoreClient Create(Uri location, StorageOptions options)
    {
        ArgumentNullException.ThrowIfNull(location);
        ArgumentNullException.ThrowIfNull(options);
        var parsed = S3Location.Parse(location, options.S3);
        var credentials = new S3CredentialChain(options.S3, options.Environment, parsed.Display);
        var config = CreateConfig(parsed, options);
        return new S3ObjectStoreClient(new AmazonS3Client(credentials, config), parsed, LimitsFor(options), credentials);
    }

    internal static AmazonS3Config CreateConfig(S3Location location, StorageOptions options)
    {
        var region = location.Region ?? RegionFromEnvironment(options) ?? "us-east-1";
        var config = new AmazonS3Config
        {
            MaxErrorRetry = 0, // RetryingObjectStoreClient retries, with backoff, per request
            RequestChecksumCalculation = RequestChecksumCalculation.WHEN_REQUIRED,
            ResponseChecksumValidation = ResponseChecksumValidation.WHEN_REQUIRED,
            ForcePathStyle = location.ForcePathStyle,
            Timeout = options.RequestTimeout + TimeSpan.FromSeconds(30), // the decorator's timeout fires first
        };
        if (location.Endpoint is { } endpoint)
        {
            config.ServiceURL = endpoint.GetLeftPart(UriPartial.Path).TrimEnd('/');
            config.AuthenticationRegion = region;
        }
        else
        {
            config.RegionEndpoint = RegionEndpoint.GetBySystemName(region);
        }
        return config;
    }

    private static string? RegionFromEnvironment(StorageOptions options)
    {
        if (options.Environment("AWS_REGION") is { Length: > 0 } r) return r;
        if (options.Environment("AWS_DEFAULT_REGION") is { Length: > 0 } d) return d;
        var profile = options.S3.Profile ?? options.Environment("AWS_PROFILE") ?? "default";
        var home = options.Environment("HOME") ?? options.Environment("USERPROFILE");
        var configFile = options.Environment("AWS_CONFIG_FILE") ?? (home is null ? null : Path.Combine(home, ".aws", "config"));
        var section = S3CredentialChain.ReadSection(configFile, profile == "default" ? "default" : "profile " + profile);
        return section is not null && section.TryGetValue("region", out var pr) && pr.Length > 0 ? pr : null;
    }

    /// <summary>
    /// Part size and concurrency: <see cref="StorageOptions"/> when set, else DBBACKUP_S3_PART_SIZE_MIB and
    /// DBBACKUP_S3_MAX_CONCURRENT_PARTS (like the AWS CLI's multipart_chunksize / max_concurrent_requests), else the defaults.
    /// </summary>
    internal static ObjectStoreLimits LimitsFor(StorageOptions options)
    {
        var partSize = options.PartSize ?? (options.EnvironmentNumber("DBBACKUP_S3_PART_SIZE_MIB", 1024) << 20 ?? DefaultPartSize);
        var concurrency = options.MaxConcurrentParts ?? options.EnvironmentNumber("DBBACKUP_S3_MAX_CONCURRENT_PARTS") ?? DefaultMaxConcurrentParts;
        return new ObjectStoreLimits(
            Math.Clamp(partSize, MinPartSize, 1 << 30),
            Math.Clamp(concurrency, 1, 64),
            Math.Clamp(options.ListPageSize ?? 1000, 1, 1000));
    }

    public string DisplayLocation => _location.Display;

    public ObjectStoreLimits Limits { get; }

    public S3Location Location => _location;

    /// <summary>The credential chain the requests are signed with.</summary>
    internal S3CredentialChain? Credentials => _credentials;

    private string FullKey(string key) => ObjectKeys.Join(_location.Prefix, key);

    private string RelativeKey(string fullKey)
    {
        if (_location.Prefix.Length == 0) return fullKey;
        var root = _location.Prefix.TrimEnd('/') + "/";
        return fullKey.StartsWith(root, StringComparison.Ordinal) ? fullKey[root.Length..] : fullKey;
    }

    private static MemoryStream AsStream(ReadOnlyMemory<byte> content)
        => MemoryMarshal.TryGetArray(content, out var segment)
            ? new MemoryStream(segment.Array!, segment.Offset, segment.Count, writable: false)
            : new MemoryStream(content.ToArray(), writable: false);

    public Task PutObjectAsync(string key, ReadOnlyMemory<byte> content, CancellationToken cancellationToken)
        => Call("PutObject", key, async ct =>
        {
            using var body = AsStream(content);
            await _s3.PutObjectAsync(new PutObjectRequest
            {
                BucketName = _location.Bucket,
                Key = FullKey(key),
                InputStream = body,
                AutoCloseStream = false,
                UseChunkEncoding = false,
            }, ct).ConfigureAwait(false);
            return true;
        }, cancellationToken);

    public Task<string> StartMultipartAsync(string key, CancellationToken cancellationToken)
        => Call("CreateMultipartUpload", key, async ct =>
        {
            var response = await _s3.InitiateMultipartUploadAsync(new InitiateMultipartUploadRequest { BucketName = _location.Bucket, Key = FullKey(key) }, ct).ConfigureAwait(false);
            return response.UploadId;
        }, cancellationToken);

    public Task<string> UploadPartAsync(UploadPart part, CancellationToken cancellationToken)
        => Call("UploadPart", part.Key, async ct =>
        {
            using var body = AsStream(part.Content);
            var response = await _s3.UploadPartAsync(new UploadPartRequest
            {
                BucketName = _location.Bucket,
                Key = FullKey(part.Key),
                UploadId = part.UploadId,
                PartNumber = part.PartNumber,
                InputStream = body,
                PartSize = part.Content.Length,
                UseChunkEncoding = false,
            }, ct).ConfigureAwait(false);
            return response.ETag;
        }, cancellationToken);

    public Task CompleteMultipartAsync(string key, string uploadId, IReadOnlyList<string> partTags, long totalLength, CancellationToken cancellationToken)
        => Call("CompleteMultipartUpload", key, async ct =>
        {
            await _s3.CompleteMultipartUploadAsync(new CompleteMultipartUploadRequest
            {
                BucketName = _location.Bucket,
                Key = FullKey(key),
                UploadId = uploadId,
                PartETags = partTags.Select((tag, i) => new PartETag(i + 1, tag)).ToList(),
            }, ct).ConfigureAwait(false);
            return true;
        }, cancellationToken);

    public Task AbortMultipartAsync(string key, string uploadId, CancellationToken cancellationToken)
        => Call("AbortMultipartUpload", key, async ct =>
        {
            try
            {
                await _s3.AbortMultipartUploadAsync(new AbortMultipartUploadRequest { BucketName = _location.Bucket, Key = FullKey(key), UploadId = uploadId }, ct).ConfigureAwait(false);
            }
            catch (AmazonS3Exception e) when (e.ErrorCode == "NoSuchUpload" || e.StatusCode == HttpStatusCode.NotFound && e.ErrorCode != "NoSuchBucket")
            {
                // already completed, aborted or expired: nothing left to discard
            }
            return true;
        }, cancellationToken);

    public Task<Stream> OpenReadAsync(string key, long offset, long? length, CancellationToken cancellationToken)
        => Call("GetObject", key, async ct =>
        {
            var request = new GetObjectRequest { BucketName = _location.Bucket, Key = FullKey(key) };
            if (length is { } l) request.ByteRange = new ByteRange(offset, offset + l - 1);
            else if (offset > 0) request.ByteRange = new ByteRange($"bytes={offset}-");
            GetObjectResponse response;
            try
            {
                response = await _s3.GetObjectAsync(request, ct).ConfigureAwait(false);
            }
            catch (AmazonS3Exception e) when (e.StatusCode == HttpStatusCode.RequestedRangeNotSatisfiable && length is null)
            {
                return (Stream)new MemoryStream([], writable: false); // reading from the end: nothing left
            }
            return new OwningReadStream(response.ResponseStream, response);
        }, cancellationToken, notFoundIsMissingObject: true);

    public Task<ObjectListPage> ListPageAsync(string prefix, string? continuationToken, CancellationToken cancellationToken)
        => Call("ListObjectsV2", prefix, async ct =>
        {
            var response = await _s3.ListObjectsV2Async(new ListObjectsV2Request
            {
                BucketName = _location.Bucket,
                Prefix = _location.Prefix.Length == 0 ? prefix : _location.Prefix.TrimEnd('/') + "/" + prefix,
                MaxKeys = Limits.ListPageSize,
                ContinuationToken = continuationToken,
            }, ct).ConfigureAwait(false);
            var items = (response.S3Objects ?? [])
                .Select(o => new StorageItem(RelativeKey(o.Key), o.Size ?? 0, new DateTimeOffset(DateTime.SpecifyKind(o.LastModified ?? DateTime.UtcNow, DateTimeKind.Utc))))
                .ToList();
            return new ObjectListPage(items, response.IsTruncated == true ? response.NextContinuationToken : null);
        }, cancellationToken);

    public Task<StorageItem?> StatAsync(string key, CancellationToken cancellationToken)
        => Call("HeadObject", key, async ct =>
        {
            try
            {
                var response = await _s3.GetObjectMetadataAsync(new GetObjectMetadataRequest { BucketName = _location.Bucket, Key = FullKey(key) }, ct).ConfigureAwait(false);
                var modified = response.LastModified ?? DateTime.UtcNow;
                return new StorageItem(key, response.ContentLength, new DateTimeOffset(modified.ToUniversalTime()));
            }
            catch (AmazonS3Exception e) when (e.StatusCode == HttpStatusCode.NotFound && e.ErrorCode != "NoSuchBucket")
            {
                return (StorageItem?)null;
            }
        }, cancellationToken);

    public Task DeleteAsync(string key, CancellationToken cancellationToken)
        => Call("DeleteObject", key, async ct =>
        {
            try
            {
                await _s3.DeleteObjectAsync(new DeleteObjectRequest { BucketName = _location.Bucket, Key = FullKey(key) }, ct).ConfigureAwait(false);
            }
            catch (AmazonS3Exception e) when (e.ErrorCode == "NoSuchKey")
            {
                // already absent
            }
            return true;
        }, cancellationToken);

    public Task AbortIncompleteUploadsAsync(string prefix, CancellationToken cancellationToken)
        => Call("ListMultipartUploads", prefix, async ct =>
        {
            string? keyMarker = null, uploadIdMarker = null;
            var fullPrefix = _location.Prefix.Length == 0 ? prefix : _location.Prefix.TrimEnd('/') + "/" + prefix;
            while (true)
            {
                var page = await _s3.ListMultipartUploadsAsync(new ListMultipartUploadsRequest
                {
                    BucketName = _location.Bucket,
                    Prefix = fullPrefix,
                    KeyMarker = keyMarker,
                    UploadIdMarker = uploadIdMarker,
                }, ct).ConfigureAwait(false);
                foreach (var upload in page.MultipartUploads ?? [])
                {
                    if (!upload.Key.StartsWith(fullPrefix, StringComparison.Ordinal)) continue; // a store that ignores Prefix must not lose other uploads
                    try
                    {
                        await _s3.AbortMultipartUploadAsync(new AbortMultipartUploadRequest { BucketName = _location.Bucket, Key = upload.Key, UploadId = upload.UploadId }, ct).ConfigureAwait(false);
                    }
                    catch (AmazonS3Exception e) when (e.ErrorCode == "NoSuchUpload")
                    {
                        // finished or aborted meanwhile
                    }
                }
                if (page.IsTruncated != true || (page.NextKeyMarker is null && page.NextUploadIdMarker is null)) return true;
                keyMarker = page.NextKeyMarker;
                uploadIdMarker = page.NextUploadIdMarker;
            }
        }, cancellationToken);

    /// <summary>Runs one request: resolves credentials first (so a missing source is reported as such), then maps the SDK's failures to the storage contract.</summary>
    private async Task<T> Call<T>(string operation, string key, Func<CancellationToken, Task<T>> action, CancellationToken cancellationToken, bool notFoundIsMissingObject = false)
    {
        if (_credentials is not null) await _credentials.GetCredentialsAsync().ConfigureAwait(false);
        try
        {
            return await action(cancellationToken).ConfigureAwait(false);
        }
        catch (AmazonServiceException e) when (e.StatusCode != 0 || e.ErrorCode is not null)
        {
            throw Map(e, operation, key, notFoundIsMissingObject);
        }
        catch (AmazonClientException e) when (FindTransport(e) is { } transport)
        {
            throw new StorageRequestException($"{operation} of '{key}' at '{DisplayLocation}' failed: {transport.Message}", isTransient: true, inner: e);
        }
    }

    private static Exception? FindTransport(Exception e)
    {
        for (var x = e.InnerException; x is not null; x = x.InnerException)
        {
            if (x is HttpRequestException or IOException or System.Net.Sockets.SocketException or TimeoutException) return x;
        }
        return null;
    }

    /// <summary>The S3 error code and HTTP status as the storage contract's error ids.</summary>
    internal Exception Map(AmazonServiceException e, string operation, string key, bool notFoundIsMissingObject)
    {
        var status = (int)e.StatusCode;
        var code = e.ErrorCode ?? "";
        var what = $"{operation} of '{key}' at '{DisplayLocation}'";
        var detail = $"HTTP {status}{(code.Length > 0 ? " " + code : "")}";
        switch (code)
        {
            case "NoSuchBucket":
                return new DbBackupException(ErrorIds.StorageContainerNotFound, ErrorKind.ObjectNotFound,
                    $"The S3 bucket '{_location.Bucket}' does not exist ({what}: {detail}).",
                    "Create the bucket, or fix its name (and the region/endpoint) in the location.", e) { Target = DisplayLocation };
            case "InvalidAccessKeyId" or "SignatureDoesNotMatch" or "ExpiredToken" or "InvalidToken" or "TokenRefreshRequired" or "InvalidClientTokenId" or "AuthorizationHeaderMalformed" or "RequestTimeTooSkewed":
                return new DbBackupException(ErrorIds.StorageAuthenticationFailed, ErrorKind.AuthenticationError,
                    $"S3 rejected the credentials{(_credentials?.Source is { } s ? " from " + s : "")} ({what}: {detail}).",
                    code == "RequestTimeTooSkewed"
                        ? "The machine's clock is off; synchronise it (NTP) and run again."
                        : "Check the access key id, secret and session token (and their expiry) and the region; see docs/storage/s3.md.", e) { Target = DisplayLocation };
            case "AccessDenied" or "AllAccessDisabled" or "AccountProblem":
                return new DbBackupException(ErrorIds.StorageAccessDenied, ErrorKind.PermissionDenied,
                    $"S3 denied access ({what}: {detail}).",
                    "Grant the identity the permissions in docs/storage/s3.md (s3:ListBucket, s3:GetObject, s3:PutObject, s3:DeleteObject, s3:AbortMultipartUpload, s3:ListBucketMultipartUploads) on this bucket and prefix.", e) { Target = DisplayLocation };
            case "NoSuchKey":
                return new BackupNotFoundException(ErrorIds.BackupNotFound, $"The object '{key}' does not exist at '{DisplayLocation}'.", inner: e);
            case "SlowDown" or "RequestTimeout" or "InternalError" or "ServiceUnavailable" or "Throttling" or "ThrottlingException" or "RequestLimitExceeded":
                return new StorageRequestException($"{what} failed: {detail}.", isTransient: true, status, inner: e);
        }
        if (status == 404 && notFoundIsMissingObject)
            return new BackupNotFoundException(ErrorIds.BackupNotFound, $"The object '{key}' does not exist at '{DisplayLocation}'.", inner: e);
        if (status == 401)
            return new DbBackupException(ErrorIds.StorageAuthenticationFailed, ErrorKind.AuthenticationError, $"S3 rejected the credentials ({what}: {detail}).",
                "Check the access key id, secret and session token; see docs/storage/s3.md.", e) { Target = DisplayLocation };
        if (status == 403)
            return new DbBackupException(ErrorIds.StorageAccessDenied, ErrorKind.PermissionDenied, $"S3 denied access ({what}: {detail}).",
                "Grant the identity the permissions in docs/storage/s3.md on this bucket and prefix.", e) { Target = DisplayLocation };
        return new StorageRequestException($"{what} failed: {detail}{(string.IsNullOrEmpty(e.Message) ? "" : " — " + e.Message)}.",
            StorageRequestException.IsTransientStatus(status), status == 0 ? null : status, inner: e);
    }
}
