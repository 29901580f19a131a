using System.Globalization;

namespace DbBackup.Cli.Commands;

/// <summary>
/// The safe default target of a restore: a new name beside the original, <c>&lt;database&gt;_restored_&lt;UTC time&gt;</c>
/// (for SQLite a file of that name in the current directory). The same rule as Restore-Database's default.
/// </summary>
internal static class RestoreTargetName
{
    private const int MaxIdentifierLength = 63; // PostgreSQL's limit; MySQL allows 64.

    public static string For(DatabaseEngine engine, string sourceDatabase, DateTimeOffset now)
    {
        var suffix = "_restored_" + now.UtcDateTime.ToString("yyyyMMddHHmmss", CultureInfo.InvariantCulture);
        if (engine == DatabaseEngine.Sqlite)
        {
            var fileName = Path.GetFileName(sourceDatabase);
            var extension = Path.GetExtension(fileName);
            return Path.GetFileNameWithoutExtension(fileName) + suffix + (extension.Length > 0 ? extension : ".db");
        }
        var stem = sourceDatabase.Length + suffix.Length > MaxIdentifierLength
            ? sourceDatabase[..(MaxIdentifierLength - suffix.Length)]
            : sourceDatabase;
        return stem + suffix;
    }
}
