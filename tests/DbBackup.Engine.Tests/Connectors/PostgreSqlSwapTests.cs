using DbBackup.Engine.Connectors.PostgreSql;
using DbBackup.TestSupport;
using Xunit;

namespace DbBackup.Engine.Tests.Connectors;

[Trait("Engine", "PostgreSql")]
public sealed class PostgreSqlSwapTests
{
    private readonly PostgreSqlConnector _connector = new();

    [Fact]
    public async Task SwapIn_RenamesStagingOverTheTarget_AndDropsTheOldDatabase()
    {
        var target = TestDatabases.Postgres(TestDatabases.UniqueName("live"));
        var staging = TestDatabases.Postgres(target.Database + "_staging");
        try
        {
            await TestDatabases.PgExecuteAsync("postgres", $"CREATE DATABASE \"{target.Database}\"");
            await TestDatabases.PgExecuteAsync(target.Database, "CREATE TABLE t (v text); INSERT INTO t VALUES ('old')");
            await TestDatabases.PgExecuteAsync("postgres", $"CREATE DATABASE \"{staging.Database}\"");
            await TestDatabases.PgExecuteAsync(staging.Database, "CREATE TABLE t (v text); INSERT INTO t VALUES ('new')");

            // A session still connected to the target must not block the swap.
            await using var lingering = new Npgsql.NpgsqlConnection(TestDatabases.NpgsqlConnectionString(target));
            await lingering.OpenAsync();

            await _connector.SwapInAsync(staging, target, CancellationToken.None);

            Assert.Equal("new", await TestDatabases.PgScalarAsync<string>(target.Database, "SELECT v FROM t"));
            Assert.False(await TestDatabases.PgDatabaseExistsAsync(staging.Database));
            Assert.Equal(0L, await TestDatabases.PgScalarAsync<long>("postgres", $"SELECT count(*) FROM pg_database WHERE datname LIKE '{target.Database}\\_\\_dbbackup\\_old\\_%'"));
        }
        finally
        {
            await _connector.DropAsync(target, CancellationToken.None);
            await _connector.DropAsync(staging, CancellationToken.None);
        }
    }

    [Fact]
    public async Task SwapIn_WhenTheTargetDoesNotExist_JustRenames()
    {
        var target = TestDatabases.Postgres(TestDatabases.UniqueName("live"));
        var staging = TestDatabases.Postgres(target.Database + "_staging");
        try
        {
            await TestDatabases.PgExecuteAsync("postgres", $"CREATE DATABASE \"{staging.Database}\"");
            await TestDatabases.PgExecuteAsync(staging.Database, "CREATE TABLE t (v text); INSERT INTO t VALUES ('new')");
            await _connector.SwapInAsync(staging, target, CancellationToken.None);
            Assert.Equal("new", await TestDatabases.PgScalarAsync<string>(target.Database, "SELECT v FROM t"));
            Assert.False(await TestDatabases.PgDatabaseExistsAsync(staging.Database));
        }
        finally
        {
            await _connector.DropAsync(target, CancellationToken.None);
            await _connector.DropAsync(staging, CancellationToken.None);
        }
    }

    [Fact]
    public async Task SwapIn_WithoutStaging_FailsAndLeavesTheTargetAlone()
    {
        await using var target = await TestDatabases.CreatePostgresAsync();
        var e = await Assert.ThrowsAsync<Errors.DbBackupException>(() =>
            _connector.SwapInAsync(TestDatabases.Postgres(target.Name + "_missing"), target.Options, CancellationToken.None));
        Assert.Equal(Errors.ErrorIds.RestoreFailed, e.ErrorId);
        Assert.True(await TestDatabases.PgDatabaseExistsAsync(target.Name));
    }

    [Fact]
    public async Task QuotedDatabaseNames_WorkThroughDumpRestoreAndSwap()
    {
        var odd = TestDatabases.UniqueName("Odd Name=\"x\"'");
        var source = TestDatabases.Postgres(odd);
        var target = TestDatabases.Postgres(odd + "_copy");
        try
        {
            await TestDatabases.PgExecuteAsync("postgres", $"CREATE DATABASE \"{odd.Replace("\"", "\"\"", StringComparison.Ordinal)}\"");
            await using (var db = new Npgsql.NpgsqlConnection(TestDatabases.NpgsqlConnectionString(source)))
            {
                await db.OpenAsync();
                await using var command = new Npgsql.NpgsqlCommand("CREATE TABLE t (v text); INSERT INTO t VALUES ('quoted')", db);
                await command.ExecuteNonQueryAsync();
            }
            using var dump = new MemoryStream();
            await _connector.DumpAsync(source, dump, CancellationToken.None);
            dump.Position = 0;
            await _connector.RestoreAsync(target, dump, CancellationToken.None);
            Assert.True(await TestDatabases.PgDatabaseExistsAsync(target.Database));
            Assert.Equal(new Engine.Connectors.TargetState(true, false), await _connector.GetTargetStateAsync(target, CancellationToken.None));
        }
        finally
        {
            await _connector.DropAsync(target, CancellationToken.None);
            await _connector.DropAsync(source, CancellationToken.None);
        }
    }
}
