using System.CommandLine;
using DbBackup.Engine;
using DbBackup.Engine.Errors;

namespace DbBackup.Cli.Commands;

/// <summary><c>dbbackup verify</c> (alias <c>test-backup</c>): Test-Backup.</summary>
internal static class VerifyCommand
{
    public static Command Create(GlobalOptions global)
    {
        var repository = CliOptions.Repository(required: true);
        var backupId = CliOptions.BackupId(required: false);
        backupId.Description = "The backup to verify; default: every backup in the repository (matching --database).";
        var database = new Option<string?>("--database") { Description = "The database the backup is filed under; with no --backup-id a pattern ('*', '?').", HelpName = "name" };
        var encryption = new EncryptionOptionSet();

        var command = new Command("verify", "Read every frame of a backup, authenticate it and check its hashes (Test-Backup). "
            + "Exit code 0 when every backup is valid, 5 when one is not.");
        command.Aliases.Add("test-backup");
        command.Options.Add(repository);
        command.Options.Add(backupId);
        command.Options.Add(database);
        encryption.AddTo(command);

        CommandRunner.SetAction(command, global, async (result, context, cancellationToken) =>
        {
            var location = CliOptions.NormalizeLocation(result.GetRequiredValue(repository));
            var keys = encryption.Build(result, confirmPassphrase: false);
            var targets = result.GetValue(backupId) is { } requested
                ? [(Id: requested, Database: result.GetValue(database))]
                : (await context.Service.GetHistoryAsync(
                        // Every backup the repository holds now, not what the catalog remembers: rebuild its index first.
                        new HistoryQuery { Repository = location, Database = result.GetValue(database), Refresh = true },
                        context.Progress, cancellationToken).ConfigureAwait(false))
                    .Select(r => (Id: r.BackupId, Database: (string?)r.Database)).ToList();
            if (targets.Count == 0)
            {
                throw new BackupNotFoundException(ErrorIds.BackupNotFound, $"No backups found in the repository '{location}'.",
                    "Check --repository and --database; 'dbbackup history --repository <path> --refresh' lists what is there.");
            }

            var results = new List<VerificationResult>();
            int? firstFailure = null;
            foreach (var (id, db) in targets)
            {
                try
                {
                    var verification = await context.Service.VerifyAsync(
                        new VerifyRequest { Repository = location, BackupId = id, Database = db, Encryption = keys },
                        context.Progress, cancellationToken).ConfigureAwait(false);
                    results.Add(verification);
                    if (!verification.IsValid)
                    {
                        firstFailure ??= ExitCodes.ForErrorId(verification.ErrorId) ?? ExitCodes.Integrity;
                    }
                }
                catch (DbBackupException e) when (targets.Count > 1 && e.Kind != ErrorKind.OperationStopped)
                {
                    // One bad backup must not hide the state of the others: report it and go on.
                    context.Progress.Complete();
                    ErrorReporter.Report(Console.Error, e);
                    firstFailure ??= ExitCodes.For(e);
                }
            }
            context.Progress.Complete();
            context.Output.WriteVerification(results);
            foreach (var invalid in results.Where(r => !r.IsValid))
            {
                ErrorReporter.Report(Console.Error, invalid.ErrorId ?? ErrorIds.BackupCorrupted,
                    $"Backup {invalid.Database}/{invalid.BackupId} is not valid: {invalid.Problems.FirstOrDefault() ?? "see the output"}",
                    "Do not rely on this backup; take a new one.");
            }
            return firstFailure ?? ExitCodes.Success;
        });
        return command;
    }
}
