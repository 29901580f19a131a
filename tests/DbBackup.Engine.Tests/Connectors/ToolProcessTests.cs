using System.Diagnostics;
using DbBackup.Engine.Connectors;
using DbBackup.Engine.Errors;
using DbBackup.TestSupport;
using Xunit;

namespace DbBackup.Engine.Tests.Connectors;

public sealed class ToolProcessTests
{
    [Fact]
    public async Task NonZeroExit_IsToolFailed_WithTheStderrTail()
    {
        var e = await Assert.ThrowsAsync<ToolException>(() => ToolProcess.RunAsync(
            new ToolInvocation("/bin/sh", ["-c", "echo first line >&2; echo 'the real reason' >&2; exit 3"]), null, Stream.Null, CancellationToken.None));
        Assert.Equal(ErrorIds.ToolFailed, e.ErrorId);
        Assert.Contains("exit code 3", e.Message, StringComparison.Ordinal);
        Assert.Contains("the real reason", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Stderr_IsBounded()
    {
        var e = await Assert.ThrowsAsync<ToolException>(() => ToolProcess.RunAsync(
            new ToolInvocation("/bin/sh", ["-c", "head -c 1000000 /dev/zero | tr '\\0' 'x' >&2; echo END >&2; exit 1"]), null, null, CancellationToken.None));
        Assert.InRange(e.Message.Length, 100, 20_000);
        Assert.Contains("END", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task StdinAndStdout_Stream_AndSecretsTravelInTheEnvironment()
    {
        var input = new MemoryStream(Enumerable.Range(0, 3_000_000).Select(i => (byte)i).ToArray());
        using var output = new MemoryStream();
        await ToolProcess.RunAsync(new ToolInvocation("/bin/sh", ["-c", "cat; printf %s \"$SECRET_FOR_TEST\""]) { Environment = new Dictionary<string, string?> { ["SECRET_FOR_TEST"] = "s3cr3t" } },
            input, output, CancellationToken.None);
        Assert.Equal(3_000_000 + 6, output.Length);
        Assert.Equal("s3cr3t"u8.ToArray(), output.ToArray()[^6..]);
    }

    [Fact]
    public async Task Cancellation_KillsTheChild()
    {
        int? pid = null;
        void OnStarted(StartedTool s) { if (s.ToolPath == "/bin/sleep") { pid = s.ProcessId; } }
        ToolProcess.Started += OnStarted;
        try
        {
            using var cts = new CancellationTokenSource(TimeSpan.FromMilliseconds(300));
            var stopwatch = Stopwatch.StartNew();
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => ToolProcess.RunAsync(new ToolInvocation("/bin/sleep", ["30"]), null, Stream.Null, cts.Token));
            Assert.True(stopwatch.Elapsed < TimeSpan.FromSeconds(10));
        }
        finally
        {
            ToolProcess.Started -= OnStarted;
        }
        Assert.NotNull(pid);
        Assert.False(File.Exists($"/proc/{pid}/cmdline") && File.ReadAllText($"/proc/{pid}/cmdline").Contains("sleep", StringComparison.Ordinal));
    }

    [Fact]
    public async Task FailingInput_IsRethrown_AndTheChildIsStopped()
    {
        var e = await Assert.ThrowsAsync<InvalidDataException>(() => ToolProcess.RunAsync(
            new ToolInvocation("/bin/cat", []), new FailingStream(new byte[1_000_000], 500_000), Stream.Null, CancellationToken.None));
        Assert.Equal(FailingStream.Message, e.Message);
    }

    [Fact]
    public async Task FailingOutput_IsRethrown_AndTheChildIsStopped()
    {
        var stopwatch = Stopwatch.StartNew();
        var e = await Assert.ThrowsAsync<IOException>(() => ToolProcess.RunAsync(
            new ToolInvocation("/bin/sh", ["-c", "while :; do head -c 65536 /dev/zero; done"]), null, new BrokenOutputStream(), CancellationToken.None));
        Assert.Equal("storage is full (test)", e.Message);
        Assert.True(stopwatch.Elapsed < TimeSpan.FromSeconds(10));
    }

    private sealed class BrokenOutputStream : Stream
    {
        public override bool CanRead => false;
        public override bool CanSeek => false;
        public override bool CanWrite => true;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => 0; set => throw new NotSupportedException(); }
        public override void Flush() { }
        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new IOException("storage is full (test)");
    }

    [Fact]
    public async Task ChildThatStopsReadingEarly_ReportsItsOwnFailure()
    {
        var e = await Assert.ThrowsAsync<ToolException>(() => ToolProcess.RunAsync(
            new ToolInvocation("/bin/sh", ["-c", "head -c 10 >/dev/null; echo 'bad input at byte 10' >&2; exit 2"]), new MemoryStream(new byte[5_000_000]), null, CancellationToken.None));
        Assert.Equal(ErrorIds.ToolFailed, e.ErrorId);
        Assert.Contains("bad input at byte 10", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ToolLocator_PrefersTheToolDirectory_AndParsesTheVersion()
    {
        using var tools = new TempDirectory();
        var fake = tools.Script("pg_dump", "echo 'pg_dump (PostgreSQL) 17.2 (Debian 17.2-1)'");
        var tool = await ToolLocator.LocateAsync(Engine.Connectors.PostgreSql.PostgreSqlConnector.PgDump, tools.Path, CancellationToken.None);
        Assert.Equal(fake, tool.Path);
        Assert.Equal(new Version(17, 2), tool.Version);
    }

    [Fact]
    public async Task ToolLocator_ToolThatReportsNoVersion_IsToolNotFound()
    {
        using var tools = new TempDirectory();
        tools.Script("mariadb-dump", "echo 'hello'");
        var e = await Assert.ThrowsAsync<ToolException>(() => ToolLocator.LocateAsync(Engine.Connectors.MySql.MariaDbClient.Dump, tools.Path, CancellationToken.None));
        Assert.Equal(ErrorIds.ToolNotFound, e.ErrorId);
    }
}
