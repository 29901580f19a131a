using System.Text;
using DbBackup.Engine;
using DbBackup.Engine.Errors;

namespace DbBackup.Cli;

/// <summary>
/// Where the CLI takes secrets from. Never argv: a password comes from <c>DBBACKUP_PASSWORD</c> (then the engine's
/// own variable, <c>PGPASSWORD</c> or <c>MYSQL_PWD</c>) or <c>--password-prompt</c>; a passphrase from
/// <c>DBBACKUP_PASSPHRASE</c>, <c>--passphrase-prompt</c> or <c>--passphrase-file</c>.
/// </summary>
public static class Secrets
{
    public const string PasswordVariable = "DBBACKUP_PASSWORD";
    public const string PassphraseVariable = "DBBACKUP_PASSPHRASE";

    public static SecretValue? Password(DatabaseEngine engine, bool prompt, string display)
    {
        if (prompt)
        {
            return new SecretValue(ReadSecret($"Password for {display}: ", confirm: false));
        }
        if (FromEnvironment(PasswordVariable) is { } password)
        {
            return password;
        }
        return engine switch
        {
            DatabaseEngine.PostgreSql => FromEnvironment("PGPASSWORD"),
            DatabaseEngine.MySql => FromEnvironment("MYSQL_PWD"),
            _ => null,
        };
    }

    /// <summary>The passphrase, or null when none was given. <paramref name="confirm"/> asks twice (new backups).</summary>
    public static SecretValue? Passphrase(bool prompt, string? file, bool confirm)
    {
        if (prompt && file is not null)
        {
            throw Usage("--passphrase-prompt and --passphrase-file cannot be used together.", "Pass only one of them.");
        }
        if (prompt)
        {
            return new SecretValue(ReadSecret("Passphrase: ", confirm));
        }
        if (file is not null)
        {
            return new SecretValue(ReadPassphraseFile(file));
        }
        return FromEnvironment(PassphraseVariable);
    }

    private static SecretValue? FromEnvironment(string variable)
        => Environment.GetEnvironmentVariable(variable) is { Length: > 0 } value ? new SecretValue(value) : null;

    private static string ReadPassphraseFile(string path)
    {
        string text;
        try
        {
            text = File.ReadAllText(path, Encoding.UTF8);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw Usage($"Cannot read the passphrase file '{path}': {e.Message}", "Check the path and its permissions.");
        }
        // One trailing line break is how editors and `echo` end a file; it is not part of the passphrase.
        if (text.EndsWith("\r\n", StringComparison.Ordinal)) text = text[..^2];
        else if (text.EndsWith('\n')) text = text[..^1];
        if (text.Length == 0)
        {
            throw Usage($"The passphrase file '{path}' is empty.", "Write the passphrase into the file.");
        }
        return text;
    }

    /// <summary>
    /// Reads a secret without echo from the terminal, or the next line of standard input when it is not a terminal
    /// (so a script can pipe it in; with both --password-prompt and --passphrase-prompt the password comes first).
    /// </summary>
    private static string ReadSecret(string prompt, bool confirm)
    {
        if (Console.IsInputRedirected)
        {
            var line = Console.In.ReadLine();
            if (string.IsNullOrEmpty(line))
            {
                throw Usage("A secret was requested with a --*-prompt option, but standard input was empty.",
                    "Pipe the secret as one line into standard input, or run in a terminal.");
            }
            return line;
        }
        var first = ReadFromTerminal(prompt);
        if (confirm && ReadFromTerminal("Repeat " + char.ToLowerInvariant(prompt[0]) + prompt[1..]) != first)
        {
            throw Usage("The two entries did not match.", "Run the command again and type the same passphrase twice.");
        }
        if (first.Length == 0)
        {
            throw Usage("An empty secret was entered.", "Type the secret, or use the environment variable instead.");
        }
        return first;
    }

    private static string ReadFromTerminal(string prompt)
    {
        Console.Error.Write(prompt);
        var buffer = new StringBuilder();
        while (true)
        {
            var key = Console.ReadKey(intercept: true);
            if (key.Key == ConsoleKey.Enter)
            {
                break;
            }
            if (key.Key == ConsoleKey.Backspace)
            {
                if (buffer.Length > 0) buffer.Length--;
                continue;
            }
            if (!char.IsControl(key.KeyChar))
            {
                buffer.Append(key.KeyChar);
            }
        }
        Console.Error.WriteLine();
        return buffer.ToString();
    }

    private static DbBackupException Usage(string message, string action)
        => new(ErrorIds.InvalidArgument, ErrorKind.InvalidArgument, message, action);
}
