using System.Text;
using DbBackup.Engine.Pipeline;
using DbBackup.Engine.Pipeline.Crypto;
using DbBackup.Engine.Storage;

namespace DbBackup.Engine.Tests.Pipeline;

/// <summary>Deterministic, dump-like test input and small helpers shared by the pipeline tests.</summary>
internal static class PipelineTestData
{
    private static readonly string[] Words =
    [
        "alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel", "india", "juliet", "kilo", "lima",
        "mike", "november", "oscar", "papa", "quebec", "romeo", "sierra", "tango", "uniform", "victor", "whiskey",
        "x-ray", "yankee", "zulu", "straße", "café", "naïve", "日本語", "🙂",
    ];

    /// <summary>
    /// PostgreSQL-COPY-like rows: ids, names, words, timestamps, amounts, occasional JSON — compressible like a
    /// real dump but never repeating (a xorshift generator drives every field).
    /// </summary>
    public static byte[] SqlText(int size, ulong seed = 42)
    {
        var output = new byte[size];
        var sb = new StringBuilder(4096);
        var state = seed * 0x9E3779B97F4A7C15UL + 1;
        ulong Next()
        {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            return state;
        }
        var at = 0;
        long id = 1;
        var table = 0;
        while (at < size)
        {
            sb.Clear();
            if (id % 5000 == 1)
            {
                table++;
                sb.Append("\\.\n\nCOPY public.table_").Append(table).Append(" (id, name, description, created_at, amount, payload) FROM stdin;\n");
            }
            for (var r = 0; r < 20; r++, id++)
            {
                var x = Next();
                sb.Append(id).Append('\t').Append("customer_").Append(x % 100_000).Append('\t');
                var words = 3 + (int)(x >> 60);
                for (var w = 0; w < words; w++) sb.Append(Words[(int)(Next() % (ulong)Words.Length)]).Append(' ');
                sb.Append('\t').Append("2024-").Append(1 + (x >> 8) % 12).Append('-').Append(1 + (x >> 16) % 28).Append(' ')
                    .Append((x >> 24) % 24).Append(':').Append((x >> 32) % 60).Append(":00+00\t")
                    .Append((x >> 40) % 100_000).Append('.').Append((x >> 50) % 100).Append('\t');
                if (x % 3 == 0) sb.Append("{\"k\": ").Append(x % 977).Append(", \"tags\": [\"").Append(Words[(int)(x % 7)]).Append("\"]}");
                else sb.Append("\\N");
                sb.Append('\n');
            }
            var bytes = Encoding.UTF8.GetBytes(sb.ToString());
            var n = Math.Min(bytes.Length, size - at);
            bytes.AsSpan(0, n).CopyTo(output.AsSpan(at));
            at += n;
        }
        return output;
    }

    public static byte[] RandomBytes(int size, int seed)
    {
        var bytes = new byte[size];
        new Random(seed).NextBytes(bytes);
        return bytes;
    }

    /// <summary>A small chunker so tests produce many frames and volumes from little data.</summary>
    public static GearChunker SmallChunker() => new(2 * 1024, 8 * 1024, 32 * 1024);

    public const int TestIterations = 1000;

    public static byte[] ChunkIdKey { get; } = Enumerable.Range(0, 32).Select(i => (byte)(i * 7 + 3)).ToArray();

    public static async Task<DataSummary> WriteAsync(IBackupStorage storage, string prefix, string backupId, byte[] data, PipelineOptions options, BackupKeys? keys, int writeSize = 10_000)
    {
        await using var writer = await BackupDataWriter.CreateAsync(storage, prefix, backupId, options, keys, CancellationToken.None);
        for (var at = 0; at < data.Length; at += writeSize)
        {
            var n = Math.Min(writeSize, data.Length - at);
            if ((at / writeSize) % 2 == 0) await writer.WriteAsync(data.AsMemory(at, n));
            else writer.Write(data, at, n);
        }
        return await writer.CompleteAsync(CancellationToken.None);
    }

    public static async Task<byte[]> ReadAllAsync(IBackupStorage storage, string prefix, string backupId, DataSummary summary, BackupKeys? keys)
    {
        await using var reader = await BackupDataReader.OpenAsync(storage, prefix, backupId, summary, keys, CancellationToken.None);
        using var output = new MemoryStream();
        await reader.CopyToAsync(output, 7000);
        return output.ToArray();
    }
}

/// <summary>A temporary folder removed after the test.</summary>
internal sealed class TempFolder : IDisposable
{
    public TempFolder()
    {
        Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "dbbackup-pipeline-" + Guid.NewGuid().ToString("N")[..12]);
        Directory.CreateDirectory(Path);
    }

    public string Path { get; }

    public string Combine(params string[] parts) => System.IO.Path.Combine([Path, .. parts]);

    public void Dispose()
    {
        if (Directory.Exists(Path)) Directory.Delete(Path, recursive: true);
    }
}
