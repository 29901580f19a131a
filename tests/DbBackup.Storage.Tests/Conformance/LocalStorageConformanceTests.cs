using DbBackup.Engine.Storage;

namespace DbBackup.Storage.Tests.Conformance;

/// <summary>Local disk: a fresh temp folder per test.</summary>
public sealed class LocalStorageFixture : IStorageFixture, IDisposable
{
    private readonly string _root = Path.Combine(Path.GetTempPath(), "dbbackup-conformance-" + Guid.NewGuid().ToString("N")[..8]);

    public int PartSize => 1 << 20; // local disk has no parts; the suite still writes objects this large

    public int ListPageSize => 7;

    public Uri? ServiceEndpoint => null;

    public IBackupStorage Open(Uri? endpoint, StorageOptions? options) => new LocalFileStorage(Path.Combine(_root, Guid.NewGuid().ToString("N")[..8]));

    public void Dispose()
    {
        if (Directory.Exists(_root)) Directory.Delete(_root, recursive: true);
    }
}

public sealed class LocalStorageConformanceTests(LocalStorageFixture fixture) : StorageConformanceTests<LocalStorageFixture>(fixture);
