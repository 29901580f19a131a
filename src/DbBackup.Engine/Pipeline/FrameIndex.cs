using System.Buffers.Binary;
using DbBackup.Engine.Errors;

namespace DbBackup.Engine.Pipeline;

/// <summary>One frame as recorded in the index object.</summary>
internal readonly record struct FrameEntry(int Index, int Volume, long Offset, int StoredLength, int PlainLength, bool Final, byte[] ChunkId, byte[] StoredSha256);

/// <summary>The end record of the index object.</summary>
internal readonly record struct IndexEnd(int FrameCount, long PlainSize, long StoredSize);

/// <summary>
/// The binary frame index (docs/format.md): the magic <c>DBBKIDX1</c>, one 90-byte record per frame
/// (tag 'F'), then one 21-byte end record (tag 'E'). Integers are little-endian.
/// </summary>
internal static class FrameIndex
{
    public const string ObjectName = "index";
    public static ReadOnlySpan<byte> Magic => "DBBKIDX1"u8;
    public const int FrameRecordSize = 90;
    public const int EndRecordSize = 21;
    private const byte FrameTag = (byte)'F';
    private const byte EndTag = (byte)'E';
    private const byte FinalFlag = 1;

    public static void WriteFrame(in FrameEntry e, Span<byte> record)
    {
        record[0] = FrameTag;
        BinaryPrimitives.WriteInt32LittleEndian(record[1..], e.Index);
        BinaryPrimitives.WriteInt32LittleEndian(record[5..], e.Volume);
        BinaryPrimitives.WriteInt64LittleEndian(record[9..], e.Offset);
        BinaryPrimitives.WriteInt32LittleEndian(record[17..], e.StoredLength);
        BinaryPrimitives.WriteInt32LittleEndian(record[21..], e.PlainLength);
        record[25] = e.Final ? FinalFlag : (byte)0;
        e.ChunkId.CopyTo(record[26..58]);
        e.StoredSha256.CopyTo(record[58..90]);
    }

    public static void WriteEnd(in IndexEnd end, Span<byte> record)
    {
        record[0] = EndTag;
        BinaryPrimitives.WriteInt32LittleEndian(record[1..], end.FrameCount);
        BinaryPrimitives.WriteInt64LittleEndian(record[5..], end.PlainSize);
        BinaryPrimitives.WriteInt64LittleEndian(record[13..], end.StoredSize);
    }

    /// <summary>Reads the index record by record from a stream (the index is never held in memory whole).</summary>
    internal sealed class Reader(Stream stream) : IDisposable
    {
        private readonly byte[] _record = new byte[FrameRecordSize];
        private bool _started;

        /// <summary>The next frame, or null after the end record (whose values go to <paramref name="end"/>).</summary>
        public async Task<(FrameEntry? Frame, IndexEnd? End)> ReadNextAsync(CancellationToken cancellationToken)
        {
            if (!_started)
            {
                await FillAsync(_record.AsMemory(0, Magic.Length), "its header", cancellationToken).ConfigureAwait(false);
                if (!_record.AsSpan(0, Magic.Length).SequenceEqual(Magic)) throw Corrupted("it does not start with DBBKIDX1");
                _started = true;
            }
            await FillAsync(_record.AsMemory(0, 1), "a record", cancellationToken).ConfigureAwait(false);
            switch (_record[0])
            {
                case FrameTag:
                {
                    await FillAsync(_record.AsMemory(1, FrameRecordSize - 1), "a frame record", cancellationToken).ConfigureAwait(false);
                    var r = _record.AsSpan();
                    var flags = r[25];
                    if ((flags & ~FinalFlag) != 0) throw Corrupted("a frame record has unknown flags");
                    var entry = new FrameEntry(
                        BinaryPrimitives.ReadInt32LittleEndian(r[1..]), BinaryPrimitives.ReadInt32LittleEndian(r[5..]),
                        BinaryPrimitives.ReadInt64LittleEndian(r[9..]), BinaryPrimitives.ReadInt32LittleEndian(r[17..]),
                        BinaryPrimitives.ReadInt32LittleEndian(r[21..]), flags == FinalFlag, r[26..58].ToArray(), r[58..90].ToArray());
                    if (entry.Volume < 1 || entry.Offset < 0 || entry.StoredLength < 0 || entry.PlainLength < 0) throw Corrupted($"frame record {entry.Index} holds impossible values");
                    return (entry, null);
                }
                case EndTag:
                {
                    await FillAsync(_record.AsMemory(1, EndRecordSize - 1), "the end record", cancellationToken).ConfigureAwait(false);
                    var r = _record.AsSpan();
                    var end = new IndexEnd(BinaryPrimitives.ReadInt32LittleEndian(r[1..]), BinaryPrimitives.ReadInt64LittleEndian(r[5..]), BinaryPrimitives.ReadInt64LittleEndian(r[13..]));
                    if (await stream.ReadAsync(_record.AsMemory(0, 1), cancellationToken).ConfigureAwait(false) != 0) throw Corrupted("bytes follow its end record");
                    return (null, end);
                }
                default:
                    throw Corrupted($"unknown record tag 0x{_record[0]:x2}");
            }
        }

        public void Dispose() => stream.Dispose();

        private async Task FillAsync(Memory<byte> buffer, string what, CancellationToken cancellationToken)
        {
            var filled = 0;
            while (filled < buffer.Length)
            {
                var n = await stream.ReadAsync(buffer[filled..], cancellationToken).ConfigureAwait(false);
                if (n == 0) throw new BackupIntegrityException(ErrorIds.BackupTruncated, $"The frame index object is truncated inside {what}.", "Restore from another backup or copy of the repository.");
                filled += n;
            }
        }

        private static BackupIntegrityException Corrupted(string what) =>
            new(ErrorIds.BackupCorrupted, $"The frame index object is corrupted: {what}.", "Restore from another backup or copy of the repository.");
    }
}
