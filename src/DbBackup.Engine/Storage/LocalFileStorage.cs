using System.Runtime.CompilerServices;
using DbBackup.Engine.Errors;

namespace DbBackup.Engine.Storage;

/// <summary>
/// A repository on a local (or mounted) file system. Objects are written to a hidden temporary file in
/// the same folder and renamed into place on commit, so a reader never sees a partial object.
/// </summary>
public sealed class LocalFileStorage : IBackupStorage
{
    internal const string TempMarker = ".dbbackup-tmp-";
    private readonly string _root;

    public LocalFileStorage(string rootPath)
    {
        _root = Path.GetFullPath(rootPath);
    }

    public string RootPath => _root;

    public string DisplayLocation => _root;

    public Task<IObjectWriter> OpenWriteAsync(string key, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var path = PathOf(key);
        var temp = Path.Combine(Path.GetDirectoryName(path)!, TempMarker + Path.GetFileName(path) + "-" + Guid.NewGuid().ToString("N"));
        FileStream stream;
        try
        {
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            stream = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16, FileOptions.Asynchronous);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // e.g. a file where a folder of the repository path should be, a read-only mount, no permission.
            throw new DbBackupException(ErrorIds.StorageError, ErrorKind.WriteError,
                $"Cannot write '{key}' into repository '{DisplayLocation}': {e.Message}",
                "Check that the repository path is a folder (or can be created as one) that this user may write to.", e)
            { Target = DisplayLocation };
        }
        return Task.FromResult<IObjectWriter>(new Writer(stream, temp, path));
    }

    public Task<Stream> OpenReadAsync(string key, long offset, long? length, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var path = PathOf(key);
        FileStream stream;
        try
        {
            stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read | FileShare.Delete, 1 << 16, FileOptions.Asynchronous | FileOptions.SequentialScan);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            throw new BackupNotFoundException(ErrorIds.BackupNotFound, $"The object '{key}' does not exist in repository '{DisplayLocation}'.",
                "Check the repository path and backup id (Get-BackupHistory -Repository <path> -Refresh).", e) { Target = key };
        }
        if (offset > 0) stream.Seek(offset, SeekOrigin.Begin);
        return Task.FromResult<Stream>(length is null ? stream : new RangeStream(stream, length.Value));
    }

    public async IAsyncEnumerable<StorageItem> ListAsync(string prefix, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        await Task.CompletedTask.ConfigureAwait(false);
        if (!Directory.Exists(_root)) yield break;
        // The prefix may end inside a name: list from its folder part and filter.
        var slash = prefix.LastIndexOf('/');
        var folder = slash < 0 ? _root : Path.Combine(_root, prefix[..slash].Replace('/', Path.DirectorySeparatorChar));
        if (!Directory.Exists(folder)) yield break;
        var items = new List<StorageItem>();
        foreach (var file in Directory.EnumerateFiles(folder, "*", SearchOption.AllDirectories))
        {
            cancellationToken.ThrowIfCancellationRequested();
            var key = Path.GetRelativePath(_root, file).Replace(Path.DirectorySeparatorChar, '/');
            if (!key.StartsWith(prefix, StringComparison.Ordinal) || Path.GetFileName(file).StartsWith(TempMarker, StringComparison.Ordinal)) continue;
            var info = new FileInfo(file);
            items.Add(new StorageItem(key, info.Length, info.LastWriteTimeUtc));
        }
        items.Sort((a, b) => string.CompareOrdinal(a.Key, b.Key));
        foreach (var item in items) yield return item;
    }

    public Task<StorageItem?> StatAsync(string key, CancellationToken cancellationToken)
    {
        var info = new FileInfo(PathOf(key));
        return Task.FromResult(info.Exists ? new StorageItem(key, info.Length, info.LastWriteTimeUtc) : null);
    }

    public Task DeleteAsync(string key, CancellationToken cancellationToken)
    {
        var path = PathOf(key);
        if (!File.Exists(path)) return Task.CompletedTask; // already gone (File.Delete throws when the folder is gone too)
        File.Delete(path);
        PruneEmptyFolders(path); // remove folders the delete emptied, up to the root
        return Task.CompletedTask;
    }

    public Task CleanupIncompleteAsync(string prefix, CancellationToken cancellationToken)
    {
        var folder = Path.Combine(_root, prefix.TrimEnd('/').Replace('/', Path.DirectorySeparatorChar));
        if (!prefix.EndsWith('/') || !Directory.Exists(folder)) return Task.CompletedTask;
        foreach (var file in Directory.EnumerateFiles(folder, TempMarker + "*", SearchOption.AllDirectories))
        {
            cancellationToken.ThrowIfCancellationRequested();
            File.Delete(file);
        }
        PruneEmptyFolders(Path.Combine(folder, "x"));
        return Task.CompletedTask;
    }

    private void PruneEmptyFolders(string path)
    {
        var dir = Path.GetDirectoryName(path);
        while (dir is not null && dir.Length > _root.Length && Directory.Exists(dir) && !Directory.EnumerateFileSystemEntries(dir).Any())
        {
            Directory.Delete(dir);
            dir = Path.GetDirectoryName(dir);
        }
    }

    private string PathOf(string key)
    {
        if (string.IsNullOrEmpty(key) || key.StartsWith('/') || key.Split('/').Any(p => p is "" or "." or ".."))
            throw new DbBackupException(ErrorIds.InvalidArgument, ErrorKind.InvalidArgument, $"Invalid object key '{key}'.");
        return Path.Combine(_root, key.Replace('/', Path.DirectorySeparatorChar));
    }

    private sealed class Writer(FileStream stream, string tempPath, string finalPath) : IObjectWriter
    {
        private bool _committed;

        public Stream Stream => stream;

        public async Task CommitAsync(CancellationToken cancellationToken)
        {
            await stream.FlushAsync(cancellationToken).ConfigureAwait(false);
            stream.Flush(flushToDisk: true);
            await stream.DisposeAsync().ConfigureAwait(false);
            File.Move(tempPath, finalPath, overwrite: true);
            _committed = true;
        }

        public async ValueTask DisposeAsync()
        {
            await stream.DisposeAsync().ConfigureAwait(false);
            if (!_committed && File.Exists(tempPath)) File.Delete(tempPath);
        }
    }
}

/// <summary>Exposes at most <c>length</c> bytes of an inner stream and owns it.</summary>
internal sealed class RangeStream(Stream inner, long length) : Stream
{
    private long _remaining = length;

    public override bool CanRead => true;
    public override bool CanSeek => false;
    public override bool CanWrite => false;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
    public override void Flush() { }

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override int Read(Span<byte> buffer)
    {
        if (_remaining <= 0) return 0;
        var n = inner.Read(buffer[..(int)Math.Min(buffer.Length, _remaining)]);
        _remaining -= n;
        return n;
    }

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        if (_remaining <= 0) return 0;
        var n = await inner.ReadAsync(buffer[..(int)Math.Min(buffer.Length, _remaining)], cancellationToken).ConfigureAwait(false);
        _remaining -= n;
        return n;
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken)
        => ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing) inner.Dispose();
        base.Dispose(disposing);
    }
}
