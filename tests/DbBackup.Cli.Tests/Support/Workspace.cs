using System.Text.Json;

namespace DbBackup.Cli.Tests.Support;

/// <summary>
/// A temporary directory for one test: a repository, a catalog (set through DBBACKUP_CATALOG for every run of
/// <see cref="Cli"/>) and scratch files. Deleted on dispose.
/// </summary>
public sealed class Workspace : IDisposable
{
    public Workspace()
    {
        Root = Path.Combine(Path.GetTempPath(), "dbbackup-cli-tests", Guid.NewGuid().ToString("N")[..12]);
        Directory.CreateDirectory(Root);
        Repository = Path.Combine(Root, "repo");
        Catalog = Path.Combine(Root, "catalog.db");
        Cli.Environment["DBBACKUP_CATALOG"] = Catalog;
    }

    public string Root { get; }
    public string Repository { get; }
    public string Catalog { get; }
    public DbBackupCli Cli { get; } = new();

    public string PathOf(string name) => Path.Combine(Root, name);

    /// <summary>A catalog file that has never been used: proves <c>history --refresh</c> rebuilds from the repository.</summary>
    public string FreshCatalog() => PathOf($"fresh-{Guid.NewGuid():N}.db");

    /// <summary>Every file under the repository, relative to it (sorted).</summary>
    public IReadOnlyList<string> RepositoryFiles() => Directory.Exists(Repository)
        ? Directory.EnumerateFiles(Repository, "*", SearchOption.AllDirectories).Select(f => Path.GetRelativePath(Repository, f)).Order(StringComparer.Ordinal).ToList()
        : [];

    /// <summary>The folder of one backup (<c>&lt;repo&gt;/&lt;database&gt;/&lt;backupId&gt;</c>), found by its id.</summary>
    public string BackupDirectory(string backupId)
    {
        var matches = Directory.EnumerateDirectories(Repository, backupId, SearchOption.AllDirectories).ToList();
        return matches.Count == 1 ? matches[0] : throw new Xunit.Sdk.XunitException($"expected one folder named {backupId} under {Repository}, found {matches.Count}");
    }

    /// <summary>The data volumes of a backup in order (the files named data.* per docs/format.md).</summary>
    public IReadOnlyList<string> DataVolumes(string backupId)
    {
        var volumes = Directory.EnumerateFiles(BackupDirectory(backupId), "data.*").Order(StringComparer.Ordinal).ToList();
        return volumes.Count > 0 ? volumes : throw new Xunit.Sdk.XunitException($"no data.* volumes in {BackupDirectory(backupId)}");
    }

    public void Dispose()
    {
        try
        {
            Directory.Delete(Root, recursive: true);
        }
        catch (DirectoryNotFoundException)
        {
            // already gone
        }
    }
}

internal static class JsonExtensions
{
    public static string Str(this JsonElement element, string name) => element.GetProperty(name).GetString()
        ?? throw new Xunit.Sdk.XunitException($"JSON property {name} is null");

    public static long Long(this JsonElement element, string name) => element.GetProperty(name).GetInt64();
}
