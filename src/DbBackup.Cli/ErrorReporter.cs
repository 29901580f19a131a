using DbBackup.Engine.Errors;

namespace DbBackup.Cli;

/// <summary>
/// Writes a failure as one line, <c>dbbackup: error &lt;ErrorId&gt;: &lt;message&gt;</c>, plus an optional
/// <c>dbbackup: hint: ...</c> line, to standard error.
/// </summary>
internal static class ErrorReporter
{
    public const string InternalError = "InternalError";

    public static void Report(TextWriter error, string errorId, string message, string? hint)
    {
        error.WriteLine($"dbbackup: error {errorId}: {OneLine(message)}");
        if (!string.IsNullOrWhiteSpace(hint))
        {
            error.WriteLine($"dbbackup: hint: {OneLine(hint)}");
        }
        error.Flush();
    }

    public static void Report(TextWriter error, DbBackupException exception)
        => Report(error, exception.ErrorId, exception.Target is { Length: > 0 } target && !exception.Message.Contains(target, StringComparison.Ordinal)
            ? $"{exception.Message} ({target})"
            : exception.Message, exception.RecommendedAction);

    private static string OneLine(string text) => string.Join(' ',
        text.Split(['\r', '\n'], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
}
