using DbBackup.Engine.Catalog;
using Xunit;

namespace DbBackup.Engine.Tests.Repository;

public sealed class CatalogTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("dbbackup-catalog-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static BackupRecord Record(string repository, string database, string id, int minutesAgo) => new()
    {
        BackupId = id, Database = database, Engine = DatabaseEngine.PostgreSql, Type = BackupType.Full, Repository = repository,
        StartTime = DateTimeOffset.UtcNow.AddMinutes(-minutesAgo), EndTime = DateTimeOffset.UtcNow.AddMinutes(-minutesAgo + 1),
        Size = 100, StoredSize = 50, Compression = CompressionCodec.Zstd, Encryption = EncryptionMode.None,
        FrameCount = 1, VolumeCount = 1, PlaintextSha256 = new string('0', 64),
    };

    [Fact]
    public void Rebuilding_a_repository_replaces_its_index_and_keeps_local_state()
    {
        var catalog = new BackupCatalog(Path.Combine(_dir, "catalog.db"));
        catalog.Upsert(Record("/r1", "shop", "old", 10));
        catalog.Upsert(Record("/r2", "shop", "other-repo", 10));
        catalog.RecordRun("backup", "/r1", "shop", "old", DateTimeOffset.UtcNow, true, null, null);

        catalog.ReplaceRepository("/r1", [Record("/r1", "shop", "new", 5)]);

        Assert.Equal(["new"], catalog.Query(new HistoryQuery { Repository = "/r1" }).Select(r => r.BackupId));
        Assert.Equal(["other-repo"], catalog.Query(new HistoryQuery { Repository = "/r2" }).Select(r => r.BackupId));
        Assert.Equal(1, catalog.RunCount());
        Assert.True(catalog.HasIndexed("/r1"));
        Assert.False(catalog.HasIndexed("/r3"));
    }

    [Fact]
    public void Query_supports_wildcards_case_insensitively_and_last_per_database()
    {
        var catalog = new BackupCatalog(Path.Combine(_dir, "catalog.db"));
        catalog.Upsert(Record("/r", "Shop", "s1", 30));
        catalog.Upsert(Record("/r", "Shop", "s2", 20));
        catalog.Upsert(Record("/r", "shipping", "p1", 10));
        catalog.Upsert(Record("/r", "billing", "b1", 5));

        Assert.Equal(["p1", "s2", "s1"], catalog.Query(new HistoryQuery { Database = "sh*" }).Select(r => r.BackupId));
        Assert.Equal(["b1", "p1", "s2"], catalog.Query(new HistoryQuery { Last = 1 }).Select(r => r.BackupId));
        Assert.Equal(["Shop", "billing", "shipping"], catalog.DatabaseNames().OrderBy(n => n, StringComparer.Ordinal));
        Assert.Empty(catalog.Query(new HistoryQuery { Database = "nothing*" }));
    }
}
