using System.Collections.Concurrent;
using System.Security.Cryptography;
using DbBackup.Engine.Pipeline.Codecs;
using DbBackup.Engine.Pipeline.Crypto;

namespace DbBackup.Engine.Pipeline;

/// <summary>A frame ready to be appended: its stored bytes, hashes, and the plaintext (for the whole-plaintext hash).</summary>
internal sealed class ProcessedFrame(int index, bool final, PooledBuffer plain, PooledBuffer stored, byte[] chunkId, byte[] storedSha256)
{
    public int Index { get; } = index;
    public bool Final { get; } = final;
    public PooledBuffer Plain { get; } = plain;
    public PooledBuffer Stored { get; } = stored;
    public byte[] ChunkId { get; } = chunkId;
    public byte[] StoredSha256 { get; } = storedSha256;

    public void Return()
    {
        Plain.Return();
        Stored.Return();
    }
}

/// <summary>Turns one chunk into one frame: chunk id, compression, sealing, stored hash. Thread-safe.</summary>
internal sealed class FrameProcessor(IFrameCodec codec, BackupKeys? keys, string backupId) : IDisposable
{
    private readonly ConcurrentBag<BackupKeys.FrameCipher> _ciphers = [];

    public ProcessedFrame Process(PooledBuffer plain, int index, bool final)
    {
        var chunkId = new byte[32];
        var started = TimingTrace.Start();
        if (keys is null) SHA256.HashData(plain.Span, chunkId);
        else keys.ComputeChunkId(plain.Span, chunkId);
        TimingTrace.Add(TimingTrace.Stage.ChunkId, started);

        started = TimingTrace.Start();
        var stored = codec.Compress(plain.Span, keys is null ? 0 : BackupKeys.TagSize);
        TimingTrace.Add(TimingTrace.Stage.Compress, started);
        try
        {
            if (keys is not null)
            {
                if (!_ciphers.TryTake(out var cipher)) cipher = keys.CreateFrameCipher(backupId);
                try
                {
                    cipher.Seal(index, final, plain.Length, stored.Span, stored.Array.AsSpan(stored.Length, BackupKeys.TagSize));
                }
                finally
                {
                    _ciphers.Add(cipher);
                }
                stored = stored.WithLength(stored.Length + BackupKeys.TagSize);
            }
            started = TimingTrace.Start();
            var storedSha256 = SHA256.HashData(stored.Span);
            TimingTrace.Add(TimingTrace.Stage.StoredHash, started);
            return new ProcessedFrame(index, final, plain, stored, chunkId, storedSha256);
        }
        catch
        {
            stored.Return();
            throw;
        }
    }

    public void Dispose()
    {
        while (_ciphers.TryTake(out var cipher)) cipher.Dispose();
    }
}
