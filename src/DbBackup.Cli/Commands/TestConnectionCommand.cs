using System.CommandLine;

namespace DbBackup.Cli.Commands;

/// <summary><c>dbbackup test-connection</c>: Test-DatabaseConnection.</summary>
internal static class TestConnectionCommand
{
    public static Command Create(GlobalOptions global)
    {
        var connection = new ConnectionOptionSet(engineRequired: true);
        var database = new Option<string>("--database")
        {
            Description = "The database to test (for sqlite: the database file).",
            HelpName = "name",
            Required = true,
        };
        var command = new Command("test-connection",
            "Test reachability, credentials, database, privileges and client tools (Test-DatabaseConnection). Exit code 0 when everything works.");
        connection.AddTo(command);
        command.Options.Add(database);

        CommandRunner.SetAction(command, global, async (result, context, cancellationToken) =>
        {
            var engine = result.GetValue(connection.Engine)!.Value;
            var options = connection.Build(result, engine, result.GetRequiredValue(database));
            var test = await context.Service.TestConnectionAsync(options, cancellationToken).ConfigureAwait(false);
            context.Output.WriteConnectionTest(test);
            if (test.Success)
            {
                return ExitCodes.Success;
            }
            ErrorReporter.Report(Console.Error, test.ErrorId ?? "ConnectionFailed", test.Message ?? "The connection test failed.", test.RecommendedAction);
            return ExitCodes.ForErrorId(test.ErrorId) ?? ExitCodes.Failure;
        });
        return command;
    }
}
