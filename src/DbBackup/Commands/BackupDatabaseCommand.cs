using System.Management.Automation;
using System.Security;
using DbBackup.Engine;

namespace DbBackup.PowerShell.Commands;

/// <summary>
/// Backs up one or more databases of one server into a repository, and optionally copies each backup into further
/// repositories ("local, then cloud"): the first -Repository is where it is written, the others get verified copies.
/// </summary>
[Cmdlet(VerbsData.Backup, "Database", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Low)]
[OutputType(typeof(BackupRecord))]
public sealed class BackupDatabaseCommand : DbBackupCmdlet
{
    [Parameter(Mandatory = true)]
    public DatabaseEngine Engine { get; set; }

    [Parameter]
    [Alias("Host")]
    [ValidateNotNullOrEmpty]
    public string? Server { get; set; }

    [Parameter]
    [ValidateRange(1, 65535)]
    public int? Port { get; set; }

    /// <summary>Database names; for SQLite, database file paths.</summary>
    [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [ValidateNotNullOrEmpty]
    public string[] Database { get; set; } = [];

    [Parameter]
    [Credential]
    public PSCredential? Credential { get; set; }

    /// <summary>Seconds to wait for the server to accept a connection.</summary>
    [Parameter]
    [ValidateRange(1, 3600)]
    public int? ConnectTimeout { get; set; }

    /// <summary>A directory searched for the client tools (pg_dump, mariadb-dump, ...) before PATH.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? ToolDirectory { get; set; }

    /// <summary>The first is where the backup is written; each further one receives a verified copy.</summary>
    [Parameter(Mandatory = true, Position = 1)]
    [Alias("Destination")]
    [ValidateNotNullOrEmpty]
    public string[] Repository { get; set; } = [];

    [Parameter]
    public CompressionCodec? Compression { get; set; }

    [Parameter]
    [ValidateRange(-7, 22)]
    public int? CompressionLevel { get; set; }

    [Parameter]
    public SecureString? Passphrase { get; set; }

    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? KeyFile { get; set; }

    /// <summary>Upper bound of one data volume, in bytes.</summary>
    [Parameter]
    [ValidateRange(1024L * 1024, long.MaxValue)]
    public long? VolumeSize { get; set; }

    protected override void ProcessRecord()
    {
        var repositories = Repository.Select(ResolveRepository).ToList();
        var repository = repositories[0];
        var copyTo = repositories.Skip(1).ToList();
        var action = copyTo.Count == 0
            ? $"Back up to repository '{repository}'"
            : $"Back up to repository '{repository}' and copy to {string.Join(", ", copyTo.Select(c => $"'{c}'"))}";
        foreach (var database in Database)
        {
            var source = CreateConnection(Engine, Server, Port, database, Credential, ConnectTimeout, ToolDirectory);
            if (!ShouldProcess(source.ToString(), action))
            {
                continue;
            }

            var request = new BackupRequest
            {
                Source = source,
                Repository = repository,
                Compression = Compression,
                CompressionLevel = CompressionLevel,
                Encryption = CreateEncryption(Passphrase, KeyFile),
                VolumeSize = VolumeSize,
            };
            if (Invoke((service, events, token) => service.BackupToTargetsAsync(request, copyTo, events, token), database) is not { } outcome)
            {
                continue;
            }
            // One record per repository that holds the backup; a failed copy is a non-terminating error naming its target.
            WriteObject(outcome.Backup);
            foreach (var record in outcome.CopyRecords)
            {
                WriteObject(record);
            }
            foreach (var failed in outcome.Copies.Where(c => !c.Succeeded))
            {
                WriteCopyFailure(failed);
            }
        }
    }
}
