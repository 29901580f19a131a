using System.Management.Automation;
using DbBackup.Engine;
using DbBackup.PowerShell.Completion;

namespace DbBackup.PowerShell.Commands;

/// <summary>Lists backups from the local catalog; -Refresh rebuilds the catalog's index of a repository first.</summary>
[Cmdlet(VerbsCommon.Get, "BackupHistory")]
[OutputType(typeof(BackupRecord))]
public sealed class GetBackupHistoryCommand : DbBackupCmdlet
{
    [Parameter(Position = 0)]
    [SupportsWildcards]
    [ArgumentCompleter(typeof(DatabaseNameCompleter))]
    [ValidateNotNullOrEmpty]
    public string? Database { get; set; }

    [Parameter(ValueFromPipelineByPropertyName = true)]
    [Alias("Destination")]
    [ValidateNotNullOrEmpty]
    public string? Repository { get; set; }

    [Parameter]
    public DatabaseEngine? Engine { get; set; }

    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? BackupId { get; set; }

    [Parameter]
    [ValidateRange(1, int.MaxValue)]
    public int? Last { get; set; }

    [Parameter]
    public DateTime? Since { get; set; }

    [Parameter]
    public SwitchParameter Refresh { get; set; }

    protected override void ProcessRecord()
    {
        if (Refresh && Repository is null)
        {
            ThrowArgumentError("-Refresh rebuilds the catalog index of one repository and needs -Repository.",
                "Add -Repository <path or URI> to the command.", null);
        }

        var query = new HistoryQuery
        {
            Repository = Repository is null ? null : ResolveRepository(Repository),
            Database = Database,
            Engine = Engine,
            BackupId = BackupId,
            Since = Since is { } since ? new DateTimeOffset(since) : null,
            Last = Last,
            Refresh = Refresh,
        };
        if (Invoke((service, events, token) => service.GetHistoryAsync(query, events, token), Repository ?? Database) is { } records)
        {
            WriteObject(records, enumerateCollection: true);
        }
    }
}
