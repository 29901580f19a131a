using System.Buffers;
using DbBackup.Engine.Errors;

namespace DbBackup.Engine.Pipeline.Codecs;

/// <summary>
/// Compresses one chunk into one complete standard frame (zstd frame, gzip member, or the bytes as they are),
/// so the concatenation of frames is a standard file. Implementations are thread-safe.
/// </summary>
internal interface IFrameCodec
{
    CompressionCodec Codec { get; }

    /// <summary>The effective level (null for stored frames).</summary>
    int? Level { get; }

    /// <summary>Compresses <paramref name="plain"/>; the result is a pooled buffer with at least <paramref name="tailRoom"/> free bytes after the frame.</summary>
    PooledBuffer Compress(ReadOnlySpan<byte> plain, int tailRoom);

    /// <summary>Decompresses one frame into exactly <paramref name="destination"/>; throws BackupCorrupted otherwise.</summary>
    void Decompress(ReadOnlySpan<byte> frame, Span<byte> destination, string where);
}

/// <summary>A rented array and the length in use. Return it exactly once.</summary>
internal readonly record struct PooledBuffer(byte[] Array, int Length)
{
    public Span<byte> Span => Array.AsSpan(0, Length);

    /// <summary>
    /// Frame buffers come from one private pool with a single stack per size (at most 8 arrays each) rather than
    /// ArrayPool.Shared, whose per-core and per-thread caches keep extra multi-MiB arrays alive when the producer rents
    /// on one thread and the consumer returns on another: the pipeline's resident memory stays near its in-flight bound.
    /// </summary>
    internal static readonly ArrayPool<byte> Pool = ArrayPool<byte>.Create(maxArrayLength: 16 * 1024 * 1024, maxArraysPerBucket: 8);

    public static PooledBuffer Rent(int capacity) => new(Pool.Rent(Math.Max(capacity, 1)), 0);

    public PooledBuffer WithLength(int length) => new(Array, length);

    public void Return() => Pool.Return(Array);
}

internal static class FrameCodecs
{
    /// <summary>The codec and level a backup is written with; validates the level.</summary>
    public static IFrameCodec ForWriting(CompressionCodec codec, int? level) => codec switch
    {
        CompressionCodec.Zstd => ZstdCodec.Create(level),
        CompressionCodec.Gzip => GzipCodec.Create(level),
        CompressionCodec.None => level is null or 0 ? StoredCodec.Instance
            : throw new DbBackupException(ErrorIds.InvalidArgument, ErrorKind.InvalidArgument, $"Compression 'None' takes no level (got {level}).", "Omit the compression level, or choose Zstd or Gzip."),
        _ => throw new DbBackupException(ErrorIds.InvalidArgument, ErrorKind.InvalidArgument, $"Unknown compression '{codec}'.", "Use Zstd, Gzip or None."),
    };

    /// <summary>The codec a backup is read with (the level does not matter to a decoder).</summary>
    public static IFrameCodec ForReading(CompressionCodec codec) => codec switch
    {
        CompressionCodec.Zstd => ZstdCodec.Create(null),
        CompressionCodec.Gzip => GzipCodec.Create(null),
        CompressionCodec.None => StoredCodec.Instance,
        _ => throw new BackupIntegrityException(ErrorIds.BackupCorrupted, $"The backup names an unknown compression '{codec}'.", "Use a DbBackup version that knows this codec."),
    };

    public static BackupIntegrityException Corrupted(string where, string what, Exception? inner = null) =>
        new(ErrorIds.BackupCorrupted, $"{where} is corrupted: {what}.", "The stored data was damaged; restore from another backup or copy of the repository.", inner);
}

/// <summary>Frames stored as they are ("none").</summary>
internal sealed class StoredCodec : IFrameCodec
{
    public static readonly StoredCodec Instance = new();

    public CompressionCodec Codec => CompressionCodec.None;
    public int? Level => null;

    public PooledBuffer Compress(ReadOnlySpan<byte> plain, int tailRoom)
    {
        var buffer = PooledBuffer.Rent(plain.Length + tailRoom);
        plain.CopyTo(buffer.Array);
        return buffer.WithLength(plain.Length);
    }

    public void Decompress(ReadOnlySpan<byte> frame, Span<byte> destination, string where)
    {
        if (frame.Length != destination.Length)
            throw FrameCodecs.Corrupted(where, $"a stored frame of {frame.Length} bytes was expected to hold {destination.Length} bytes");
        frame.CopyTo(destination);
    }
}
