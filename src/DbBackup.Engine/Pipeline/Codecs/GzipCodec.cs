using System.IO.Compression;
using DbBackup.Engine.Errors;

namespace DbBackup.Engine.Pipeline.Codecs;

/// <summary>
/// Each frame is one complete gzip member (RFC 1952) written by .NET's GZipStream, so concatenated frames
/// are a standard multi-member .gz file. .NET offers four levels; 0-9 map to them (docs/format.md):
/// 0 → NoCompression, 1-3 → Fastest (default 1), 4-6 → Optimal, 7-9 → SmallestSize.
/// </summary>
internal sealed class GzipCodec : IFrameCodec
{
    public const int DefaultLevel = 1;
    private readonly CompressionLevel _level;

    private GzipCodec(int level)
    {
        Level = level;
        _level = level switch
        {
            0 => CompressionLevel.NoCompression,
            <= 3 => CompressionLevel.Fastest,
            <= 6 => CompressionLevel.Optimal,
            _ => CompressionLevel.SmallestSize,
        };
    }

    public static GzipCodec Create(int? level)
    {
        var value = level ?? DefaultLevel;
        if (value is < 0 or > 9)
            throw new DbBackupException(ErrorIds.InvalidArgument, ErrorKind.InvalidArgument, $"Gzip compression level {value} is out of range.", "Use a gzip level from 0 to 9 (1 is the fast default).");
        return new GzipCodec(value);
    }

    public CompressionCodec Codec => CompressionCodec.Gzip;
    public int? Level { get; }

    // GZipStream writes nothing for empty input; a frame must still be a complete member.
    private static ReadOnlySpan<byte> EmptyMember => [0x1f, 0x8b, 0x08, 0, 0, 0, 0, 0, 0, 0xff, 0x03, 0x00, 0, 0, 0, 0, 0, 0, 0, 0];

    public PooledBuffer Compress(ReadOnlySpan<byte> plain, int tailRoom)
    {
        if (plain.IsEmpty)
        {
            var empty = PooledBuffer.Rent(EmptyMember.Length + tailRoom);
            EmptyMember.CopyTo(empty.Array);
            return empty.WithLength(EmptyMember.Length);
        }
        var output = new PooledBufferStream(plain.Length / 2 + 1024);
        using (var gzip = new GZipStream(output, _level, leaveOpen: true))
        {
            gzip.Write(plain);
        }
        return output.Detach(tailRoom);
    }

    public void Decompress(ReadOnlySpan<byte> frame, Span<byte> destination, string where)
    {
        if (frame.IsEmpty) throw FrameCodecs.Corrupted(where, "the gzip member is empty");
        unsafe
        {
            fixed (byte* source = frame)
            {
                using var input = new UnmanagedMemoryStream(source, frame.Length);
                using var gzip = new GZipStream(input, CompressionMode.Decompress);
                var filled = 0;
                try
                {
                    while (filled < destination.Length)
                    {
                        var n = gzip.Read(destination[filled..]);
                        if (n == 0) break;
                        filled += n;
                    }
                    Span<byte> probe = stackalloc byte[1];
                    if (filled != destination.Length || gzip.Read(probe) != 0)
                        throw FrameCodecs.Corrupted(where, $"the gzip member does not decode to the expected {destination.Length} bytes");
                }
                catch (InvalidDataException e)
                {
                    throw FrameCodecs.Corrupted(where, "the gzip member does not decode (" + e.Message + ")", e);
                }
            }
        }
    }
}

/// <summary>A growable write-only stream over pooled arrays.</summary>
internal sealed class PooledBufferStream(int initialCapacity) : Stream
{
    private byte[] _buffer = PooledBuffer.Pool.Rent(Math.Max(initialCapacity, 256));
    private int _length;

    public override bool CanRead => false;
    public override bool CanSeek => false;
    public override bool CanWrite => true;
    public override long Length => _length;
    public override long Position { get => _length; set => throw new NotSupportedException(); }
    public override void Flush() { }
    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
    public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

    public override void Write(ReadOnlySpan<byte> buffer)
    {
        Ensure(_length + buffer.Length);
        buffer.CopyTo(_buffer.AsSpan(_length));
        _length += buffer.Length;
    }

    public override void WriteByte(byte value)
    {
        Ensure(_length + 1);
        _buffer[_length++] = value;
    }

    /// <summary>Hands the buffer over (with <paramref name="tailRoom"/> free bytes after the data).</summary>
    public PooledBuffer Detach(int tailRoom)
    {
        Ensure(_length + tailRoom);
        var result = new PooledBuffer(_buffer, _length);
        _buffer = [];
        _length = 0;
        return result;
    }

    private void Ensure(int capacity)
    {
        if (capacity <= _buffer.Length) return;
        var bigger = PooledBuffer.Pool.Rent(Math.Max(capacity, _buffer.Length * 2));
        _buffer.AsSpan(0, _length).CopyTo(bigger);
        PooledBuffer.Pool.Return(_buffer);
        _buffer = bigger;
    }
}
