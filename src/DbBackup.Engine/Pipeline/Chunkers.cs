namespace DbBackup.Engine.Pipeline;

/// <summary>Content-defined gear/FastCDC-style chunker for logical dumps.</summary>
public sealed class GearChunker : IChunker
{
    // CONTRACT STUB — implemented by the pipeline work.
    public GearChunker(int minSize, int averageSize, int maxSize) { MinSize = minSize; AverageSize = averageSize; MaxSize = maxSize; }

    /// <summary>The default parameters for database dumps (see docs/format.md).</summary>
    public static GearChunker CreateDefault() => throw new NotImplementedException();

    public string Name => throw new NotImplementedException();
    public int MinSize { get; }
    public int AverageSize { get; }
    public int MaxSize { get; }
    public int NextChunkLength(ReadOnlySpan<byte> data, bool final) => throw new NotImplementedException();
}

/// <summary>Cuts only on page boundaries (SQLite database files), content-defined among them.</summary>
public sealed class PageAlignedChunker : IChunker
{
    // CONTRACT STUB — implemented by the pipeline work.
    public PageAlignedChunker(int pageSize) { PageSize = pageSize; }

    public int PageSize { get; }
    public string Name => throw new NotImplementedException();
    public int MinSize => throw new NotImplementedException();
    public int AverageSize => throw new NotImplementedException();
    public int MaxSize => throw new NotImplementedException();
    public int NextChunkLength(ReadOnlySpan<byte> data, bool final) => throw new NotImplementedException();
}
