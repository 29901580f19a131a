using System.Collections;
using System.Management.Automation;
using System.Management.Automation.Language;
using DbBackup.Engine;
using DbBackup.Engine.Errors;

namespace DbBackup.PowerShell.Completion;

/// <summary>Completes -Database with the database names the catalog knows (filtered by -Repository/-Engine when given).</summary>
public sealed class DatabaseNameCompleter : IArgumentCompleter
{
    private static readonly TimeSpan Budget = TimeSpan.FromSeconds(3);

    public IEnumerable<CompletionResult> CompleteArgument(string commandName, string parameterName, string wordToComplete,
        CommandAst commandAst, IDictionary fakeBoundParameters)
    {
        var word = (wordToComplete ?? string.Empty).Trim('\'', '"');
        var query = new HistoryQuery
        {
            Database = word.Contains('*') || word.Contains('?') ? word : word + "*",
            // Only absolute locations: a relative path would resolve against the process directory, not $PWD.
            Repository = fakeBoundParameters["Repository"]?.ToString() is { } repository
                         && (Path.IsPathRooted(repository) || repository.Contains("://", StringComparison.Ordinal))
                ? repository
                : null,
            Engine = Enum.TryParse<DatabaseEngine>(fakeBoundParameters["Engine"]?.ToString(), ignoreCase: true, out var engine)
                ? engine
                : null,
        };

        IReadOnlyList<BackupRecord> records;
        try
        {
            using var timeout = new CancellationTokenSource(Budget);
            // Completers run synchronously on the pipeline thread; the budget bounds the wait.
            records = new DbBackupService().GetHistoryAsync(query, null, timeout.Token).GetAwaiter().GetResult();
        }
        catch (Exception exception) when (exception is DbBackupException or OperationCanceledException or IOException)
        {
            // Tab completion must never throw at the prompt; no suggestions is the honest answer.
            return [];
        }

        return records
            .GroupBy(r => r.Database, StringComparer.Ordinal)
            .OrderBy(g => g.Key, StringComparer.OrdinalIgnoreCase)
            .Select(g => new CompletionResult(
                Quote(g.Key), g.Key, CompletionResultType.ParameterValue,
                $"{g.Key} ({g.First().Engine}, {g.Count()} backup(s))"))
            .ToArray();
    }

    private static string Quote(string name) =>
        name.IndexOfAny([' ', '\'', '"', '$', '`', '(', ')', ';', ',', '{', '}', '@', '#']) >= 0
            ? "'" + name.Replace("'", "''", StringComparison.Ordinal) + "'"
            : name;
}
