namespace DbBackup.Engine.Connectors;

/// <summary>Where and how to reach one database.</summary>
public sealed class ConnectionOptions
{
    public required DatabaseEngine Engine { get; init; }
    /// <summary>Host name or address; ignored for SQLite.</summary>
    public string? Host { get; init; }
    public int? Port { get; init; }
    /// <summary>Database name; for SQLite the path of the database file.</summary>
    public required string Database { get; init; }
    public string? Username { get; init; }
    public SecretValue? Password { get; init; }
    /// <summary>How long to wait for the server to accept a connection.</summary>
    public TimeSpan ConnectTimeout { get; init; } = TimeSpan.FromSeconds(15);
    /// <summary>A directory searched for client tools before PATH (pg_dump, mariadb-dump, ...).</summary>
    public string? ToolDirectory { get; init; }

    /// <summary>The same server with a different database (used for staging databases).</summary>
    public ConnectionOptions WithDatabase(string database) => new()
    {
        Engine = Engine, Host = Host, Port = Port, Database = database, Username = Username,
        Password = Password, ConnectTimeout = ConnectTimeout, ToolDirectory = ToolDirectory,
    };

    /// <summary>A display form without secrets, e.g. <c>PostgreSql://user@127.0.0.1:5432/shop</c>.</summary>
    public override string ToString() => Engine == DatabaseEngine.Sqlite
        ? $"sqlite:{Database}"
        : $"{Engine}://{(Username is null ? "" : Username + "@")}{Host}{(Port is null ? "" : ":" + Port)}/{Database}";
}
