using System.CommandLine;
using DbBackup.Engine.Errors;

namespace DbBackup.Cli;

/// <summary>Runs one sub-command's body and maps every way it can end to an exit code and at most two stderr lines.</summary>
internal static class CommandRunner
{
    public static void SetAction(Command command, GlobalOptions options, Func<ParseResult, CliContext, CancellationToken, Task<int>> body)
        => command.SetAction((result, cancellationToken) => RunAsync(result, options, body, cancellationToken));

    private static async Task<int> RunAsync(ParseResult result, GlobalOptions options,
        Func<ParseResult, CliContext, CancellationToken, Task<int>> body, CancellationToken cancellationToken)
    {
        CliContext? context = null;
        try
        {
            context = CliContext.Create(result, options);
            return await body(result, context, cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            context?.Progress.Complete();
            ErrorReporter.Report(Console.Error, ErrorIds.OperationCancelled, "The operation was cancelled; nothing was committed.", null);
            return ExitCodes.Cancelled;
        }
        catch (DbBackupException e)
        {
            context?.Progress.Complete();
            ErrorReporter.Report(Console.Error, e);
            if (context?.Verbose == true && e.InnerException is not null)
            {
                Console.Error.WriteLine(e.InnerException.ToString());
            }
            return ExitCodes.For(e);
        }
        catch (Exception e)
        {
            context?.Progress.Complete();
            ErrorReporter.Report(Console.Error, ErrorReporter.InternalError, $"{e.GetType().Name}: {e.Message}",
                context?.Verbose == true ? null : "This is a bug in dbbackup; run again with --verbose for details and report it.");
            if (context?.Verbose == true)
            {
                Console.Error.WriteLine(e.ToString());
            }
            return ExitCodes.Failure;
        }
        finally
        {
            context?.Progress.Complete();
        }
    }
}
