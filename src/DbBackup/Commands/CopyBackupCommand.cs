using System.Management.Automation;
using System.Security;
using DbBackup.Engine;

namespace DbBackup.PowerShell.Commands;

/// <summary>
/// Copies backups into further repositories: volumes and frame index first, manifest last, each copy read back and
/// checked in its target; one CopyResult per target, a failed target is a non-terminating error.
/// </summary>
[Cmdlet(VerbsCommon.Copy, "Backup", DefaultParameterSetName = InputObjectParameterSet, SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Low)]
[OutputType(typeof(CopyResult))]
public sealed class CopyBackupCommand : DbBackupCmdlet
{
    [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true, ParameterSetName = InputObjectParameterSet)]
    public BackupRecord? InputObject { get; set; }

    [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true, ParameterSetName = IdParameterSet)]
    [ValidateNotNullOrEmpty]
    public string BackupId { get; set; } = string.Empty;

    /// <summary>The repository holding the backup (the source of the copy).</summary>
    [Parameter(Mandatory = true, ValueFromPipelineByPropertyName = true, ParameterSetName = IdParameterSet)]
    [Parameter(ParameterSetName = InputObjectParameterSet)]
    [ValidateNotNullOrEmpty]
    public string? Repository { get; set; }

    /// <summary>The database the backup is filed under; only needed when the id exists for several databases.</summary>
    [Parameter(ValueFromPipelineByPropertyName = true, ParameterSetName = IdParameterSet)]
    [ValidateNotNullOrEmpty]
    public string? Database { get; set; }

    /// <summary>The repositories to copy into.</summary>
    [Parameter(Mandatory = true, Position = 1)]
    [ValidateNotNullOrEmpty]
    public string[] Destination { get; set; } = [];

    [Parameter]
    public SwitchParameter NoVerify { get; set; }

    [Parameter]
    public SecureString? Passphrase { get; set; }

    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? KeyFile { get; set; }

    protected override void ProcessRecord()
    {
        var backupId = InputObject?.BackupId ?? BackupId;
        var source = ResolveRepository(Repository ?? InputObject!.Repository);
        var targets = Destination.Select(ResolveRepository).ToList();
        if (!ShouldProcess($"{InputObject?.Database ?? Database ?? "backup"}/{backupId} in '{source}'", $"Copy to {string.Join(", ", targets.Select(t => $"'{t}'"))}"))
        {
            return;
        }
        var request = new CopyRequest
        {
            Source = source,
            Targets = targets,
            BackupId = backupId,
            Database = InputObject?.Database ?? Database,
            Verify = !NoVerify.IsPresent,
            Encryption = CreateEncryption(Passphrase, KeyFile),
        };
        if (Invoke((service, events, token) => service.CopyAsync(request, events, token), (object?)InputObject ?? backupId) is not { } results)
        {
            return;
        }
        foreach (var result in results)
        {
            WriteObject(result);
            if (!result.Succeeded)
            {
                WriteCopyFailure(result);
            }
        }
    }
}
