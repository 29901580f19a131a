using System.Security.Cryptography;
using DbBackup.Engine.Storage;

namespace DbBackup.Engine.Pipeline;

/// <summary>
/// Appends frames, in order, to data volumes <c>data.000001</c>, <c>data.000002</c>, ... (each at most
/// VolumeSize bytes, frames never split) and streams their records into the index object. Single-threaded:
/// only the writer's consumer task calls it.
/// </summary>
internal sealed class VolumeSink
{
    private readonly IBackupStorage _storage;
    private readonly string _prefix;
    private readonly long _volumeSize;
    private readonly IObjectWriter _index;
    private readonly IncrementalHash _indexHash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
    private readonly byte[] _indexBuffer = new byte[64 * 1024];
    private int _indexBuffered;
    private readonly IncrementalHash _plainHash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
    private readonly IncrementalHash _volumeHash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
    private readonly List<VolumeInfo> _volumes = [];
    private readonly List<string> _committed = [];
    private IObjectWriter? _volume;
    private long _volumeLength;
    private int _frames;
    private bool _indexClosed;
    private Task? _pendingCommit;
    private long _plainSize;
    private long _storedSize;

    private VolumeSink(IBackupStorage storage, string prefix, long volumeSize, IObjectWriter index)
    {
        _storage = storage;
        _prefix = prefix;
        _volumeSize = volumeSize;
        _index = index;
        Buffer(FrameIndex.Magic);
    }

    public static async Task<VolumeSink> CreateAsync(IBackupStorage storage, string prefix, long volumeSize, CancellationToken cancellationToken)
    {
        var index = await storage.OpenWriteAsync(prefix + FrameIndex.ObjectName, cancellationToken).ConfigureAwait(false);
        return new VolumeSink(storage, prefix, volumeSize, index);
    }

    public static string VolumeName(int number) => "data." + number.ToString("D6", System.Globalization.CultureInfo.InvariantCulture);

    public int FrameCount => _frames;

    public async Task AppendAsync(ProcessedFrame frame, CancellationToken cancellationToken)
    {
        var length = frame.Stored.Length;
        if (_volume is not null && _volumeLength > 0 && _volumeLength + length > _volumeSize)
            await CommitVolumeAsync(cancellationToken).ConfigureAwait(false);
        if (_volume is null)
        {
            _volume = await _storage.OpenWriteAsync(_prefix + VolumeName(_volumes.Count + 1), cancellationToken).ConfigureAwait(false);
            _volumeLength = 0;
        }
        var entry = new FrameEntry(frame.Index, _volumes.Count + 1, _volumeLength, length, frame.Plain.Length, frame.Final, frame.ChunkId, frame.StoredSha256);
        var started = TimingTrace.Start();
        await _volume.Stream.WriteAsync(frame.Stored.Array.AsMemory(0, length), cancellationToken).ConfigureAwait(false);
        TimingTrace.Add(TimingTrace.Stage.VolumeWrite, started);
        started = TimingTrace.Start();
        _volumeHash.AppendData(frame.Stored.Span);
        _plainHash.AppendData(frame.Plain.Span);
        TimingTrace.Add(TimingTrace.Stage.SinkHashes, started);
        _volumeLength += length;
        _storedSize += length;
        _plainSize += frame.Plain.Length;
        _frames++;
        if (_indexBuffered + FrameIndex.FrameRecordSize > _indexBuffer.Length) await FlushIndexAsync(cancellationToken).ConfigureAwait(false);
        FrameIndex.WriteFrame(entry, _indexBuffer.AsSpan(_indexBuffered, FrameIndex.FrameRecordSize));
        _indexBuffered += FrameIndex.FrameRecordSize;
    }

    /// <summary>Commits the last volume and the index; returns what the summary needs.</summary>
    public async Task<(IReadOnlyList<VolumeInfo> Volumes, string IndexSha256, string PlaintextSha256, long PlainSize, long StoredSize)> FinishAsync(CancellationToken cancellationToken)
    {
        if (_volume is not null) await CommitVolumeAsync(cancellationToken).ConfigureAwait(false);
        await AwaitPendingCommitAsync().ConfigureAwait(false);
        var end = new byte[FrameIndex.EndRecordSize];
        FrameIndex.WriteEnd(new IndexEnd(_frames, _plainSize, _storedSize), end);
        if (_indexBuffered + end.Length > _indexBuffer.Length) await FlushIndexAsync(cancellationToken).ConfigureAwait(false);
        Buffer(end);
        await FlushIndexAsync(cancellationToken).ConfigureAwait(false);
        await _index.CommitAsync(cancellationToken).ConfigureAwait(false);
        _committed.Add(_prefix + FrameIndex.ObjectName);
        return (_volumes, Hex(_indexHash.GetHashAndReset()), Hex(_plainHash.GetHashAndReset()), _plainSize, _storedSize);
    }

    /// <summary>Removes every object this sink wrote (the backup failed or was cancelled).</summary>
    public async Task AbortAsync()
    {
        try
        {
            await AwaitPendingCommitAsync().ConfigureAwait(false);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or OperationCanceledException or Errors.DbBackupException)
        {
            // The volume being committed is deleted below either way.
        }
        if (_volume is not null) await _volume.DisposeAsync().ConfigureAwait(false);
        _volume = null;
        await CloseIndexAsync().ConfigureAwait(false);
        List<Exception>? failures = null;
        foreach (var key in _committed)
        {
            try
            {
                await _storage.DeleteAsync(key, CancellationToken.None).ConfigureAwait(false);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or Errors.DbBackupException)
            {
                (failures ??= []).Add(e); // keep removing the others first
            }
        }
        _committed.Clear();
        if (failures is not null)
            throw new Errors.DbBackupException(Errors.ErrorIds.StorageError, Errors.ErrorKind.WriteError,
                $"Could not remove {failures.Count} object(s) of the abandoned backup under '{_prefix}': {failures[0].Message}",
                "They are invisible without a manifest; the repository's sweep removes them later.", new AggregateException(failures));
    }

    public async Task CloseAsync()
    {
        if (_volume is not null) await _volume.DisposeAsync().ConfigureAwait(false);
        _volume = null;
        await CloseIndexAsync().ConfigureAwait(false);
        _indexHash.Dispose();
        _plainHash.Dispose();
        _volumeHash.Dispose();
    }

    private async Task CloseIndexAsync()
    {
        if (_indexClosed) return;
        _indexClosed = true;
        await _index.DisposeAsync().ConfigureAwait(false);
    }

    internal static string Hex(byte[] hash) => Convert.ToHexString(hash).ToLowerInvariant();

    /// <summary>
    /// Starts committing the current volume (a local commit flushes it to disk) and returns once the previous
    /// commit finished: the flush of one volume overlaps with filling the next.
    /// </summary>
    private async Task CommitVolumeAsync(CancellationToken cancellationToken)
    {
        var volume = _volume!;
        _volume = null;
        var name = VolumeName(_volumes.Count + 1);
        _committed.Add(_prefix + name);
        _volumes.Add(new VolumeInfo(name, _volumeLength, Hex(_volumeHash.GetHashAndReset())));
        await AwaitPendingCommitAsync().ConfigureAwait(false);
        _pendingCommit = CommitAndCloseAsync(volume, cancellationToken);
    }

    private static async Task CommitAndCloseAsync(IObjectWriter volume, CancellationToken cancellationToken)
    {
        try
        {
            await volume.CommitAsync(cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            await volume.DisposeAsync().ConfigureAwait(false);
        }
    }

    private async Task AwaitPendingCommitAsync()
    {
        var pending = _pendingCommit;
        _pendingCommit = null;
        if (pending is not null) await pending.ConfigureAwait(false);
    }

    private void Buffer(ReadOnlySpan<byte> bytes)
    {
        bytes.CopyTo(_indexBuffer.AsSpan(_indexBuffered));
        _indexBuffered += bytes.Length;
    }

    private async Task FlushIndexAsync(CancellationToken cancellationToken)
    {
        if (_indexBuffered == 0) return;
        _indexHash.AppendData(_indexBuffer, 0, _indexBuffered);
        await _index.Stream.WriteAsync(_indexBuffer.AsMemory(0, _indexBuffered), cancellationToken).ConfigureAwait(false);
        _indexBuffered = 0;
    }
}
