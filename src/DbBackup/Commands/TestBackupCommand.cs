using System.Management.Automation;
using System.Security;
using DbBackup.Engine;

namespace DbBackup.PowerShell.Commands;

/// <summary>Verifies backups: reads every frame, authenticates it, checks the hashes; one result per backup.</summary>
[Cmdlet(VerbsDiagnostic.Test, "Backup", DefaultParameterSetName = InputObjectParameterSet)]
[OutputType(typeof(VerificationResult))]
public sealed class TestBackupCommand : DbBackupCmdlet
{
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

    [Parameter]
    public SecureString? Passphrase { get; set; }

    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? KeyFile { get; set; }

    protected override void ProcessRecord()
    {
        var backupId = InputObject?.BackupId ?? BackupId;
        var request = new VerifyRequest
        {
            Repository = ResolveRepository(Repository ?? InputObject!.Repository),
            BackupId = backupId,
            Database = InputObject?.Database,
            Encryption = CreateEncryption(Passphrase, KeyFile),
        };
        if (Invoke((service, events, token) => service.VerifyAsync(request, events, token), (object?)InputObject ?? backupId) is { } result)
        {
            if (!result.IsValid)
            {
                WriteWarning($"Backup '{result}' failed verification ({result.ErrorId}): {string.Join("; ", result.Problems)}");
            }
            WriteObject(result);
        }
    }
}
