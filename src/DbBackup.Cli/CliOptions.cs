using System.CommandLine;
using System.CommandLine.Parsing;
using DbBackup.Engine;
using DbBackup.Engine.Connectors;
using DbBackup.Engine.Errors;
using DbBackup.Engine.Pipeline;

namespace DbBackup.Cli;

internal delegate bool TryParser<T>(string text, out T value, out string? error);

/// <summary>Option factories shared by the sub-commands, so one concept has one name and one parser everywhere.</summary>
internal static class CliOptions
{
    public static Option<DatabaseEngine?> Engine(bool required) => new("--engine")
    {
        Description = "Database engine: postgresql, mysql, mariadb (same as mysql) or sqlite.",
        HelpName = "postgresql|mysql|mariadb|sqlite",
        Required = required,
        CustomParser = r => Parse<DatabaseEngine>(r, ValueParsers.TryParseEngine),
    };

    public static Option<string> Repository(bool required) => new("--repository", "--destination")
    {
        Description = "Where backups live: a directory path or a file: URI.",
        HelpName = "path",
        Required = required,
    };

    /// <summary>A repeatable repository location (copy targets).</summary>
    public static Option<string[]> CopyTargets(string name, string description) => new(name)
    {
        Description = description,
        HelpName = "location",
        AllowMultipleArgumentsPerToken = false,
        Arity = ArgumentArity.OneOrMore,
    };

    public static Option<string> BackupId(bool required) => new("--backup-id")
    {
        Description = "The backup id (see 'dbbackup history').",
        HelpName = "id",
        Required = required,
    };

    public static Option<T?> Parsed<T>(string name, string description, string helpName, TryParser<T> parser) where T : struct => new(name)
    {
        Description = description,
        HelpName = helpName,
        CustomParser = r => Parse(r, parser),
    };

    private static T? Parse<T>(ArgumentResult result, TryParser<T> parser) where T : struct
    {
        var text = result.Tokens.Count > 0 ? result.Tokens[^1].Value : "";
        if (parser(text, out var value, out var error))
        {
            return value;
        }
        result.AddError(error ?? $"Invalid value '{text}'.");
        return null;
    }

    /// <summary>Local paths become absolute (the catalog records them); URIs pass through unchanged.</summary>
    public static string NormalizeLocation(string location)
        => location.Contains("://", StringComparison.Ordinal) || location.StartsWith("file:", StringComparison.OrdinalIgnoreCase)
            ? location
            : Path.GetFullPath(location);

    public static DbBackupException UsageError(string message, string action)
        => new(ErrorIds.InvalidArgument, ErrorKind.InvalidArgument, message, action);
}

/// <summary>Options on every sub-command (declared once on the root, recursive).</summary>
internal sealed class GlobalOptions
{
    public Option<string?> Output { get; } = new("--output", "-o")
    {
        Description = "Result format on stdout: json or table. Default: table when stdout is a terminal, json otherwise.",
        HelpName = "json|table",
        Recursive = true,
    };

    public Option<bool> Quiet { get; } = new("--quiet", "-q") { Description = "No progress or informational messages on stderr (warnings and errors still appear).", Recursive = true };

    public Option<bool> Progress { get; } = new("--progress") { Description = "Write progress to stderr even when it is not a terminal (one line per second).", Recursive = true };

    public Option<bool> Verbose { get; } = new("--verbose") { Description = "Also write the engine's verbose messages (and stack traces of unexpected errors) to stderr.", Recursive = true };

    public Option<string?> Catalog { get; } = new("--catalog")
    {
        Description = "The local catalog database file. Default: $DBBACKUP_CATALOG, else dbbackup/catalog.db in the per-user data folder.",
        HelpName = "path",
        Recursive = true,
    };

    public GlobalOptions()
    {
        Output.AcceptOnlyFromAmong("json", "table");
    }

    public void AddTo(RootCommand root)
    {
        root.Options.Add(Output);
        root.Options.Add(Quiet);
        root.Options.Add(Progress);
        root.Options.Add(Verbose);
        root.Options.Add(Catalog);
    }
}

/// <summary>How to reach a server: engine, address, user, timeout, tools, and where the password comes from.</summary>
internal sealed class ConnectionOptionSet(bool engineRequired)
{
    public Option<DatabaseEngine?> Engine { get; } = CliOptions.Engine(engineRequired);
    public Option<string?> Server { get; } = new("--server", "--host") { Description = "Server host name or address (not for sqlite).", HelpName = "host" };
    public Option<int?> Port { get; } = new("--port") { Description = "Server TCP port (default: the engine's).", HelpName = "port" };
    public Option<string?> Username { get; } = new("--username", "--user") { Description = "Login name. The password comes from $DBBACKUP_PASSWORD (or $PGPASSWORD / $MYSQL_PWD) or --password-prompt.", HelpName = "name" };
    public Option<bool> PasswordPrompt { get; } = new("--password-prompt") { Description = "Read the password from the terminal without echo (or the first line of stdin when it is not a terminal)." };
    public Option<TimeSpan?> ConnectTimeout { get; } = CliOptions.Parsed<TimeSpan>("--connect-timeout",
        "How long to wait for the server to accept a connection (default 15s).", "duration", ValueParsers.TryParseDuration);
    public Option<string?> ToolDirectory { get; } = new("--tool-directory") { Description = "A directory searched for client tools (pg_dump, mariadb-dump, ...) before PATH.", HelpName = "path" };

    public void AddTo(Command command)
    {
        command.Options.Add(Engine);
        command.Options.Add(Server);
        command.Options.Add(Port);
        command.Options.Add(Username);
        command.Options.Add(PasswordPrompt);
        command.Options.Add(ConnectTimeout);
        command.Options.Add(ToolDirectory);
    }

    public ConnectionOptions Build(ParseResult result, DatabaseEngine engine, string database)
    {
        var host = result.GetValue(Server);
        var port = result.GetValue(Port);
        var username = result.GetValue(Username);
        if (port is <= 0 or > 65535)
        {
            throw CliOptions.UsageError($"Invalid port {port}.", "Use a TCP port between 1 and 65535.");
        }
        var resolvedDatabase = engine == DatabaseEngine.Sqlite ? Path.GetFullPath(database) : database;
        var display = new ConnectionOptions { Engine = engine, Host = host, Port = port, Database = resolvedDatabase, Username = username }.ToString();
        return new ConnectionOptions
        {
            Engine = engine,
            Host = host,
            Port = port,
            Database = resolvedDatabase,
            Username = username,
            Password = engine == DatabaseEngine.Sqlite ? null : Secrets.Password(engine, result.GetValue(PasswordPrompt), display),
            ConnectTimeout = result.GetValue(ConnectTimeout) ?? TimeSpan.FromSeconds(15),
            ToolDirectory = result.GetValue(ToolDirectory) is { } tools ? Path.GetFullPath(tools) : null,
        };
    }
}

/// <summary>Keys of an encrypted backup: a key file and/or a passphrase (environment, prompt or file; never argv).</summary>
internal sealed class EncryptionOptionSet
{
    public Option<string?> KeyFile { get; } = new("--key-file") { Description = "A file holding exactly 32 random bytes (e.g. 'head -c 32 /dev/urandom > backup.key').", HelpName = "path" };
    public Option<bool> PassphrasePrompt { get; } = new("--passphrase-prompt") { Description = "Read the passphrase from the terminal without echo (or a line of stdin when it is not a terminal)." };
    public Option<string?> PassphraseFile { get; } = new("--passphrase-file") { Description = "Read the passphrase from this file (one trailing line break is ignored).", HelpName = "path" };

    public void AddTo(Command command)
    {
        command.Options.Add(KeyFile);
        command.Options.Add(PassphrasePrompt);
        command.Options.Add(PassphraseFile);
    }

    /// <summary>The encryption options, or null when no key was given (then a backup is not encrypted).</summary>
    public EncryptionOptions? Build(ParseResult result, bool confirmPassphrase)
    {
        var passphrase = Secrets.Passphrase(result.GetValue(PassphrasePrompt), result.GetValue(PassphraseFile), confirmPassphrase);
        var keyFile = result.GetValue(KeyFile) is { } path ? Path.GetFullPath(path) : null;
        return passphrase is null && keyFile is null ? null : new EncryptionOptions { Passphrase = passphrase, KeyFile = keyFile };
    }
}
