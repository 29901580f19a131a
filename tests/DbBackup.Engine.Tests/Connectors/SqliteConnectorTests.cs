using DbBackup.Engine.Connectors;
using DbBackup.Engine.Connectors.Sqlite;
using DbBackup.Engine.Errors;
using DbBackup.TestSupport;
using Microsoft.Data.Sqlite;
using Xunit;

namespace DbBackup.Engine.Tests.Connectors;

[Trait("Engine", "Sqlite")]
public sealed class SqliteConnectorTests : IDisposable
{
    private readonly TempDirectory _dir = new();
    private readonly SqliteConnector _connector;

    public SqliteConnectorTests() => _connector = new SqliteConnector(_dir.Path);

    public void Dispose() => _dir.Dispose();

    private static ConnectionOptions File(string path) => new() { Engine = DatabaseEngine.Sqlite, Database = path };

    private async Task<byte[]> DumpAsync(string path)
    {
        using var output = new MemoryStream();
        await _connector.DumpAsync(File(path), output, CancellationToken.None);
        return output.ToArray();
    }

    [Fact]
    public async Task RoundTrip_HardCases_RestoredDumpEqualsSource()
    {
        var source = _dir.File("shop.db");
        await Fixtures.CreateSqliteAsync(source);
        var dump = await DumpAsync(source);
        Assert.Equal("SQLite format 3\0"u8.ToArray(), dump[..16]);

        var target = _dir.File("restored.db");
        Assert.Equal(new TargetState(false, true), await _connector.GetTargetStateAsync(File(target), CancellationToken.None));
        await _connector.RestoreAsync(File(target), new MemoryStream(dump), CancellationToken.None);
        Assert.Equal(new TargetState(true, false), await _connector.GetTargetStateAsync(File(target), CancellationToken.None));

        var expected = await NativeDumps.SqliteAsync(source);
        var actual = await NativeDumps.SqliteAsync(target);
        DumpComparer.AssertEquivalent(DatabaseEngine.Sqlite, expected, actual, minimumLines: 1000);
        Assert.Contains("CREATE TRIGGER customers_audit", actual, StringComparison.Ordinal);
        Assert.Contains("CREATE VIEW order_totals", actual, StringComparison.Ordinal);
        Assert.Contains("Zoë 😀🎉", actual, StringComparison.Ordinal);
        Assert.Empty(Directory.GetFiles(_dir.Path, "dbbackup-*")); // the snapshot copy is gone
    }

    [Fact]
    public async Task RoundTrip_NegativeControl_OneChangedRowFailsTheComparison()
    {
        var source = _dir.File("shop.db");
        await Fixtures.CreateSqliteAsync(source);
        var target = _dir.File("restored.db");
        await _connector.RestoreAsync(File(target), new MemoryStream(await DumpAsync(source)), CancellationToken.None);
        await ToolRunner.RunAsync("sqlite3", [target, "UPDATE customers SET balance = balance + 1 WHERE id = 1000"]);

        var comparison = DumpComparer.Compare(DatabaseEngine.Sqlite, await NativeDumps.SqliteAsync(source), await NativeDumps.SqliteAsync(target));
        Assert.False(comparison.Equal);
        Assert.Contains("customer 997", comparison.FirstDifference, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Dump_WhileAWriterCommits_IsAConsistentSnapshot()
    {
        var source = _dir.File("busy.db");
        using (var setup = Open(source))
        {
            Execute(setup, "PRAGMA journal_mode = WAL; CREATE TABLE ledger (id INTEGER PRIMARY KEY, batch INTEGER NOT NULL, amount INTEGER NOT NULL, pad BLOB);");
        }
        using var stop = new CancellationTokenSource();
        var batches = 0;
        // Each transaction inserts 100 rows of one batch: a consistent snapshot holds only whole batches.
        var writer = Task.Run(() =>
        {
            using var db = Open(source);
            while (!stop.IsCancellationRequested)
            {
                using var transaction = db.BeginTransaction();
                using var insert = db.CreateCommand();
                insert.Transaction = transaction;
                insert.CommandText = "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 100) INSERT INTO ledger (batch, amount, pad) SELECT $b, i, zeroblob(500) FROM n";
                insert.Parameters.AddWithValue("$b", batches + 1);
                insert.ExecuteNonQuery();
                transaction.Commit();
                Interlocked.Increment(ref batches);
            }
        });
        try
        {
            while (Volatile.Read(ref batches) < 20)
            {
                await Task.Delay(10);
            }
            var snapshots = new List<byte[]>();
            for (var i = 0; i < 3; i++)
            {
                snapshots.Add(await DumpAsync(source));
            }
            Assert.True(Volatile.Read(ref batches) > 20, "the writer kept committing during the dumps");
            foreach (var (snapshot, index) in snapshots.Select((s, i) => (s, i)))
            {
                var copy = _dir.File($"copy{index}.db");
                await System.IO.File.WriteAllBytesAsync(copy, snapshot);
                using var db = Open(copy);
                Assert.Equal("ok", Scalar(db, "PRAGMA integrity_check"));
                var rows = Convert.ToInt64(Scalar(db, "SELECT count(*) FROM ledger"), System.Globalization.CultureInfo.InvariantCulture);
                var maxBatch = Convert.ToInt64(Scalar(db, "SELECT max(batch) FROM ledger"), System.Globalization.CultureInfo.InvariantCulture);
                Assert.True(rows >= 2000, $"snapshot {index} has only {rows} rows");
                Assert.Equal(maxBatch * 100, rows);
                Assert.Equal(0L, Convert.ToInt64(Scalar(db, "SELECT count(*) FROM (SELECT batch FROM ledger GROUP BY batch HAVING count(*) <> 100)"), System.Globalization.CultureInfo.InvariantCulture));
            }
        }
        finally
        {
            stop.Cancel();
            await writer;
        }
    }

    [Fact]
    public async Task TestConnection_Success_ReportsLibraryVersion()
    {
        var source = _dir.File("ok.db");
        await Fixtures.CreateSqliteAsync(source);
        var result = await _connector.TestConnectionAsync(File(source), CancellationToken.None);
        Assert.True(result.Success, result.Message);
        Assert.StartsWith("3.", result.ServerVersion, StringComparison.Ordinal);
        Assert.Equal("Microsoft.Data.Sqlite", result.ToolName);
        Assert.Equal(source, result.Server);
        var description = await _connector.DescribeAsync(File(source), CancellationToken.None);
        Assert.Equal(new FileInfo(source).Length, description.EstimatedSize);
    }

    [Fact]
    public async Task TestConnection_MissingFile_IsDatabaseNotFound()
    {
        var result = await _connector.TestConnectionAsync(File(_dir.File("nope.db")), CancellationToken.None);
        AssertFailure(result, ErrorIds.DatabaseNotFound, "does not exist");
    }

    [Fact]
    public async Task TestConnection_NotADatabase_IsDatabaseNotFound()
    {
        var path = _dir.File("text.db");
        await System.IO.File.WriteAllTextAsync(path, new string('x', 5000));
        var result = await _connector.TestConnectionAsync(File(path), CancellationToken.None);
        AssertFailure(result, ErrorIds.DatabaseNotFound, "not a SQLite database");
    }

    [Fact]
    public async Task Dump_MissingFile_Throws_DatabaseNotFound()
    {
        var e = await Assert.ThrowsAsync<ConnectionFailedException>(() => _connector.DumpAsync(File(_dir.File("nope.db")), Stream.Null, CancellationToken.None));
        Assert.Equal(ErrorIds.DatabaseNotFound, e.ErrorId);
    }

    [Fact]
    public async Task SwapIn_ReplacesTheTargetAtomically_AndRemovesStaleWalAndShm()
    {
        var target = _dir.File("live.db");
        using (var db = Open(target))
        {
            Execute(db, "CREATE TABLE t (v TEXT); INSERT INTO t VALUES ('old');");
        }
        await System.IO.File.WriteAllTextAsync(target + "-wal", "stale");
        await System.IO.File.WriteAllTextAsync(target + "-shm", "stale");
        var newer = _dir.File("newer.db");
        using (var db = Open(newer))
        {
            Execute(db, "CREATE TABLE t (v TEXT); INSERT INTO t VALUES ('new');");
        }
        var staging = _dir.File("live.db.staging");
        await _connector.RestoreAsync(File(staging), new MemoryStream(await DumpAsync(newer)), CancellationToken.None);

        await _connector.SwapInAsync(File(staging), File(target), CancellationToken.None);

        Assert.False(System.IO.File.Exists(staging));
        Assert.False(System.IO.File.Exists(target + "-wal"));
        Assert.False(System.IO.File.Exists(target + "-shm"));
        using var check = Open(target);
        Assert.Equal("new", Scalar(check, "SELECT v FROM t"));
    }

    [Fact]
    public async Task SwapIn_FromAnotherFolder_CopiesThenRenames()
    {
        using var other = new TempDirectory();
        var staging = other.File("staging.db");
        using (var db = Open(staging))
        {
            Execute(db, "CREATE TABLE t (v TEXT); INSERT INTO t VALUES ('new');");
        }
        var target = _dir.File("live.db");
        await _connector.SwapInAsync(File(staging), File(target), CancellationToken.None);
        Assert.False(System.IO.File.Exists(staging));
        using var check = Open(target);
        Assert.Equal("new", Scalar(check, "SELECT v FROM t"));
        Assert.Single(Directory.GetFiles(_dir.Path));
    }

    [Fact]
    public async Task Restore_OntoAnExistingFile_IsRefused_AndDropDeletesTheFile()
    {
        var target = _dir.File("exists.db");
        await Fixtures.CreateSqliteAsync(target);
        var e = await Assert.ThrowsAsync<DbBackupException>(() => _connector.RestoreAsync(File(target), new MemoryStream([1, 2, 3]), CancellationToken.None));
        Assert.Equal(ErrorIds.TargetNotEmpty, e.ErrorId);

        await System.IO.File.WriteAllTextAsync(target + "-journal", "x");
        await _connector.DropAsync(File(target), CancellationToken.None);
        Assert.Empty(Directory.GetFiles(_dir.Path));
    }

    [Fact]
    public async Task Restore_OfSomethingThatIsNotSqlite_FailsClearly()
    {
        var e = await Assert.ThrowsAsync<DbBackupException>(() => _connector.RestoreAsync(File(_dir.File("bad.db")), new MemoryStream("hello"u8.ToArray()), CancellationToken.None));
        Assert.Equal(ErrorIds.RestoreFailed, e.ErrorId);
    }

    [Fact]
    public void RepositoryName_IsTheFileNameWithoutExtension() =>
        Assert.Equal("shop", _connector.RepositoryName(File("/data/app/shop.db")));

    private static SqliteConnection Open(string path)
    {
        var db = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = path, Pooling = false }.ToString());
        db.Open();
        return db;
    }

    private static void Execute(SqliteConnection db, string sql)
    {
        using var command = db.CreateCommand();
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }

    private static object? Scalar(SqliteConnection db, string sql)
    {
        using var command = db.CreateCommand();
        command.CommandText = sql;
        return command.ExecuteScalar();
    }

    private static void AssertFailure(ConnectionTestResult result, string errorId, string messagePart) =>
        PostgreSqlConnectionTests.AssertFailure(result, errorId, messagePart);
}
