using DbBackup.Cli.Tests.Support;
using Xunit;

namespace DbBackup.Cli.Tests;

/// <summary>Bad input ends with one clear error line (plus a hint) and a documented non-zero exit code.</summary>
public sealed class UsageTests : IDisposable
{
    private readonly Workspace _workspace = new();

    public void Dispose() => _workspace.Dispose();

    private Task<CliRun> Run(params string[] args) => _workspace.Cli.RunAsync(args);

    private static void AssertUsageError(CliRun run, string mustMention)
    {
        Assert.True(run.ExitCode == 2, run.ToString());
        var error = Assert.Single(run.ErrorLines);
        Assert.StartsWith("dbbackup: error InvalidArgument: ", error);
        Assert.Contains(mustMention, error, StringComparison.Ordinal);
        Assert.Equal("", run.StandardOutput);
        // At most the error and its hint: no help text dumped on a usage error.
        Assert.True(run.StandardError.TrimEnd().Split('\n').Length <= 2, run.StandardError);
    }

    [Fact]
    public async Task Unknown_engine_is_a_usage_error()
        => AssertUsageError(await Run("backup", "--engine", "oracle", "--database", "x", "--repository", _workspace.Repository), "oracle");

    [Fact]
    public async Task Missing_repository_is_a_usage_error()
        => AssertUsageError(await Run("backup", "--engine", "sqlite", "--database", _workspace.PathOf("a.db")), "--repository");

    [Fact]
    public async Task Missing_database_is_a_usage_error()
        => AssertUsageError(await Run("backup", "--engine", "sqlite", "--repository", _workspace.Repository), "--database");

    [Fact]
    public async Task Unknown_compression_and_bad_volume_size_are_usage_errors()
    {
        var common = new[] { "backup", "--engine", "sqlite", "--database", _workspace.PathOf("a.db"), "--repository", _workspace.Repository };
        AssertUsageError(await Run([.. common, "--compression", "lzma"]), "lzma");
        AssertUsageError(await Run([.. common, "--volume-size", "lots"]), "lots");
    }

    [Fact]
    public async Task No_subcommand_is_a_usage_error()
    {
        var run = await Run();
        Assert.True(run.ExitCode == 2, run.ToString());
        Assert.StartsWith("dbbackup: error InvalidArgument: ", Assert.Single(run.ErrorLines));
    }

    [Fact]
    public async Task Restore_needs_repository_and_backup_id()
    {
        AssertUsageError(await Run("restore", "--repository", _workspace.Repository, "--target-database", "x"), "--backup-id");
        AssertUsageError(await Run("restore", "--backup-id", "x"), "--repository");
    }

    /// <summary>Secrets never come from argv: there is no --password/--passphrase option that takes a value.</summary>
    [Theory]
    [InlineData("backup")]
    [InlineData("restore")]
    [InlineData("verify")]
    [InlineData("test-connection")]
    public async Task No_option_takes_a_password_or_passphrase_value(string command)
    {
        var help = await Run(command, "--help");
        Assert.True(help.ExitCode == 0, help.ToString());
        var secretOptions = help.StandardOutput.Split('\n').Select(l => l.Trim())
            .Where(l => l.StartsWith('-')).Select(l => l.Split("  ", 2)[0])
            .Where(names => names.Contains("password", StringComparison.OrdinalIgnoreCase) || names.Contains("passphrase", StringComparison.OrdinalIgnoreCase))
            .ToList();
        Assert.NotEmpty(secretOptions);
        Assert.All(secretOptions, names =>
            // Only switches (--password-prompt, --passphrase-prompt) and a file path (--passphrase-file <path>) exist.
            Assert.True(!names.Contains('<', StringComparison.Ordinal) || names == "--passphrase-file <path>",
                $"{command}: option takes a secret value: {names}"));

        var run = await Run(command, "--password", "s3cret-on-argv");
        Assert.True(run.ExitCode == 2, run.ToString());
        Assert.Contains("--password", Assert.Single(run.ErrorLines), StringComparison.Ordinal);
        Assert.DoesNotContain("s3cret-on-argv", run.StandardError, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Verify_has_the_test_backup_alias()
    {
        var run = await Run("test-backup", "--help");
        Assert.True(run.ExitCode == 0, run.ToString());
        Assert.Contains("--repository", run.StandardOutput, StringComparison.Ordinal);
    }
}
