using DbBackup.Engine.Connectors.MySql;
using DbBackup.Engine.Connectors.PostgreSql;
using DbBackup.Engine.Connectors.Sqlite;
using DbBackup.Engine.Errors;

namespace DbBackup.Engine.Connectors;

/// <summary>The connector for each database engine.</summary>
public static class ConnectorRegistry
{
    private static readonly PostgreSqlConnector PostgreSql = new();
    private static readonly MySqlConnector MySql = new();
    private static readonly SqliteConnector Sqlite = new();

    public static IDatabaseConnector Get(DatabaseEngine engine) => engine switch
    {
        DatabaseEngine.PostgreSql => PostgreSql,
        DatabaseEngine.MySql => MySql,
        DatabaseEngine.Sqlite => Sqlite,
        _ => throw new DbBackupException(ErrorIds.InvalidArgument, ErrorKind.InvalidArgument,
            $"No connector for the {engine} engine in this version.", "Use PostgreSql, MySql or Sqlite."),
    };
}
