using System.CommandLine;
using DbBackup.Engine;

namespace DbBackup.Cli.Commands;

/// <summary><c>dbbackup backup</c>: Backup-Database.</summary>
internal static class BackupCommand
{
    public static Command Create(GlobalOptions global)
    {
        var connection = new ConnectionOptionSet(engineRequired: true);
        var database = new Option<string>("--database")
        {
            Description = "The database to back up (for sqlite: the database file).",
            HelpName = "name",
            Required = true,
        };
        var repository = CliOptions.Repository(required: true);
        var compression = CliOptions.Parsed<CompressionCodec>("--compression",
            "Frame compression: zstd (default where the system libzstd loads), gzip or none.", "zstd|gzip|none", ValueParsers.TryParseCompression);
        var level = new Option<int?>("--compression-level") { Description = "Codec level (zstd 1-19, gzip 1-9); default: the codec's fast level.", HelpName = "n" };
        var volumeSize = CliOptions.Parsed<long>("--volume-size", "Upper bound of one data volume, e.g. 64MiB (the default) or 1GiB.", "size", ValueParsers.TryParseSize);
        var encryption = new EncryptionOptionSet();
        var copyTo = CliOptions.CopyTargets("--copy-to",
            "After the backup is written to --repository, copy it to this repository too and verify the copy there (repeatable). "
            + $"Each target gets its own result; exit code {ExitCodes.PartialSuccess} when a copy failed.");

        var command = new Command("backup", "Back up one database into a repository (Backup-Database). "
            + "Encrypted when a key is given: --key-file, --passphrase-prompt, --passphrase-file or $DBBACKUP_PASSPHRASE.");
        connection.AddTo(command);
        command.Options.Add(database);
        command.Options.Add(repository);
        command.Options.Add(compression);
        command.Options.Add(level);
        command.Options.Add(volumeSize);
        encryption.AddTo(command);
        command.Options.Add(copyTo);

        CommandRunner.SetAction(command, global, async (result, context, cancellationToken) =>
        {
            var engine = result.GetValue(connection.Engine)!.Value;
            var source = connection.Build(result, engine, result.GetRequiredValue(database));
            var request = new BackupRequest
            {
                Source = source,
                Repository = CliOptions.NormalizeLocation(result.GetRequiredValue(repository)),
                Compression = result.GetValue(compression),
                CompressionLevel = result.GetValue(level),
                VolumeSize = result.GetValue(volumeSize),
                Encryption = encryption.Build(result, confirmPassphrase: true),
            };
            var targets = (result.GetValue(copyTo) ?? []).Select(CliOptions.NormalizeLocation).ToList();
            if (targets.Count == 0)
            {
                var record = await context.Service.BackupAsync(request, context.Progress, cancellationToken).ConfigureAwait(false);
                context.Progress.Complete();
                context.Output.WriteBackup(record);
                return ExitCodes.Success;
            }
            var outcome = await context.Service.BackupToTargetsAsync(request, targets, context.Progress, cancellationToken).ConfigureAwait(false);
            context.Progress.Complete();
            context.Output.WriteBackupWithCopies(outcome.Backup, outcome.Copies);
            CopyCommand.ReportFailures(outcome.Copies);
            return ExitCodes.ForCopies(outcome.Copies, anotherTargetSucceeded: true);
        });
        return command;
    }
}
