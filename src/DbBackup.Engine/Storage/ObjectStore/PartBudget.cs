namespace DbBackup.Engine.Storage.ObjectStore;

/// <summary>
/// The part buffers and upload slots one <see cref="ObjectStoreStorage"/> shares among all its writers. A backup keeps
/// several objects open at once (the index, the volume being filled, the previous volume still committing), and a
/// budget per writer would multiply: with 8 MiB × 8 parts per writer, two volumes alone held about 150 MB. Here the
/// parts in flight across every writer of the storage are at most <see cref="Slots"/>, and a part's buffer goes back
/// to a bounded pool as soon as its upload ends, so part memory stays near (slots + open writers) × PartSize.
/// </summary>
internal sealed class PartBudget
{
    private readonly Stack<byte[]> _free = new();
    private readonly int _retained;

    public PartBudget(ObjectStoreLimits limits)
    {
        PartSize = limits.PartSize;
        // At least two slots, so the commit of one volume overlaps the first part of the next even where the parts of one
        // object go up one at a time (GCS resumable uploads).
        SlotCount = Math.Max(2, limits.MaxConcurrentParts);
        Slots = new SemaphoreSlim(SlotCount, SlotCount);
        _retained = SlotCount + 2;
    }

    public int PartSize { get; }

    public int SlotCount { get; }

    /// <summary>Taken before a part upload starts, released when it ends (see <see cref="PartUploadWriter"/>).</summary>
    public SemaphoreSlim Slots { get; }

    /// <summary>A buffer of exactly <see cref="PartSize"/> bytes (contents undefined).</summary>
    public byte[] Rent()
    {
        lock (_free)
        {
            if (_free.TryPop(out var buffer)) return buffer;
        }
        return GC.AllocateUninitializedArray<byte>(PartSize);
    }

    public void Return(byte[] buffer)
    {
        if (buffer.Length != PartSize) throw new ArgumentException($"Not a part buffer of this budget ({buffer.Length} bytes).", nameof(buffer));
        lock (_free)
        {
            if (_free.Count < _retained) _free.Push(buffer);
        }
    }
}
