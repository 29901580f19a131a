using DbBackup.Engine;
using DbBackup.Engine.Errors;

namespace DbBackup.Cli.Commands;

/// <summary>Finds backups in a repository through the catalog, refreshing its index once when it does not know them yet.</summary>
internal static class BackupLookup
{
    public static async Task<BackupRecord> FindAsync(CliContext context, string repository, string backupId, string? database,
        CancellationToken cancellationToken)
    {
        var found = await QueryAsync(context, repository, backupId, database, cancellationToken).ConfigureAwait(false);
        return found.FirstOrDefault() ?? throw new BackupNotFoundException(ErrorIds.BackupNotFound,
            $"Backup '{backupId}' was not found in the repository '{repository}'.",
            "List the repository's backups with 'dbbackup history --repository <path> --refresh'.")
        {
            Target = backupId,
        };
    }

    public static async Task<IReadOnlyList<BackupRecord>> QueryAsync(CliContext context, string repository, string? backupId,
        string? database, CancellationToken cancellationToken)
    {
        var found = await context.Service.GetHistoryAsync(
            new HistoryQuery { Repository = repository, BackupId = backupId, Database = database }, context.Progress, cancellationToken).ConfigureAwait(false);
        if (found.Count > 0)
        {
            return found;
        }
        return await context.Service.GetHistoryAsync(
            new HistoryQuery { Repository = repository, BackupId = backupId, Database = database, Refresh = true }, context.Progress, cancellationToken).ConfigureAwait(false);
    }
}
