using System.CommandLine;
using DbBackup.Engine;

namespace DbBackup.Cli.Commands;

/// <summary><c>dbbackup copy</c>: Copy-Backup.</summary>
internal static class CopyCommand
{
    public static Command Create(GlobalOptions global)
    {
        var backupId = CliOptions.BackupId(required: true);
        var from = new Option<string>("--from")
        {
            Description = "The repository holding the backup: a directory path or a storage URI.",
            HelpName = "location",
            Required = true,
        };
        var to = CliOptions.CopyTargets("--to", "The repository to copy the backup into (repeatable); each target gets its own result.");
        to.Required = true;
        var database = new Option<string?>("--database") { Description = "The database the backup is filed under; needed only when the id exists for several.", HelpName = "name" };
        var noVerify = new Option<bool>("--no-verify") { Description = "Do not read the copy back from the target to check its hashes (the bytes are still hashed while copying)." };
        var encryption = new EncryptionOptionSet();

        var command = new Command("copy", "Copy a backup into further repositories (Copy-Backup): data volumes and frame index first, the manifest "
            + "last, so a partial copy is never visible; an interrupted copy resumes where it stopped. "
            + $"Exit code 0 when every copy succeeded, {ExitCodes.PartialSuccess} when some failed.");
        command.Options.Add(backupId);
        command.Options.Add(from);
        command.Options.Add(to);
        command.Options.Add(database);
        command.Options.Add(noVerify);
        encryption.AddTo(command);

        CommandRunner.SetAction(command, global, async (result, context, cancellationToken) =>
        {
            var request = new CopyRequest
            {
                Source = CliOptions.NormalizeLocation(result.GetRequiredValue(from)),
                Targets = result.GetRequiredValue(to).Select(CliOptions.NormalizeLocation).ToList(),
                BackupId = result.GetRequiredValue(backupId),
                Database = result.GetValue(database),
                Verify = !result.GetValue(noVerify),
                Encryption = encryption.Build(result, confirmPassphrase: false),
            };
            var copies = await context.Service.CopyAsync(request, context.Progress, cancellationToken).ConfigureAwait(false);
            context.Progress.Complete();
            context.Output.WriteCopies(copies);
            ReportFailures(copies);
            return ExitCodes.ForCopies(copies, anotherTargetSucceeded: false);
        });
        return command;
    }

    /// <summary>One error line per failed copy on stderr (the results on stdout say the same for machines).</summary>
    public static void ReportFailures(IReadOnlyList<CopyResult> copies)
    {
        foreach (var failed in copies.Where(c => !c.Succeeded))
        {
            ErrorReporter.Report(Console.Error, failed.ErrorId ?? Engine.Errors.ErrorIds.CopyFailed,
                $"Copy of {failed.Database}/{failed.BackupId} to '{failed.Target}' failed: {failed.Message}",
                "Fix the target and run 'dbbackup copy' again; it resumes where it stopped.");
        }
    }
}
