using System.CommandLine;
using DbBackup.Engine;
using DbBackup.Engine.Errors;
using DbBackup.Engine.Restore;

namespace DbBackup.Cli.Commands;

/// <summary><c>dbbackup restore</c>: Restore-Database.</summary>
internal static class RestoreCommand
{
    public static Command Create(GlobalOptions global)
    {
        var connection = new ConnectionOptionSet(engineRequired: false);
        connection.Engine.Description = "Engine of the target; default: the backup's engine (looked up in the catalog).";
        var repository = CliOptions.Repository(required: true);
        var backupId = CliOptions.BackupId(required: true);
        var database = new Option<string?>("--database") { Description = "The source database the backup is filed under (needed only when the id is ambiguous).", HelpName = "name" };
        var target = new Option<string?>("--target-database")
        {
            Description = "The database to restore into (for sqlite: the file); an existing non-empty one needs --force. "
                + "Default: a new name, <database>_restored_<UTC yyyyMMddHHmmss> (sqlite: a file of that name in the current directory).",
            HelpName = "name",
        };
        var force = new Option<bool>("--force") { Description = "Replace the target even when it exists and is not empty, without asking." };
        var encryption = new EncryptionOptionSet();

        var command = new Command("restore", "Restore one backup into a database (Restore-Database). The target is not touched "
            + "until every frame has been read and authenticated.");
        connection.AddTo(command);
        command.Options.Add(repository);
        command.Options.Add(backupId);
        command.Options.Add(database);
        command.Options.Add(target);
        command.Options.Add(force);
        encryption.AddTo(command);

        CommandRunner.SetAction(command, global, async (result, context, cancellationToken) =>
        {
            var location = CliOptions.NormalizeLocation(result.GetRequiredValue(repository));
            var id = result.GetRequiredValue(backupId);
            var sourceDatabase = result.GetValue(database);
            var engine = result.GetValue(connection.Engine);
            var targetName = result.GetValue(target);
            if (engine is null || (targetName is null && sourceDatabase is null))
            {
                var record = await BackupLookup.FindAsync(context, location, id, sourceDatabase, cancellationToken).ConfigureAwait(false);
                engine ??= record.Engine;
                sourceDatabase ??= record.Database;
            }
            targetName ??= RestoreTargetName.For(engine.Value, sourceDatabase!, DateTimeOffset.UtcNow);
            var targetOptions = connection.Build(result, engine.Value, targetName);
            var encryptionOptions = encryption.Build(result, confirmPassphrase: false);

            var replace = result.GetValue(force);
            if (!replace)
            {
                var state = await context.Service.GetTargetStateAsync(targetOptions, cancellationToken).ConfigureAwait(false);
                if (state is { Exists: true, IsEmpty: false })
                {
                    replace = CliContext.Interactive
                        && CliContext.Confirm($"The target {targetOptions} exists and is not empty. Replace it?");
                    if (!replace)
                    {
                        throw new DbBackupException(ErrorIds.TargetNotEmpty, ErrorKind.InvalidOperation,
                            $"The target {targetOptions} exists and is not empty; nothing was changed.",
                            "Restore into a new name with --target-database, or pass --force to replace it.")
                        {
                            Target = targetOptions.Database,
                        };
                    }
                }
            }

            var request = new RestoreRequest
            {
                Repository = location,
                BackupId = id,
                Database = sourceDatabase,
                Target = targetOptions,
                ReplaceExisting = replace,
                Encryption = encryptionOptions,
            };
            var restored = await context.Service.RestoreAsync(request, context.Progress, cancellationToken).ConfigureAwait(false);
            context.Progress.Complete();
            context.Output.WriteRestore(restored);
            return ExitCodes.Success;
        });
        return command;
    }
}
