using System.Globalization;

namespace DbBackup.Engine.Restore;

/// <summary>
/// The target a restore uses when none is given: a new name, never the source (restoring into a new
/// name is the safe default). <c>shop</c> → <c>shop_restored_20261122T053000</c>; for SQLite a new file
/// <c>shop_restored_20261122T053000.db</c> in the current location. Restore-Database and `dbbackup restore` share it.
/// </summary>
public static class RestoreTargetName
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
