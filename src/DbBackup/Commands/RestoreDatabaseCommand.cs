using System.Management.Automation;
using System.Security;
using DbBackup.Engine;
using DbBackup.PowerShell.Hosting;
using DbBackup.Engine.Restore;

namespace DbBackup.PowerShell.Commands;

/// <summary>
/// Restores a backup into a database: by default into a new name, never touching the source; replacing a
/// database that holds data asks first unless -Force.
/// </summary>
[Cmdlet(VerbsData.Restore, "Database", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium,
    DefaultParameterSetName = InputObjectParameterSet)]
[OutputType(typeof(RestoreResult))]
public sealed class RestoreDatabaseCommand : DbBackupCmdlet
{
    private bool _yesToAll;
    private bool _noToAll;

    [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true, ParameterSetName = InputObjectParameterSet)]
    public BackupRecord? InputObject { get; set; }

    [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true, ParameterSetName = IdParameterSet)]
    [ValidateNotNullOrEmpty]
    public string BackupId { get; set; } = string.Empty;

    [Parameter(Mandatory = true, ValueFromPipelineByPropertyName = true, ParameterSetName = IdParameterSet)]
    [Parameter(ParameterSetName = InputObjectParameterSet)]
    [Alias("Destination")]
    [ValidateNotNullOrEmpty]
    public string? Repository { get; set; }

    /// <summary>The database (SQLite: file) to restore into; default: a new name, see RestoreTargetName.</summary>
    [Parameter(Position = 1)]
    [ValidateNotNullOrEmpty]
    public string? TargetDatabase { get; set; }

    [Parameter]
    [Alias("Host")]
    [ValidateNotNullOrEmpty]
    public string? Server { get; set; }

    [Parameter]
    [ValidateRange(1, 65535)]
    public int? Port { get; set; }

    [Parameter]
    [Credential]
    public PSCredential? Credential { get; set; }

    [Parameter]
    [ValidateRange(1, 3600)]
    public int? ConnectTimeout { get; set; }

    /// <summary>A directory searched for the client tools (pg_dump, mariadb-dump, ...) before PATH.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? ToolDirectory { get; set; }

    [Parameter]
    public SecureString? Passphrase { get; set; }

    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? KeyFile { get; set; }

    /// <summary>Replace a target that holds data without asking.</summary>
    [Parameter]
    public SwitchParameter Force { get; set; }

    protected override void ProcessRecord()
    {
        var backup = ParameterSetName == IdParameterSet
            ? FindBackup(ResolveRepository(Repository!), BackupId)
            : InputObject;
        if (backup is null)
        {
            return;
        }

        var repository = ResolveRepository(Repository ?? backup.Repository);
        var targetName = TargetDatabase ?? RestoreTargetName.For(backup.Engine, backup.Database, DateTimeOffset.UtcNow);
        var target = CreateConnection(backup.Engine, Server, Port, targetName, Credential, ConnectTimeout, ToolDirectory);
        var action = $"Restore backup '{backup.BackupId}' of '{backup.Database}' ({ProgressWriter.FormatBytes(backup.Size)}, " +
                     $"{backup.StartTime:u}) from '{repository}'";
        if (!ShouldProcess(target.ToString(), action))
        {
            return;
        }

        var state = Invoke((service, _, token) => service.GetTargetStateAsync(target, token), target.Database);
        if (state is null)
        {
            return;
        }
        if (state.Exists && !state.IsEmpty && !Force &&
            !ShouldContinue($"Database '{target}' exists and holds data. Replace it with backup '{backup.BackupId}' of '{backup.Database}'?",
                "Replace database", ref _yesToAll, ref _noToAll))
        {
            WriteVerbose($"Skipped restoring '{backup}': the target '{target}' holds data and replacing it was declined.");
            return;
        }

        var request = new RestoreRequest
        {
            Repository = repository,
            BackupId = backup.BackupId,
            Database = backup.Database,
            Target = target,
            ReplaceExisting = state.Exists,
            Encryption = CreateEncryption(Passphrase, KeyFile),
        };
        if (Invoke((service, events, token) => service.RestoreAsync(request, events, token), backup) is { } result)
        {
            WriteObject(result);
        }
    }
}
