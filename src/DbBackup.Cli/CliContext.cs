using System.CommandLine;
using DbBackup.Engine;

namespace DbBackup.Cli;

/// <summary>What one invocation needs: the engine, where results and progress go, and the global switches.</summary>
internal sealed class CliContext
{
    public const string CatalogVariable = "DBBACKUP_CATALOG";

    private CliContext(ParseResult result, GlobalOptions options)
    {
        Verbose = result.GetValue(options.Verbose);
        var quiet = result.GetValue(options.Quiet);
        var format = result.GetValue(options.Output) switch
        {
            "json" => OutputFormat.Json,
            "table" => OutputFormat.Table,
            _ => Console.IsOutputRedirected ? OutputFormat.Json : OutputFormat.Table,
        };
        var mode = quiet ? ProgressMode.Off
            : !Console.IsErrorRedirected ? ProgressMode.Terminal
            : result.GetValue(options.Progress) ? ProgressMode.Lines
            : ProgressMode.Off;
        Output = new OutputWriter(Console.Out, format);
        Progress = new ProgressReporter(Console.Error, mode, quiet, Verbose);
        var catalog = result.GetValue(options.Catalog) ?? Environment.GetEnvironmentVariable(CatalogVariable);
        Service = new DbBackupService(new EngineSettings
        {
            CatalogPath = string.IsNullOrWhiteSpace(catalog) ? null : Path.GetFullPath(catalog),
        });
    }

    public bool Verbose { get; }
    public OutputWriter Output { get; }
    public ProgressReporter Progress { get; }
    public DbBackupService Service { get; }

    /// <summary>Whether the user can be asked a question (stdin and stderr are a terminal).</summary>
    public static bool Interactive => !Console.IsInputRedirected && !Console.IsErrorRedirected;

    public static CliContext Create(ParseResult result, GlobalOptions options) => new(result, options);

    public static bool Confirm(string question)
    {
        Console.Error.Write(question + " [y/N] ");
        var answer = Console.ReadLine();
        return answer is not null && (answer.Trim().Equals("y", StringComparison.OrdinalIgnoreCase)
            || answer.Trim().Equals("yes", StringComparison.OrdinalIgnoreCase));
    }
}
