namespace DbBackup.Engine.Connectors;

// CONTRACT STUB — implemented by the connectors work.
public static class ConnectorRegistry
{
    public static IDatabaseConnector Get(DatabaseEngine engine) => throw new NotImplementedException(engine.ToString());
}
