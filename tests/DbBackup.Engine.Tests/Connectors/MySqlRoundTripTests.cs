using DbBackup.Engine.Connectors;
using DbBackup.Engine.Connectors.MySql;
using DbBackup.TestSupport;
using Xunit;

namespace DbBackup.Engine.Tests.Connectors;

/// <summary>One dump of the MariaDB hard-case database, shared by the round-trip tests of this class.</summary>
public sealed class MariaDbHardCasesFixture : IAsyncLifetime
{
    public TestDatabase Source { get; private set; } = null!;
    public byte[] Dump { get; private set; } = [];
    public string SourceNativeDump { get; private set; } = "";

    public async Task InitializeAsync()
    {
        Source = await TestDatabases.CreateMariaDbAsync();
        await Fixtures.LoadMariaDbAsync(Source.Name);
        using var output = new MemoryStream();
        await new MySqlConnector().DumpAsync(Source.Options, output, CancellationToken.None);
        Dump = output.ToArray();
        SourceNativeDump = await NativeDumps.MariaDbAsync(Source.Name);
    }

    public async Task DisposeAsync() => await Source.DisposeAsync();
}

[Trait("Engine", "MySql")]
public sealed class MySqlRoundTripTests(MariaDbHardCasesFixture fixture) : IClassFixture<MariaDbHardCasesFixture>
{
    private readonly MySqlConnector _connector = new();

    [Fact]
    public void Dump_HasNoDatabaseStatements_SoItRestoresIntoAnyName()
    {
        var text = System.Text.Encoding.UTF8.GetString(fixture.Dump);
        Assert.DoesNotContain("CREATE DATABASE", text, StringComparison.Ordinal);
        Assert.DoesNotContain("\nUSE ", text, StringComparison.Ordinal);
        Assert.Contains("CREATE TABLE `customers`", text, StringComparison.Ordinal);
        Assert.Contains("EVENT `nightly_cleanup`", text, StringComparison.Ordinal);
        Assert.Contains("PROCEDURE `add_order`", text, StringComparison.Ordinal);
        Assert.Contains("0x000102030405", text, StringComparison.Ordinal); // --hex-blob
    }

    [Fact]
    public async Task RoundTrip_HardCases_RestoredDumpEqualsSource()
    {
        var target = TestDatabases.MariaDb(TestDatabases.UniqueName("r"));
        try
        {
            Assert.Equal(new TargetState(false, true), await _connector.GetTargetStateAsync(target, CancellationToken.None));
            await _connector.RestoreAsync(target, new MemoryStream(fixture.Dump), CancellationToken.None);
            Assert.Equal(new TargetState(true, false), await _connector.GetTargetStateAsync(target, CancellationToken.None));

            var restored = await NativeDumps.MariaDbAsync(target.Database);
            DumpComparer.AssertEquivalent(DatabaseEngine.MySql, fixture.SourceNativeDump, restored, minimumLines: 200);
            Assert.Contains("Zoë 😀🎉 𝔘𝔫𝔦𝔠𝔬𝔡𝔢", restored, StringComparison.Ordinal);
            Assert.Equal("3001", (await TestDatabases.MariaDbExecuteAsync(target.Database, "SELECT COUNT(*) FROM orders")).Trim());
        }
        finally
        {
            await _connector.DropAsync(target, CancellationToken.None);
        }
        Assert.False(await TestDatabases.MariaDbDatabaseExistsAsync(target.Database));
    }

    [Fact]
    public async Task RoundTrip_NegativeControl_OneChangedRowFailsTheComparison()
    {
        var target = TestDatabases.MariaDb(TestDatabases.UniqueName("n"));
        try
        {
            await _connector.RestoreAsync(target, new MemoryStream(fixture.Dump), CancellationToken.None);
            await TestDatabases.MariaDbExecuteAsync(target.Database, "UPDATE customers SET balance = balance + 0.000001 WHERE id = 700");

            var restored = await NativeDumps.MariaDbAsync(target.Database);
            var comparison = DumpComparer.Compare(DatabaseEngine.MySql, fixture.SourceNativeDump, restored);
            Assert.False(comparison.Equal);
            Assert.Contains("customer 697", comparison.FirstDifference, StringComparison.Ordinal);
        }
        finally
        {
            await _connector.DropAsync(target, CancellationToken.None);
        }
    }

    [Fact]
    public async Task Restore_IntoNonEmptyDatabase_IsRefused()
    {
        await using var target = await TestDatabases.CreateMariaDbAsync();
        await TestDatabases.MariaDbExecuteAsync(target.Name, "CREATE TABLE keep_me (id int)");
        var e = await Assert.ThrowsAsync<Errors.DbBackupException>(() => _connector.RestoreAsync(target.Options, new MemoryStream(fixture.Dump), CancellationToken.None));
        Assert.Equal(Errors.ErrorIds.TargetNotEmpty, e.ErrorId);
    }

    [Fact]
    public async Task Restore_OfBrokenSql_FailsWithTheClientsMessage()
    {
        var target = TestDatabases.MariaDb(TestDatabases.UniqueName("g"));
        try
        {
            var e = await Assert.ThrowsAsync<Errors.ToolException>(() =>
                _connector.RestoreAsync(target, new MemoryStream("CREATE TABLE ok (id int);\nTHIS IS NOT SQL;\n"u8.ToArray()), CancellationToken.None));
            Assert.Equal(Errors.ErrorIds.ToolFailed, e.ErrorId);
            Assert.Contains("ERROR 1064", e.Message, StringComparison.Ordinal);
        }
        finally
        {
            await _connector.DropAsync(target, CancellationToken.None);
        }
    }

    [Fact]
    public async Task SwapIn_IsNotSupported_BecauseTheStrategyIsVerifyFirst()
    {
        Assert.Equal(RestoreStrategy.VerifyFirst, _connector.RestoreStrategy);
        await Assert.ThrowsAsync<NotSupportedException>(() => _connector.SwapInAsync(TestDatabases.MariaDb("a"), TestDatabases.MariaDb("b"), CancellationToken.None));
    }
}
