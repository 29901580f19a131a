using DbBackup.Engine.Connectors;
using DbBackup.Engine.Connectors.PostgreSql;
using DbBackup.TestSupport;
using Xunit;

namespace DbBackup.Engine.Tests.Connectors;

/// <summary>One dump of the PostgreSQL hard-case database, shared by the round-trip tests of this class.</summary>
public sealed class PostgreSqlHardCasesFixture : IAsyncLifetime
{
    public TestDatabase Source { get; private set; } = null!;
    public byte[] Dump { get; private set; } = [];
    public string SourceNativeDump { get; private set; } = "";

    public async Task InitializeAsync()
    {
        Source = await TestDatabases.CreatePostgresAsync();
        await Fixtures.LoadPostgresAsync(Source.Name);
        using var output = new MemoryStream();
        await new PostgreSqlConnector().DumpAsync(Source.Options, output, CancellationToken.None);
        Dump = output.ToArray();
        SourceNativeDump = await NativeDumps.PostgresAsync(Source.Name);
    }

    public async Task DisposeAsync() => await Source.DisposeAsync();
}

[Trait("Engine", "PostgreSql")]
public sealed class PostgreSqlRoundTripTests(PostgreSqlHardCasesFixture fixture) : IClassFixture<PostgreSqlHardCasesFixture>
{
    private readonly PostgreSqlConnector _connector = new();

    [Fact]
    public void Dump_IsAnUncompressedCustomFormatArchive()
    {
        Assert.Equal("PGDMP"u8.ToArray(), fixture.Dump[..5]);
        // -Z0: the bytea of 4000 SHA-256 digests is stored as is (compressed it would be far smaller than the raw data).
        Assert.True(fixture.Dump.Length > 128_000, $"dump is only {fixture.Dump.Length} bytes");
    }

    [Fact]
    public async Task RoundTrip_HardCases_RestoredDumpEqualsSource()
    {
        var target = TestDatabases.Postgres(TestDatabases.UniqueName("r"));
        try
        {
            Assert.Equal(new TargetState(false, true), await _connector.GetTargetStateAsync(target, CancellationToken.None));
            await _connector.RestoreAsync(target, new MemoryStream(fixture.Dump), CancellationToken.None);
            Assert.Equal(new TargetState(true, false), await _connector.GetTargetStateAsync(target, CancellationToken.None));

            var restored = await NativeDumps.PostgresAsync(target.Database);
            DumpComparer.AssertEquivalent(DatabaseEngine.PostgreSql, fixture.SourceNativeDump, restored, minimumLines: 500);
            Assert.Contains("Zoë Ünïcödé 😀", restored, StringComparison.Ordinal);
            Assert.Equal(2003L, await TestDatabases.PgScalarAsync<long>(target.Database, "SELECT count(*) FROM sales.orders"));
        }
        finally
        {
            await _connector.DropAsync(target, CancellationToken.None);
        }
        Assert.False(await TestDatabases.PgDatabaseExistsAsync(target.Database));
    }

    [Fact]
    public async Task RoundTrip_NegativeControl_OneChangedRowFailsTheComparison()
    {
        var target = TestDatabases.Postgres(TestDatabases.UniqueName("n"));
        try
        {
            await _connector.RestoreAsync(target, new MemoryStream(fixture.Dump), CancellationToken.None);
            await TestDatabases.PgExecuteAsync(target.Database, "UPDATE sales.orders SET amount = amount + 0.01 WHERE id = 1500");

            var restored = await NativeDumps.PostgresAsync(target.Database);
            var comparison = DumpComparer.Compare(DatabaseEngine.PostgreSql, fixture.SourceNativeDump, restored);
            Assert.False(comparison.Equal);
            Assert.Contains("1500\t", comparison.FirstDifference, StringComparison.Ordinal);
        }
        finally
        {
            await _connector.DropAsync(target, CancellationToken.None);
        }
    }

    [Fact]
    public async Task Restore_IntoNonEmptyDatabase_IsRefused()
    {
        await using var target = await TestDatabases.CreatePostgresAsync();
        await TestDatabases.PgExecuteAsync(target.Name, "CREATE TABLE keep_me (id int)");
        var e = await Assert.ThrowsAsync<Errors.DbBackupException>(() => _connector.RestoreAsync(target.Options, new MemoryStream(fixture.Dump), CancellationToken.None));
        Assert.Equal(Errors.ErrorIds.TargetNotEmpty, e.ErrorId);
        Assert.Equal(1L, await TestDatabases.PgScalarAsync<long>(target.Name, "SELECT count(*) FROM pg_tables WHERE tablename = 'keep_me'"));
    }

    [Fact]
    public async Task Restore_WhenTheDumpStreamFails_RethrowsThatFailureAndStopsPgRestore()
    {
        var target = TestDatabases.Postgres(TestDatabases.UniqueName("f"));
        try
        {
            var failing = new FailingStream(fixture.Dump, failAfter: fixture.Dump.Length / 2);
            var e = await Assert.ThrowsAsync<InvalidDataException>(() => _connector.RestoreAsync(target, failing, CancellationToken.None));
            Assert.Equal(FailingStream.Message, e.Message);
        }
        finally
        {
            await _connector.DropAsync(target, CancellationToken.None);
        }
    }

    [Fact]
    public async Task Restore_OfGarbage_FailsWithPgRestoresMessage()
    {
        var target = TestDatabases.Postgres(TestDatabases.UniqueName("g"));
        try
        {
            var e = await Assert.ThrowsAsync<Errors.ToolException>(() => _connector.RestoreAsync(target, new MemoryStream("not a dump"u8.ToArray()), CancellationToken.None));
            Assert.Equal(Errors.ErrorIds.ToolFailed, e.ErrorId);
            Assert.Contains("pg_restore", e.Message, StringComparison.Ordinal);
            Assert.Contains("input file", e.Message, StringComparison.Ordinal);
        }
        finally
        {
            await _connector.DropAsync(target, CancellationToken.None);
        }
    }
}

/// <summary>A stream that serves some bytes, then throws — like a backup reader hitting a tampered frame.</summary>
internal sealed class FailingStream(byte[] data, int failAfter) : Stream
{
    public const string Message = "frame 7 failed authentication (test)";
    private int _position;

    public override int Read(byte[] buffer, int offset, int count)
    {
        if (_position >= failAfter)
        {
            throw new InvalidDataException(Message);
        }
        var n = Math.Min(count, Math.Min(failAfter, data.Length) - _position);
        Array.Copy(data, _position, buffer, offset, n);
        _position += n;
        return n;
    }

    public override bool CanRead => true;
    public override bool CanSeek => false;
    public override bool CanWrite => false;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => _position; set => throw new NotSupportedException(); }
    public override void Flush() { }
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
}
