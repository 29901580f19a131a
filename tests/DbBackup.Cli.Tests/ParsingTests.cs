using DbBackup.Engine.Errors;
using Xunit;

namespace DbBackup.Cli.Tests;

/// <summary>In-process checks of the CLI's value parsers and its documented exit-code table.</summary>
public sealed class ParsingTests
{
    [Theory]
    [InlineData("64MiB", 64L << 20)]
    [InlineData("64M", 64L << 20)]
    [InlineData("1GiB", 1L << 30)]
    [InlineData("500MB", 500_000_000L)]
    [InlineData("65536", 65536L)]
    [InlineData("1.5KiB", 1536L)]
    [InlineData("16 mib", 16L << 20)]
    public void Sizes_parse(string text, long expected)
    {
        Assert.True(ValueParsers.TryParseSize(text, out var bytes, out var error), error);
        Assert.Equal(expected, bytes);
    }

    [Theory]
    [InlineData("")]
    [InlineData("0")]
    [InlineData("-1MiB")]
    [InlineData("lots")]
    [InlineData("12XB")]
    public void Bad_sizes_are_rejected_with_a_message(string text)
    {
        Assert.False(ValueParsers.TryParseSize(text, out _, out var error));
        Assert.Contains("64MiB", error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("postgresql", DatabaseEngine.PostgreSql)]
    [InlineData("PostgreSQL", DatabaseEngine.PostgreSql)]
    [InlineData("mysql", DatabaseEngine.MySql)]
    [InlineData("mariadb", DatabaseEngine.MySql)]
    [InlineData("sqlite", DatabaseEngine.Sqlite)]
    public void Engines_parse(string text, DatabaseEngine expected)
    {
        Assert.True(ValueParsers.TryParseEngine(text, out var engine, out _));
        Assert.Equal(expected, engine);
    }

    [Theory]
    [InlineData("15", 15)]
    [InlineData("15s", 15)]
    [InlineData("500ms", 0.5)]
    [InlineData("2m", 120)]
    [InlineData("00:00:30", 30)]
    public void Durations_parse(string text, double seconds)
    {
        Assert.True(ValueParsers.TryParseDuration(text, out var duration, out var error), error);
        Assert.Equal(TimeSpan.FromSeconds(seconds), duration);
    }

    [Fact]
    public void Since_accepts_iso_dates_as_utc_and_ages()
    {
        var now = new DateTimeOffset(2026, 11, 22, 12, 0, 0, TimeSpan.Zero);
        Assert.True(ValueParsers.TryParseSince("2026-11-01", now, out var date, out _));
        Assert.Equal(new DateTimeOffset(2026, 11, 1, 0, 0, 0, TimeSpan.Zero), date);
        Assert.True(ValueParsers.TryParseSince("7d", now, out var age, out _));
        Assert.Equal(now.AddDays(-7), age);
        Assert.False(ValueParsers.TryParseSince("yesterday-ish", now, out _, out _));
    }

    [Theory]
    [InlineData(ErrorIds.InvalidArgument, ErrorKind.InvalidArgument, 2)]
    [InlineData(ErrorIds.KeyRequired, ErrorKind.SecurityError, 2)]
    [InlineData(ErrorIds.AuthenticationFailed, ErrorKind.AuthenticationError, 3)]
    [InlineData(ErrorIds.ConnectionTimeout, ErrorKind.OperationTimeout, 3)]
    [InlineData(ErrorIds.DatabaseNotFound, ErrorKind.ConnectionError, 4)]
    [InlineData(ErrorIds.BackupNotFound, ErrorKind.ObjectNotFound, 4)]
    [InlineData(ErrorIds.BackupTampered, ErrorKind.InvalidData, 5)]
    [InlineData(ErrorIds.WrongKey, ErrorKind.SecurityError, 5)]
    [InlineData(ErrorIds.ToolNotFound, ErrorKind.NotInstalled, 6)]
    [InlineData(ErrorIds.TargetNotEmpty, ErrorKind.InvalidOperation, 7)]
    [InlineData(ErrorIds.OperationCancelled, ErrorKind.OperationStopped, 130)]
    [InlineData(ErrorIds.StorageError, ErrorKind.WriteError, 1)]
    [InlineData("SomeFutureId", ErrorKind.ObjectNotFound, 4)]
    [InlineData("SomeFutureId", ErrorKind.WriteError, 1)]
    public void Exit_codes_follow_the_documented_table(string errorId, ErrorKind kind, int expected)
        => Assert.Equal(expected, ExitCodes.For(new DbBackupException(errorId, kind, "message")));
}
