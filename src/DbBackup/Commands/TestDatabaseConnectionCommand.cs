using System.Management.Automation;

namespace DbBackup.PowerShell.Commands;

/// <summary>Checks that a database can be reached and backed up: host, port, credentials, database, privileges, client tools.</summary>
[Cmdlet(VerbsDiagnostic.Test, "DatabaseConnection")]
[OutputType(typeof(ConnectionTestResult))]
public sealed class TestDatabaseConnectionCommand : DbBackupCmdlet
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

    [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [ValidateNotNullOrEmpty]
    public string[] Database { get; set; } = [];

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

    protected override void ProcessRecord()
    {
        foreach (var database in Database)
        {
            var connection = CreateConnection(Engine, Server, Port, database, Credential, ConnectTimeout, ToolDirectory);
            var result = Invoke((service, _, token) => service.TestConnectionAsync(connection, token), database);
            if (result is null)
            {
                continue;
            }
            if (!result.Success && result.RecommendedAction is { Length: > 0 } action)
            {
                WriteVerbose($"{result.ErrorId}: {action}");
            }
            WriteObject(result);
        }
    }
}
