using System.CommandLine;
using System.CommandLine.Invocation;
using System.Runtime.InteropServices;
using DbBackup.Cli.Commands;
using DbBackup.Engine.Errors;

namespace DbBackup.Cli;

/// <summary>Builds the command tree and runs one invocation: parse, handle usage errors, wire Ctrl+C/SIGTERM to cancellation.</summary>
public static class CliApp
{
    public static RootCommand BuildRoot()
    {
        var global = new GlobalOptions();
        var root = new RootCommand("dbbackup: streaming backup, verify and restore of PostgreSQL, MySQL/MariaDB and SQLite databases. "
            + "Results go to stdout, progress and errors to stderr; exit codes are listed in docs/cli.md.");
        global.AddTo(root);
        root.Subcommands.Add(BackupCommand.Create(global));
        root.Subcommands.Add(RestoreCommand.Create(global));
        root.Subcommands.Add(HistoryCommand.Create(global));
        root.Subcommands.Add(VerifyCommand.Create(global));
        root.Subcommands.Add(CopyCommand.Create(global));
        root.Subcommands.Add(TestConnectionCommand.Create(global));
        return root;
    }

    public static async Task<int> RunAsync(string[] args)
    {
        var parse = BuildRoot().Parse(args);
        if (parse.Action is ParseErrorAction && parse.Errors.Count > 0)
        {
            var command = parse.CommandResult.Command;
            var path = command is RootCommand ? "dbbackup" : "dbbackup " + command.Name;
            ErrorReporter.Report(Console.Error, ErrorIds.InvalidArgument, parse.Errors[0].Message, $"Run '{path} --help' for the options.");
            return ExitCodes.Usage;
        }

        // First Ctrl+C or SIGTERM cancels (the engine then removes what it wrote); a second Ctrl+C ends the process at once.
        using var cancellation = new CancellationTokenSource();
        void OnSignal(PosixSignalContext context)
        {
            if (!cancellation.IsCancellationRequested)
            {
                context.Cancel = true;
                cancellation.Cancel();
            }
        }
        using var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, OnSignal);
        using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, OnSignal);

        var configuration = new InvocationConfiguration { ProcessTerminationTimeout = null, EnableDefaultExceptionHandler = false };
        return await parse.InvokeAsync(configuration, cancellation.Token).ConfigureAwait(false);
    }
}
