using System.CommandLine;
using DbBackup.Engine;

namespace DbBackup.Cli.Commands;

/// <summary><c>dbbackup history</c>: Get-BackupHistory.</summary>
internal static class HistoryCommand
{
    public static Command Create(GlobalOptions global)
    {
        var repository = CliOptions.Repository(required: false);
        repository.Description = "Only backups in this repository (required with --refresh).";
        var database = new Option<string?>("--database") { Description = "Database name; '*' and '?' wildcards allowed.", HelpName = "pattern" };
        var engine = CliOptions.Engine(required: false);
        var backupId = CliOptions.BackupId(required: false);
        var last = new Option<int?>("--last") { Description = "Only the newest N backups per database.", HelpName = "n" };
        var since = CliOptions.Parsed<DateTimeOffset>("--since", "Only backups started at or after this time: ISO 8601 (UTC unless an offset is given) or an age such as 12h or 7d.",
            "time", (string text, out DateTimeOffset value, out string? error) => ValueParsers.TryParseSince(text, DateTimeOffset.UtcNow, out value, out error));
        var refresh = new Option<bool>("--refresh") { Description = "Rebuild the catalog's index of --repository from its manifests first (e.g. on a new machine)." };

        var command = new Command("history", "List backups from the catalog (Get-BackupHistory).");
        command.Options.Add(repository);
        command.Options.Add(database);
        command.Options.Add(engine);
        command.Options.Add(backupId);
        command.Options.Add(last);
        command.Options.Add(since);
        command.Options.Add(refresh);

        CommandRunner.SetAction(command, global, async (result, context, cancellationToken) =>
        {
            var location = result.GetValue(repository);
            if (result.GetValue(refresh) && location is null)
            {
                throw CliOptions.UsageError("--refresh needs --repository: it rebuilds the catalog's index of one repository.",
                    "Add --repository <path>.");
            }
            if (result.GetValue(last) is <= 0)
            {
                throw CliOptions.UsageError("--last must be a positive number.", "Use e.g. --last 1 for the newest backup of each database.");
            }
            var query = new HistoryQuery
            {
                Repository = location is null ? null : CliOptions.NormalizeLocation(location),
                Database = result.GetValue(database),
                Engine = result.GetValue(engine),
                BackupId = result.GetValue(backupId),
                Last = result.GetValue(last),
                Since = result.GetValue(since),
                Refresh = result.GetValue(refresh),
            };
            var records = await context.Service.GetHistoryAsync(query, context.Progress, cancellationToken).ConfigureAwait(false);
            context.Progress.Complete();
            context.Output.WriteHistory(records);
            return ExitCodes.Success;
        });
        return command;
    }
}
