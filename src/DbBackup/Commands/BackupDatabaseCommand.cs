using System.Management.Automation;
using System.Security;
using DbBackup.Engine;

namespace DbBackup.PowerShell.Commands;

/// <summary>Backs up one or more databases of one server into a repository.</summary>
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

    [Parameter(Mandatory = true, Position = 1)]
    [Alias("Destination")]
    [ValidateNotNullOrEmpty]
    public string Repository { get; set; } = string.Empty;

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
        var repository = ResolveRepository(Repository);
        foreach (var database in Database)
        {
            var source = CreateConnection(Engine, Server, Port, database, Credential, ConnectTimeout, ToolDirectory);
            if (!ShouldProcess(source.ToString(), $"Back up to repository '{repository}'"))
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
            if (Invoke((service, events, token) => service.BackupAsync(request, events, token), database) is { } record)
            {
                WriteObject(record);
            }
        }
    }
}
