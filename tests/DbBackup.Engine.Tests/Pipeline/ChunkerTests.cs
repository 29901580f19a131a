using System.Diagnostics;
using System.Security.Cryptography;
using DbBackup.Engine.Pipeline;
using Xunit;
using Xunit.Abstractions;

namespace DbBackup.Engine.Tests.Pipeline;

public sealed class ChunkerTests(ITestOutputHelper output)
{
    private static readonly Lazy<byte[]> HundredMegabytes = new(() => PipelineTestData.SqlText(100 * 1024 * 1024, seed: 7));

    [Fact]
    public void DefaultGearChunkerNamesItsParameters()
    {
        var chunker = GearChunker.CreateDefault();
        Assert.Equal("gear-v1/256K/1M/4M", chunker.Name);
        Assert.Equal((256 * 1024, 1024 * 1024, 4 * 1024 * 1024), (chunker.MinSize, chunker.AverageSize, chunker.MaxSize));
    }

    [Fact]
    public void InsertingOneByteAtTheStartReusesAtLeast90PercentOfChunks()
    {
        var data = HundredMegabytes.Value;
        var chunker = GearChunker.CreateDefault();
        var original = Chunk(chunker, data);
        var shifted = new byte[data.Length + 1];
        shifted[0] = (byte)'X';
        data.CopyTo(shifted, 1);
        var after = Chunk(chunker, shifted);

        var known = original.Select(c => c.Hash).ToHashSet();
        var reused = after.Count(c => known.Contains(c.Hash));
        var ratio = (double)reused / after.Count;
        output.WriteLine($"{original.Count} chunks, average {data.Length / original.Count} bytes; {reused}/{after.Count} reused ({ratio:P1}).");
        Assert.True(ratio >= 0.9, $"Only {ratio:P1} of the chunks were reused.");
        Assert.InRange(data.Length / original.Count, chunker.AverageSize / 2, chunker.AverageSize * 2);
    }

    [Fact]
    public void ChunkSizesStayWithinMinimumAndMaximum()
    {
        var chunker = PipelineTestData.SmallChunker();
        // Random data, then a long run of one byte value (forces maximum-size cuts).
        var data = PipelineTestData.RandomBytes(3 * 1024 * 1024, 1).Concat(new byte[1024 * 1024]).ToArray();
        var chunks = Chunk(chunker, data);
        Assert.Equal(data.Length, chunks.Sum(c => c.Length));
        foreach (var chunk in chunks[..^1]) Assert.InRange(chunk.Length, chunker.MinSize, chunker.MaxSize);
        Assert.InRange(chunks[^1].Length, 1, chunker.MaxSize);
        Assert.Contains(chunks, c => c.Length == chunker.MaxSize);
    }

    [Fact]
    public void NeedsMoreDataUntilMaximumOrFinal()
    {
        var chunker = PipelineTestData.SmallChunker();
        var zeros = new byte[chunker.MaxSize - 1];
        Assert.Equal(0, chunker.NextChunkLength(zeros, final: false));
        Assert.Equal(zeros.Length, chunker.NextChunkLength(zeros, final: true));
        Assert.Equal(chunker.MaxSize, chunker.NextChunkLength(new byte[chunker.MaxSize + 10], final: false));
        Assert.Equal(0, chunker.NextChunkLength([], final: true));
        Assert.Equal(5, chunker.NextChunkLength(new byte[5], final: true));
    }

    [Fact]
    public void GearChunkerRunsAtLeast500MegabytesPerSecond()
    {
        var data = HundredMegabytes.Value;
        var chunker = GearChunker.CreateDefault();
        Chunk(chunker, data); // warm up (tiered JIT)
        var bestCpu = double.MaxValue;
        var bestWall = double.MaxValue;
        for (var run = 0; run < 3; run++)
        {
            var wall = Stopwatch.StartNew();
            var cpu = ThreadCpuClock.Now();
            var count = CountChunks(chunker, data);
            bestCpu = Math.Min(bestCpu, (ThreadCpuClock.Now() - cpu).TotalSeconds);
            bestWall = Math.Min(bestWall, wall.Elapsed.TotalSeconds);
            Assert.True(count > 10);
        }
        // "On one core": the bound holds for the CPU time of the chunking thread; the wall-clock rate is printed beside it.
        var rate = data.Length / bestCpu / 1e6;
        output.WriteLine($"gear chunker: {rate:F0} MB/s of thread CPU time ({data.Length / bestWall / 1e6:F0} MB/s wall clock)");
        Assert.True(rate >= 500, $"The gear chunker ran at {rate:F0} MB/s of CPU time on one core.");
    }

    [Theory]
    [InlineData(4096)]
    [InlineData(1024)]
    [InlineData(65536)]
    public void PageAlignedChunkerCutsOnlyAtPageBoundaries(int pageSize)
    {
        var chunker = new PageAlignedChunker(pageSize);
        Assert.Equal(0, chunker.MinSize % pageSize);
        Assert.Equal(0, chunker.MaxSize % pageSize);
        Assert.StartsWith($"page-v1/", chunker.Name);
        var data = PipelineTestData.RandomBytes(40 * 1024 * 1024 / pageSize * pageSize, pageSize);
        var chunks = Chunk(chunker, data);
        Assert.Equal(data.Length, chunks.Sum(c => c.Length));
        foreach (var chunk in chunks)
        {
            Assert.Equal(0, chunk.Length % pageSize);
            Assert.True(chunk.Length <= chunker.MaxSize);
        }
        foreach (var chunk in chunks[..^1]) Assert.True(chunk.Length >= chunker.MinSize);
        var average = data.Length / chunks.Count;
        output.WriteLine($"{chunker.Name}: {chunks.Count} chunks, average {average}");
        Assert.InRange(average, chunker.AverageSize / 2, chunker.AverageSize * 2);
    }

    [Fact]
    public void PageAlignedChunkerResynchronizesAfterAChangedPage()
    {
        const int page = 4096;
        var chunker = new PageAlignedChunker(page);
        var data = PipelineTestData.RandomBytes(32 * 1024 * 1024, 3);
        var before = Chunk(chunker, data).Select(c => c.Hash).ToHashSet();
        data[page * 10 + 100] ^= 0xFF; // one changed page near the start
        var after = Chunk(chunker, data);
        var reused = after.Count(c => before.Contains(c.Hash));
        Assert.True(reused >= after.Count - 2, $"{reused} of {after.Count} chunks reused.");
    }

    internal static List<(int Length, string Hash)> Chunk(IChunker chunker, byte[] data)
    {
        var chunks = new List<(int, string)>();
        var at = 0;
        while (at < data.Length)
        {
            var n = chunker.NextChunkLength(data.AsSpan(at), final: true);
            Assert.True(n > 0 && n <= data.Length - at);
            chunks.Add((n, Convert.ToHexString(SHA256.HashData(data.AsSpan(at, n)))));
            at += n;
        }
        return chunks;
    }

    private static int CountChunks(IChunker chunker, byte[] data)
    {
        var count = 0;
        for (var at = 0; at < data.Length; count++) at += chunker.NextChunkLength(data.AsSpan(at), final: true);
        return count;
    }
}
