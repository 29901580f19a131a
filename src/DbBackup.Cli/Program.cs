return await DbBackup.Cli.CliApp.RunAsync(args).ConfigureAwait(false);
