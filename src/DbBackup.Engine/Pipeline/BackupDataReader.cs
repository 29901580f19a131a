using System.Buffers;
using System.Security.Cryptography;
using DbBackup.Engine.Errors;
using DbBackup.Engine.Pipeline.Codecs;
using DbBackup.Engine.Pipeline.Crypto;
using DbBackup.Engine.Storage;

namespace DbBackup.Engine.Pipeline;

/// <summary>
/// The read side: a read-only stream of the plaintext dump. Reads the index (checked against
/// <see cref="DataSummary.IndexSha256"/>), then every frame in order, authenticating/decrypting and checking
/// hashes as it goes; throws <see cref="Errors.BackupIntegrityException"/> on the first problem, and at the
/// end checks frame count, final flag and the whole-plaintext SHA-256, so a consumer that reaches EOF has
/// read an intact backup.
/// </summary>
public sealed class BackupDataReader : Stream
{
    private const int MaxFrameLength = 512 * 1024 * 1024;
    private readonly IBackupStorage _storage;
    private readonly string _prefix;
    private readonly DataSummary _summary;
    private readonly IFrameCodec _codec;
    private readonly BackupKeys? _keys;
    private readonly BackupKeys.FrameCipher? _cipher;
    private readonly FrameIndex.Reader _index;
    private readonly IncrementalHash _plainHash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
    private readonly IncrementalHash _volumeHash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
    private readonly byte[] _chunkId = new byte[32];
    private byte[] _stored = [];
    private byte[] _plain = [];
    private int _plainLength;
    private int _plainPosition;
    private Stream? _volumeStream;
    private int _volume;
    private long _volumePosition;
    private int _framesRead;
    private long _bytesRead;
    private bool _sawFinal;
    private bool _eof;
    private bool _disposed;

    private BackupDataReader(IBackupStorage storage, string prefix, string backupId, DataSummary summary, IFrameCodec codec, BackupKeys? keys, FrameIndex.Reader index)
    {
        _storage = storage;
        _prefix = prefix;
        _summary = summary;
        _codec = codec;
        _keys = keys;
        _cipher = keys?.CreateFrameCipher(backupId);
        _index = index;
    }

    public static async Task<BackupDataReader> OpenAsync(IBackupStorage storage, string prefix, string backupId, DataSummary summary, BackupKeys? keys, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(storage);
        ArgumentNullException.ThrowIfNull(summary);
        if (summary.Encryption is not null && keys is null)
            throw new BackupIntegrityException(ErrorIds.KeyRequired, $"Backup '{backupId}' is encrypted and no key was given.", "Pass the backup's -Passphrase or -KeyFile.");
        if (summary.Encryption is null) keys = null;
        var codec = FrameCodecs.ForReading(summary.Compression);
        if (prefix.Length > 0 && !prefix.EndsWith('/')) prefix += "/";
        var indexKey = prefix + summary.IndexObject;

        // First pass: the whole index must match the manifest before any record of it is trusted.
        using (var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256))
        {
            await using (var stream = await OpenIndexAsync(storage, indexKey, backupId, cancellationToken).ConfigureAwait(false))
            {
                var buffer = ArrayPool<byte>.Shared.Rent(64 * 1024);
                try
                {
                    int n;
                    while ((n = await stream.ReadAsync(buffer, cancellationToken).ConfigureAwait(false)) > 0) hash.AppendData(buffer, 0, n);
                }
                finally
                {
                    ArrayPool<byte>.Shared.Return(buffer);
                }
            }
            var actual = VolumeSink.Hex(hash.GetHashAndReset());
            if (!string.Equals(actual, summary.IndexSha256, StringComparison.OrdinalIgnoreCase))
                throw new BackupIntegrityException(ErrorIds.BackupCorrupted,
                    $"The frame index of backup '{backupId}' ('{indexKey}') does not match the SHA-256 recorded in its manifest.",
                    "The index was damaged or altered; restore from another backup or copy of the repository.") { Target = backupId };
        }
        var index = new FrameIndex.Reader(await OpenIndexAsync(storage, indexKey, backupId, cancellationToken).ConfigureAwait(false));
        return new BackupDataReader(storage, prefix, backupId, summary, codec, keys, index);
    }

    /// <summary>Frames read and verified so far.</summary>
    public int FramesRead => _framesRead;

    /// <summary>Plaintext bytes returned so far.</summary>
    public long BytesRead => _bytesRead;

    public override bool CanRead => true;
    public override bool CanSeek => false;
    public override bool CanWrite => false;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
    public override void Flush() { }
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override int Read(Span<byte> buffer)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (buffer.IsEmpty) return 0;
        while (_plainPosition == _plainLength)
        {
            if (_eof) return 0;
            NextFrameAsync(CancellationToken.None).GetAwaiter().GetResult();
        }
        return CopyOut(buffer);
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (buffer.IsEmpty) return 0;
        while (_plainPosition == _plainLength)
        {
            if (_eof) return 0;
            await NextFrameAsync(cancellationToken).ConfigureAwait(false);
        }
        return CopyOut(buffer.Span);
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing && !_disposed)
        {
            _disposed = true;
            _volumeStream?.Dispose();
            _index.Dispose();
            _cipher?.Dispose();
            _plainHash.Dispose();
            _volumeHash.Dispose();
            if (_stored.Length > 0) ArrayPool<byte>.Shared.Return(_stored);
            if (_plain.Length > 0) ArrayPool<byte>.Shared.Return(_plain);
            _stored = _plain = [];
        }
        base.Dispose(disposing);
    }

    private int CopyOut(Span<byte> buffer)
    {
        var n = Math.Min(buffer.Length, _plainLength - _plainPosition);
        _plain.AsSpan(_plainPosition, n).CopyTo(buffer);
        _plainPosition += n;
        _bytesRead += n;
        return n;
    }

    private async Task NextFrameAsync(CancellationToken cancellationToken)
    {
        var (entry, end) = await _index.ReadNextAsync(cancellationToken).ConfigureAwait(false);
        if (end is { } last)
        {
            await FinishAsync(last, cancellationToken).ConfigureAwait(false);
            return;
        }
        var f = entry!.Value;
        var where = $"Frame {f.Index} (volume {VolumeSink.VolumeName(f.Volume)}, offset {f.Offset})";
        if (_sawFinal) throw Corrupted($"{where} follows the final frame {_framesRead - 1}");
        if (f.Index != _framesRead) throw Corrupted($"The frames are out of order: frame {_framesRead} was expected next, the index names frame {f.Index}");
        if (f.StoredLength > MaxFrameLength || f.PlainLength > MaxFrameLength) throw Corrupted($"{where} claims an impossible length");
        if (f.Volume != _volume) await OpenVolumeAsync(f.Volume, cancellationToken).ConfigureAwait(false);
        if (f.Offset != _volumePosition) throw Corrupted($"{where} does not follow the previous frame (expected offset {_volumePosition})");

        Ensure(ref _stored, f.StoredLength);
        var filled = 0;
        while (filled < f.StoredLength)
        {
            var n = await _volumeStream!.ReadAsync(_stored.AsMemory(filled, f.StoredLength - filled), cancellationToken).ConfigureAwait(false);
            if (n == 0)
                throw new BackupIntegrityException(ErrorIds.BackupTruncated,
                    $"Volume {VolumeSink.VolumeName(f.Volume)} of backup is truncated: it ends at byte {f.Offset + filled}, inside frame {f.Index} which needs {f.StoredLength} bytes from offset {f.Offset}.",
                    "The volume was cut short (interrupted copy or upload); restore from another backup or copy of the repository.");
            filled += n;
        }
        var stored = _stored.AsSpan(0, f.StoredLength);
        _volumeHash.AppendData(stored);
        _volumePosition += f.StoredLength;
        if (!SHA256.HashData(stored).AsSpan().SequenceEqual(f.StoredSha256)) throw Corrupted($"{where} does not match its SHA-256 in the index (the stored bytes changed)");

        var frame = stored;
        if (_cipher is not null)
        {
            if (stored.Length < BackupKeys.TagSize) throw Corrupted($"{where} is too short to be an encrypted frame");
            frame = stored[..^BackupKeys.TagSize];
            if (!_cipher.TryOpen(f.Index, f.Final, f.PlainLength, frame, stored[^BackupKeys.TagSize..]))
                throw new BackupIntegrityException(ErrorIds.BackupTampered,
                    $"{where} fails authentication: it was altered, moved, or comes from another backup.",
                    "Do not trust this copy; restore from another backup or copy of the repository.");
        }
        Ensure(ref _plain, f.PlainLength);
        var plain = _plain.AsSpan(0, f.PlainLength);
        _codec.Decompress(frame, plain, where);
        if (_keys is null) SHA256.HashData(plain, _chunkId);
        else _keys.ComputeChunkId(plain, _chunkId);
        if (!_chunkId.AsSpan().SequenceEqual(f.ChunkId)) throw Corrupted($"{where} decodes to data that does not match its chunk id");
        _plainHash.AppendData(plain);
        _plainLength = f.PlainLength;
        _plainPosition = 0;
        _framesRead++;
        _sawFinal = f.Final;
    }

    private async Task OpenVolumeAsync(int number, CancellationToken cancellationToken)
    {
        if (_volumeStream is not null) await CloseVolumeAsync(cancellationToken).ConfigureAwait(false);
        if (number != _volume + 1) throw Corrupted($"The index jumps from volume {_volume} to volume {number}");
        if (number > _summary.Volumes.Count) throw Corrupted($"The index names volume {number} but the backup records {_summary.Volumes.Count} volumes");
        var name = VolumeSink.VolumeName(number);
        if (_summary.Volumes[number - 1].Name != name) throw Corrupted($"Volume {number} is recorded as '{_summary.Volumes[number - 1].Name}' instead of '{name}'");
        try
        {
            _volumeStream = await _storage.OpenReadAsync(_prefix + name, 0, null, cancellationToken).ConfigureAwait(false);
        }
        catch (BackupNotFoundException e)
        {
            throw new BackupIntegrityException(ErrorIds.BackupTruncated, $"Volume {name} of the backup is missing ('{_prefix + name}').",
                "The backup is incomplete (a volume was deleted or never copied); restore from another backup or copy of the repository.", e);
        }
        _volume = number;
        _volumePosition = 0;
    }

    private async Task CloseVolumeAsync(CancellationToken cancellationToken)
    {
        var info = _summary.Volumes[_volume - 1];
        var probe = new byte[1];
        if (await _volumeStream!.ReadAsync(probe, cancellationToken).ConfigureAwait(false) != 0)
            throw Corrupted($"Volume {info.Name} holds bytes after its last frame (offset {_volumePosition})");
        await _volumeStream.DisposeAsync().ConfigureAwait(false);
        _volumeStream = null;
        var hash = VolumeSink.Hex(_volumeHash.GetHashAndReset());
        if (_volumePosition != info.Size || !string.Equals(hash, info.Sha256, StringComparison.OrdinalIgnoreCase))
            throw Corrupted($"Volume {info.Name} does not match the size and SHA-256 recorded in the manifest");
    }

    private async Task FinishAsync(IndexEnd end, CancellationToken cancellationToken)
    {
        if (_volumeStream is not null) await CloseVolumeAsync(cancellationToken).ConfigureAwait(false);
        if (!_sawFinal || _framesRead != _summary.FrameCount || end.FrameCount != _framesRead || _volume != _summary.VolumeCount)
            throw new BackupIntegrityException(ErrorIds.BackupTruncated,
                $"The backup data ends after {_framesRead} frames in {_volume} volumes without its final frame (the manifest records {_summary.FrameCount} frames in {_summary.VolumeCount} volumes).",
                "The backup is incomplete; restore from another backup or copy of the repository.");
        var hash = VolumeSink.Hex(_plainHash.GetHashAndReset());
        if (end.PlainSize != _summary.Size || !string.Equals(hash, _summary.PlaintextSha256, StringComparison.OrdinalIgnoreCase))
            throw Corrupted("The restored data does not match the SHA-256 of the whole dump recorded in the manifest (frames were reordered, replaced or damaged)");
        _eof = true;
    }

    private static async Task<Stream> OpenIndexAsync(IBackupStorage storage, string key, string backupId, CancellationToken cancellationToken)
    {
        try
        {
            return await storage.OpenReadAsync(key, 0, null, cancellationToken).ConfigureAwait(false);
        }
        catch (BackupNotFoundException e)
        {
            throw new BackupIntegrityException(ErrorIds.BackupCorrupted, $"The frame index of backup '{backupId}' ('{key}') is missing.",
                "The backup is incomplete; restore from another backup or copy of the repository.", e) { Target = backupId };
        }
    }

    private static void Ensure(ref byte[] buffer, int length)
    {
        if (buffer.Length >= length && buffer.Length > 0) return;
        if (buffer.Length > 0) ArrayPool<byte>.Shared.Return(buffer);
        buffer = ArrayPool<byte>.Shared.Rent(Math.Max(length, 1));
    }

    private static BackupIntegrityException Corrupted(string message) =>
        new(ErrorIds.BackupCorrupted, message + ".", "The stored data was damaged or altered; restore from another backup or copy of the repository.");
}
