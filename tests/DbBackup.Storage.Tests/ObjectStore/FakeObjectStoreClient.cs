using System.Collections.Concurrent;
using DbBackup.Engine.Errors;
using DbBackup.Engine.Storage;
using DbBackup.Engine.Storage.ObjectStore;

namespace DbBackup.Storage.Tests.ObjectStore;

/// <summary>
/// A FAKE in-process <see cref="IObjectStoreClient"/>: objects and multipart uploads in dictionaries, every call counted,
/// and hooks to fail, delay or block a call, so the decorators above it can be tested without any network.
/// </summary>
internal sealed class FakeObjectStoreClient(int partSize = 1024, int maxConcurrentParts = 2, int listPageSize = 3) : IObjectStoreClient
{
    private readonly ConcurrentDictionary<string, byte[]> _objects = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, (string Key, ConcurrentDictionary<int, byte[]> Parts)> _uploads = new();
    private readonly ConcurrentDictionary<string, int> _calls = new();
    private int _partsInFlight;
    private int _maxPartsInFlight;

    public string DisplayLocation => "fake-memory://bucket/prefix";

    public ObjectStoreLimits Limits { get; } = new(partSize, maxConcurrentParts, listPageSize);

    /// <summary>Runs before every call (name, token): throw to fail it, await to delay or block it.</summary>
    public Func<string, CancellationToken, Task>? Before { get; set; }

    /// <summary>Runs at the start of every part upload, inside the in-flight count.</summary>
    public Func<UploadPart, CancellationToken, Task>? OnPart { get; set; }

    public IReadOnlyDictionary<string, byte[]> Objects => _objects;

    public int PendingUploads => _uploads.Count;

    public int MaxPartsInFlight => Volatile.Read(ref _maxPartsInFlight);

    public int PartsInFlight => Volatile.Read(ref _partsInFlight);

    public List<UploadPart> PartsUploaded { get; } = [];

    public List<(long Offset, long? Length)> Reads { get; } = [];

    /// <summary>Wraps each opened read stream (e.g. to break it after some bytes).</summary>
    public Func<Stream, int, Stream>? WrapRead { get; set; }

    public int Calls(string name) => _calls.GetValueOrDefault(name);

    private async Task Enter(string name, CancellationToken cancellationToken)
    {
        _calls.AddOrUpdate(name, 1, (_, n) => n + 1);
        if (Before is { } before) await before(name, cancellationToken);
        cancellationToken.ThrowIfCancellationRequested();
    }

    public async Task PutObjectAsync(string key, ReadOnlyMemory<byte> content, CancellationToken cancellationToken)
    {
        await Enter("put", cancellationToken);
        _objects[key] = content.ToArray();
    }

    public async Task<string> StartMultipartAsync(string key, CancellationToken cancellationToken)
    {
        await Enter("start", cancellationToken);
        var id = Guid.NewGuid().ToString("N");
        _uploads[id] = (key, new ConcurrentDictionary<int, byte[]>());
        return id;
    }

    public async Task<string> UploadPartAsync(UploadPart part, CancellationToken cancellationToken)
    {
        var now = Interlocked.Increment(ref _partsInFlight);
        int seen;
        while ((seen = Volatile.Read(ref _maxPartsInFlight)) < now && Interlocked.CompareExchange(ref _maxPartsInFlight, now, seen) != seen) { }
        try
        {
            await Enter("part", cancellationToken);
            if (OnPart is { } onPart) await onPart(part, cancellationToken);
            cancellationToken.ThrowIfCancellationRequested();
            if (!_uploads.TryGetValue(part.UploadId, out var upload)) throw new StorageRequestException("no such upload", false, 404);
            upload.Parts[part.PartNumber] = part.Content.ToArray(); // copied: the caller reuses its buffer afterwards
            lock (PartsUploaded) PartsUploaded.Add(part with { Content = upload.Parts[part.PartNumber] });
            return "etag-" + part.PartNumber;
        }
        finally
        {
            Interlocked.Decrement(ref _partsInFlight);
        }
    }

    public async Task CompleteMultipartAsync(string key, string uploadId, IReadOnlyList<string> partTags, long totalLength, CancellationToken cancellationToken)
    {
        await Enter("complete", cancellationToken);
        if (!_uploads.TryRemove(uploadId, out var upload)) throw new StorageRequestException("no such upload", false, 404);
        var ordered = partTags.Select(t => upload.Parts[int.Parse(t["etag-".Length..], System.Globalization.CultureInfo.InvariantCulture)]).SelectMany(p => p).ToArray();
        if (ordered.Length != totalLength) throw new InvalidOperationException($"complete: {ordered.Length} bytes in parts, {totalLength} announced");
        _objects[key] = ordered;
    }

    public async Task AbortMultipartAsync(string key, string uploadId, CancellationToken cancellationToken)
    {
        await Enter("abort", cancellationToken);
        _uploads.TryRemove(uploadId, out _);
    }

    public async Task<Stream> OpenReadAsync(string key, long offset, long? length, CancellationToken cancellationToken)
    {
        await Enter("read", cancellationToken);
        lock (Reads) Reads.Add((offset, length));
        if (!_objects.TryGetValue(key, out var data))
            throw new BackupNotFoundException(ErrorIds.BackupNotFound, $"'{key}' does not exist.");
        var count = (int)Math.Min(length ?? long.MaxValue, data.Length - offset);
        Stream stream = new MemoryStream(data, (int)offset, count, writable: false);
        return WrapRead is { } wrap ? wrap(stream, Reads.Count) : stream;
    }

    public async Task<ObjectListPage> ListPageAsync(string prefix, string? continuationToken, CancellationToken cancellationToken)
    {
        await Enter("list", cancellationToken);
        var keys = _objects.Keys.Where(k => k.StartsWith(prefix, StringComparison.Ordinal) && string.CompareOrdinal(k, continuationToken ?? "") > 0)
            .Order(StringComparer.Ordinal).Take(Limits.ListPageSize + 1).ToList();
        var page = keys.Take(Limits.ListPageSize).Select(k => new StorageItem(k, _objects[k].Length, DateTimeOffset.UtcNow)).ToList();
        return new ObjectListPage(page, keys.Count > Limits.ListPageSize ? page[^1].Key : null);
    }

    public async Task<StorageItem?> StatAsync(string key, CancellationToken cancellationToken)
    {
        await Enter("stat", cancellationToken);
        return _objects.TryGetValue(key, out var data) ? new StorageItem(key, data.Length, DateTimeOffset.UtcNow) : null;
    }

    public async Task DeleteAsync(string key, CancellationToken cancellationToken)
    {
        await Enter("delete", cancellationToken);
        _objects.TryRemove(key, out _);
    }

    public async Task AbortIncompleteUploadsAsync(string prefix, CancellationToken cancellationToken)
    {
        await Enter("abort-incomplete", cancellationToken);
        foreach (var (id, upload) in _uploads)
            if (upload.Key.StartsWith(prefix, StringComparison.Ordinal)) _uploads.TryRemove(id, out _);
    }
}

/// <summary>A read stream that throws an <see cref="IOException"/> (a reset connection) after <paramref name="breakAfter"/> bytes.</summary>
internal sealed class BreakingStream(Stream inner, long breakAfter) : Stream
{
    private long _delivered;

    public override bool CanRead => true;
    public override bool CanSeek => false;
    public override bool CanWrite => false;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
    public override void Flush() { }
    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override int Read(Span<byte> buffer)
    {
        if (_delivered >= breakAfter) throw new IOException("Connection reset by peer (injected by the test).");
        var n = inner.Read(buffer[..(int)Math.Min(buffer.Length, breakAfter - _delivered)]);
        _delivered += n;
        return n;
    }

    public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) => ValueTask.FromResult(Read(buffer.Span));

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
}
