namespace DbBackup.Engine.Pipeline;

/// <summary>
/// Cuts a byte stream into content-defined chunks. Stateless between chunks: the caller passes the bytes
/// starting at the current chunk's first byte.
/// </summary>
public interface IChunker
{
    /// <summary>A name recorded in the manifest, with its parameters (e.g. <c>gear-v1/256K/1M/4M</c>).</summary>
    string Name { get; }
    int MinSize { get; }
    int AverageSize { get; }
    int MaxSize { get; }

    /// <summary>
    /// Length of the chunk that starts at <paramref name="data"/>[0], or 0 when more data is needed
    /// (no cut found and fewer than <see cref="MaxSize"/> bytes available and not <paramref name="final"/>).
    /// With <paramref name="final"/> set, returns at most <paramref name="data"/>.Length and never 0 for non-empty data.
    /// </summary>
    int NextChunkLength(ReadOnlySpan<byte> data, bool final);
}
