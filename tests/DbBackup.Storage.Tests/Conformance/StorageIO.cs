using DbBackup.Engine.Storage;

namespace DbBackup.Storage.Tests.Conformance;

/// <summary>Whole-object helpers the conformance and fault suites share.</summary>
public static class StorageIO
{
    public static byte[] RandomBytes(int length, int seed)
    {
        var data = new byte[length];
        new Random(seed).NextBytes(data);
        return data;
    }

    public static async Task PutAsync(IBackupStorage storage, string key, ReadOnlyMemory<byte> data, int writeSize = 65536, CancellationToken cancellationToken = default)
    {
        await using var writer = await storage.OpenWriteAsync(key, cancellationToken);
        for (var i = 0; i < data.Length; i += writeSize)
            await writer.Stream.WriteAsync(data.Slice(i, Math.Min(writeSize, data.Length - i)), cancellationToken);
        await writer.CommitAsync(cancellationToken);
    }

    public static async Task<byte[]> GetAsync(IBackupStorage storage, string key, long offset = 0, long? length = null)
    {
        await using var stream = await storage.OpenReadAsync(key, offset, length, CancellationToken.None);
        using var copy = new MemoryStream();
        await stream.CopyToAsync(copy, CancellationToken.None);
        return copy.ToArray();
    }

    public static async Task<List<StorageItem>> ListAsync(IBackupStorage storage, string prefix)
    {
        var items = new List<StorageItem>();
        await foreach (var item in storage.ListAsync(prefix, CancellationToken.None)) items.Add(item);
        return items;
    }
}
