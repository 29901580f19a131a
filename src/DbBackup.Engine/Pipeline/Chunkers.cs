using System.Runtime.InteropServices;

namespace DbBackup.Engine.Pipeline;

/// <summary>
/// Content-defined gear/FastCDC-style chunker for logical dumps: a 64-bit gear rolling hash
/// (<c>h = (h &lt;&lt; 1) + G[byte]</c>, so a cut depends on the last 64 bytes only), normalized chunking
/// (a strict threshold before the average size, a loose one after it) and no hashing of the first
/// <see cref="MinSize"/> - 64 bytes of a chunk. See docs/format.md.
/// </summary>
public sealed class GearChunker : IChunker
{
    /// <summary>Defaults for database dumps: 256 KiB / 1 MiB / 4 MiB.</summary>
    public const int DefaultMinSize = 256 * 1024, DefaultAverageSize = 1024 * 1024, DefaultMaxSize = 4 * 1024 * 1024;

    private const int Window = 64;
    private readonly ulong _strictThreshold;
    private readonly ulong _looseThreshold;

    public GearChunker(int minSize, int averageSize, int maxSize)
    {
        if (minSize < Window || averageSize <= minSize || maxSize <= averageSize || maxSize > 256 * 1024 * 1024)
            throw new ArgumentOutOfRangeException(nameof(minSize), $"Chunk sizes must satisfy {Window} <= min < average < max <= 256 MiB (got {minSize}/{averageSize}/{maxSize}).");
        MinSize = minSize;
        AverageSize = averageSize;
        MaxSize = maxSize;
        // Normalized chunking, level 2: a cut is 4x less likely than 1/average before the average size
        // and 4x more likely after it, which concentrates sizes around the average.
        _strictThreshold = Threshold(4.0 * averageSize);
        _looseThreshold = Threshold(averageSize / 4.0);
        Name = $"gear-v1/{SizeText.Format(minSize)}/{SizeText.Format(averageSize)}/{SizeText.Format(maxSize)}";
    }

    /// <summary>The default parameters for database dumps (see docs/format.md).</summary>
    public static GearChunker CreateDefault() => new(DefaultMinSize, DefaultAverageSize, DefaultMaxSize);

    public string Name { get; }
    public int MinSize { get; }
    public int AverageSize { get; }
    public int MaxSize { get; }

    public unsafe int NextChunkLength(ReadOnlySpan<byte> data, bool final)
    {
        var n = data.Length;
        if (n <= MinSize) return final ? n : 0;
        var limit = Math.Min(n, MaxSize);
        var normal = Math.Min(limit, AverageSize);
        var strict = _strictThreshold;
        var loose = _looseThreshold;
        ulong h = 0;
        var i = MinSize - Window;
        fixed (byte* p = data)
        fixed (ulong* g = GearTable.Values)
        {
            // Warm the 64-byte window up so the first possible cut is content-defined too.
            for (; i < MinSize; i++) h = (h << 1) + g[p[i]];
            for (; i < normal; i++)
            {
                h = (h << 1) + g[p[i]];
                if (h < strict) return i + 1;
            }
            for (; i < limit; i++)
            {
                h = (h << 1) + g[p[i]];
                if (h < loose) return i + 1;
            }
        }
        if (limit == MaxSize) return MaxSize;
        return final ? n : 0;
    }

    internal static ulong Threshold(double oneIn) => oneIn <= 1 ? ulong.MaxValue : (ulong)(18446744073709551616.0 / oneIn);
}

/// <summary>
/// Cuts only on page boundaries (SQLite database files), content-defined among them: at each page end
/// between the minimum and maximum size, a 64-bit hash of the whole page that ends there decides.
/// Sizes: the gear defaults rounded up to whole pages. See docs/format.md.
/// </summary>
public sealed class PageAlignedChunker : IChunker
{
    private readonly ulong _threshold;

    public PageAlignedChunker(int pageSize)
    {
        if (pageSize < 64 || pageSize > 1024 * 1024 || pageSize % 8 != 0)
            throw new ArgumentOutOfRangeException(nameof(pageSize), $"The page size must be a multiple of 8 between 64 and 1 MiB (got {pageSize}).");
        PageSize = pageSize;
        MinSize = RoundUp(GearChunker.DefaultMinSize, pageSize);
        AverageSize = Math.Max(RoundUp(GearChunker.DefaultAverageSize, pageSize), MinSize + pageSize);
        MaxSize = Math.Max(RoundUp(GearChunker.DefaultMaxSize, pageSize), AverageSize + pageSize);
        // Each page end after the minimum is a cut with probability p; the expected size is then
        // min + (1/p - 1) * page = average.
        _threshold = GearChunker.Threshold((double)(AverageSize - MinSize + pageSize) / pageSize);
        Name = $"page-v1/{SizeText.Format(pageSize)}/{SizeText.Format(MinSize)}/{SizeText.Format(AverageSize)}/{SizeText.Format(MaxSize)}";
    }

    public int PageSize { get; }
    public string Name { get; }
    public int MinSize { get; }
    public int AverageSize { get; }
    public int MaxSize { get; }

    public int NextChunkLength(ReadOnlySpan<byte> data, bool final)
    {
        var n = data.Length;
        if (n <= MinSize) return final ? n : 0;
        var limit = Math.Min(n, MaxSize);
        for (var end = MinSize; end <= limit; end += PageSize)
        {
            if (PageHash(data.Slice(end - PageSize, PageSize)) < _threshold) return end;
        }
        if (limit == MaxSize) return MaxSize;
        return final ? n : 0;
    }

    internal static ulong PageHash(ReadOnlySpan<byte> page)
    {
        const ulong k = 0x9E3779B97F4A7C15UL;
        ulong a = 0x243F6A8885A308D3UL, b = 0x13198A2E03707344UL;
        var words = MemoryMarshal.Cast<byte, ulong>(page);
        var i = 0;
        for (; i + 1 < words.Length; i += 2)
        {
            a = (a ^ words[i]) * k;
            b = (b ^ words[i + 1]) * k;
            a ^= a >> 29;
            b ^= b >> 31;
        }
        if (i < words.Length) a = (a ^ words[i]) * k;
        var h = a ^ (b * 0xBF58476D1CE4E5B9UL);
        h ^= h >> 31;
        h *= 0x94D049BB133111EBUL;
        return h ^ (h >> 29);
    }

    private static int RoundUp(int value, int multiple) => (value + multiple - 1) / multiple * multiple;
}

internal static class SizeText
{
    /// <summary>1048576 → "1M", 262144 → "256K", 1000 → "1000".</summary>
    public static string Format(long bytes) =>
        bytes % (1024 * 1024) == 0 ? $"{bytes / (1024 * 1024)}M" : bytes % 1024 == 0 ? $"{bytes / 1024}K" : bytes.ToString(System.Globalization.CultureInfo.InvariantCulture);
}

/// <summary>The gear table of <c>gear-v1</c>: fixed forever (SplitMix64 from a constant seed), since chunk boundaries depend on it.</summary>
internal static class GearTable
{
    public static readonly ulong[] Values = Create();

    private static ulong[] Create()
    {
        var values = new ulong[256];
        var state = 0x6462626B67656172UL; // "dbbkgear"
        for (var i = 0; i < values.Length; i++)
        {
            state += 0x9E3779B97F4A7C15UL;
            var z = state;
            z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
            z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
            values[i] = z ^ (z >> 31);
        }
        return values;
    }
}
