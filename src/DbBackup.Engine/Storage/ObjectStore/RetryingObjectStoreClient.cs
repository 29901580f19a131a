using System.Runtime.CompilerServices;
using Polly;
using Polly.Retry;
using Polly.Timeout;

namespace DbBackup.Engine.Storage.ObjectStore;

/// <summary>
/// Decorates an <see cref="IObjectStoreClient"/> with retries (exponential backoff with jitter, Polly) and a timeout
/// per request. Every primitive is one repeatable request, so a failed part, list page, stat, delete or read-open is
/// repeated on its own; a read that breaks mid-stream re-opens at the byte it had reached.
/// Only transient failures are retried (see <see cref="IsTransient"/>); the caller's cancellation is never retried.
/// </summary>
public sealed class RetryingObjectStoreClient : IObjectStoreClient
{
    private readonly IObjectStoreClient _inner;
    private readonly ResiliencePipeline _pipeline;
    private readonly int _maxRetries;

    public RetryingObjectStoreClient(IObjectStoreClient inner, StorageOptions options)
    {
        _inner = inner;
        _maxRetries = options.MaxRetries;
        var builder = new ResiliencePipelineBuilder();
        if (options.MaxRetries > 0)
        {
            builder.AddRetry(new RetryStrategyOptions
            {
                MaxRetryAttempts = options.MaxRetries,
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = true,
                Delay = options.RetryBaseDelay,
                MaxDelay = TimeSpan.FromSeconds(30),
                ShouldHandle = args => ValueTask.FromResult(args.Outcome.Exception is { } e && IsTransient(e, args.Context.CancellationToken)),
                OnRetry = args =>
                {
                    Retries++;
                    return ValueTask.CompletedTask;
                },
            });
        }
        builder.AddTimeout(options.RequestTimeout);
        _pipeline = builder.Build();
    }

    /// <summary>Requests repeated so far (for tests and progress reporting).</summary>
    public int Retries { get; private set; }

    public IObjectStoreClient Inner => _inner;

    public string DisplayLocation => _inner.DisplayLocation;

    public ObjectStoreLimits Limits => _inner.Limits;

    /// <summary>Whether a failure is worth repeating: transient storage errors, broken connections and request timeouts, but never the caller's own cancellation.</summary>
    public static bool IsTransient(Exception e, CancellationToken callerToken) => e switch
    {
        StorageRequestException s => s.IsTransient,
        Errors.DbBackupException => false,
        HttpRequestException => true,
        IOException => true,
        TimeoutRejectedException => true,
        OperationCanceledException => !callerToken.IsCancellationRequested,
        _ => false,
    };

    public Task PutObjectAsync(string key, ReadOnlyMemory<byte> content, CancellationToken cancellationToken)
        => Run(ct => new ValueTask(_inner.PutObjectAsync(key, content, ct)), cancellationToken);

    public Task<string> StartMultipartAsync(string key, CancellationToken cancellationToken)
        => Run(ct => new ValueTask<string>(_inner.StartMultipartAsync(key, ct)), cancellationToken);

    public Task<string> UploadPartAsync(UploadPart part, CancellationToken cancellationToken)
        => Run(ct => new ValueTask<string>(_inner.UploadPartAsync(part, ct)), cancellationToken);

    public Task CompleteMultipartAsync(string key, string uploadId, IReadOnlyList<string> partTags, long totalLength, CancellationToken cancellationToken)
        => Run(ct => new ValueTask(_inner.CompleteMultipartAsync(key, uploadId, partTags, totalLength, ct)), cancellationToken);

    public Task AbortMultipartAsync(string key, string uploadId, CancellationToken cancellationToken)
        => Run(ct => new ValueTask(_inner.AbortMultipartAsync(key, uploadId, ct)), cancellationToken);

    public async Task<Stream> OpenReadAsync(string key, long offset, long? length, CancellationToken cancellationToken)
    {
        var stream = await Run(ct => new ValueTask<Stream>(_inner.OpenReadAsync(key, offset, length, ct)), cancellationToken).ConfigureAwait(false);
        return new ResumingReadStream(this, key, offset, length, stream);
    }

    public Task<ObjectListPage> ListPageAsync(string prefix, string? continuationToken, CancellationToken cancellationToken)
        => Run(ct => new ValueTask<ObjectListPage>(_inner.ListPageAsync(prefix, continuationToken, ct)), cancellationToken);

    public Task<StorageItem?> StatAsync(string key, CancellationToken cancellationToken)
        => Run(ct => new ValueTask<StorageItem?>(_inner.StatAsync(key, ct)), cancellationToken);

    public Task DeleteAsync(string key, CancellationToken cancellationToken)
        => Run(ct => new ValueTask(_inner.DeleteAsync(key, ct)), cancellationToken);

    public Task AbortIncompleteUploadsAsync(string prefix, CancellationToken cancellationToken)
        => Run(ct => new ValueTask(_inner.AbortIncompleteUploadsAsync(prefix, ct)), cancellationToken);

    private async Task Run(Func<CancellationToken, ValueTask> action, CancellationToken cancellationToken)
    {
        try { await _pipeline.ExecuteAsync(action, cancellationToken).ConfigureAwait(false); }
        catch (Exception e) when (Translate(e, cancellationToken) is { } t) { throw t; }
    }

    private async Task<T> Run<T>(Func<CancellationToken, ValueTask<T>> action, CancellationToken cancellationToken)
    {
        try { return await _pipeline.ExecuteAsync(action, cancellationToken).ConfigureAwait(false); }
        catch (Exception e) when (Translate(e, cancellationToken) is { } t) { throw t; }
    }

    /// <summary>Turns a transport failure that outlived the retries into a StorageRequestException naming the location.</summary>
    private StorageRequestException? Translate(Exception e, CancellationToken callerToken)
    {
        if (e is Errors.DbBackupException || callerToken.IsCancellationRequested) return null;
        if (e is HttpRequestException or IOException or TimeoutRejectedException or OperationCanceledException)
        {
            return new StorageRequestException(
                $"The storage service at '{DisplayLocation}' did not answer successfully after {_maxRetries + 1} attempts ({Describe(e)}).",
                isTransient: true, inner: e);
        }
        return null;
    }

    private static string Describe(Exception e) => e switch
    {
        TimeoutRejectedException => "request timed out",
        HttpRequestException h when h.StatusCode is { } s => $"HTTP {(int)s}",
        _ => e.Message,
    };

    /// <summary>A read stream that re-opens the object at the position it reached when the connection breaks.</summary>
    private sealed class ResumingReadStream(RetryingObjectStoreClient owner, string key, long offset, long? length, Stream inner) : Stream
    {
        private Stream _inner = inner;
        private long _position; // bytes delivered so far
        private int _resumes;

        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => _position; set => throw new NotSupportedException(); }
        public override void Flush() { }
        public override long Seek(long o, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int o, int count) => throw new NotSupportedException();
        public override int Read(byte[] buffer, int o, int count) => ReadAsync(buffer.AsMemory(o, count)).AsTask().GetAwaiter().GetResult();

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            while (true)
            {
                try
                {
                    var n = await _inner.ReadAsync(buffer, cancellationToken).ConfigureAwait(false);
                    _position += n;
                    return n;
                }
                catch (Exception e) when (_resumes < owner._maxRetries && (e is IOException or HttpRequestException) && !cancellationToken.IsCancellationRequested)
                {
                    _resumes++;
                    owner.Retries++;
                    await _inner.DisposeAsync().ConfigureAwait(false);
                    if (length is { } l && _position >= l) { _inner = new MemoryStream([], false); continue; }
                    _inner = await owner.Run(ct => new ValueTask<Stream>(owner._inner.OpenReadAsync(key, offset + _position, length - _position, ct)), cancellationToken).ConfigureAwait(false);
                }
            }
        }

        public override Task<int> ReadAsync(byte[] buffer, int o, int count, CancellationToken cancellationToken) => ReadAsync(buffer.AsMemory(o, count), cancellationToken).AsTask();

        protected override void Dispose(bool disposing)
        {
            if (disposing) _inner.Dispose();
            base.Dispose(disposing);
        }
    }
}
