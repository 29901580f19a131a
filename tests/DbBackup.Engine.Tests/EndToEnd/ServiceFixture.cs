using DbBackup.Engine.Repository;

namespace DbBackup.Engine.Tests.EndToEnd;

/// <summary>A temporary repository and catalog for one test, removed afterwards.</summary>
internal sealed class ServiceScope : IDisposable
{
    public ServiceScope()
    {
        Root = Directory.CreateTempSubdirectory("dbbackup-e2e-").FullName;
        Repository = Path.Combine(Root, "repo");
        Service = new DbBackupService(new EngineSettings { CatalogPath = Path.Combine(Root, "catalog.db") });
    }

    public string Root { get; }
    public string Repository { get; }
    public DbBackupService Service { get; }

    /// <summary>A service with a brand-new catalog, as on a machine that never saw this repository.</summary>
    public DbBackupService FreshService() => new(new EngineSettings { CatalogPath = Path.Combine(Root, $"catalog-{Guid.NewGuid():N}.db") });

    public string BackupFolder(BackupRecord record) => Path.Combine(Repository, BackupRepository.FolderOf(record.Database), record.BackupId);

    /// <summary>Flips one bit in the middle of the first data volume.</summary>
    public void FlipBitInFirstVolume(BackupRecord record)
    {
        var volume = Directory.GetFiles(BackupFolder(record), "data.*").Order(StringComparer.Ordinal).First();
        using var file = File.Open(volume, FileMode.Open, FileAccess.ReadWrite);
        file.Position = file.Length / 2;
        var b = file.ReadByte();
        file.Position = file.Length / 2;
        file.WriteByte((byte)(b ^ 0x10));
    }

    public void Dispose() => Directory.Delete(Root, recursive: true);
}
