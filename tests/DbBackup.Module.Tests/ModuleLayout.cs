using System.Reflection;

namespace DbBackup.Module.Tests;

/// <summary>Where the tests find the repository, the laid-out module and their tools.</summary>
internal static class ModuleLayout
{
    public static string RepoRoot { get; } = Path.GetFullPath(Metadata("RepoRoot"));
    public static string ModuleDirectory { get; } = Path.Combine(RepoRoot, "out", "DbBackup");
    public static string DependencyDirectory { get; } = Path.Combine(ModuleDirectory, "Dependencies");
    public static string DocsDirectory { get; } = Path.Combine(RepoRoot, "docs");
    public static string SmaReferenceAssembly { get; } = Metadata("SmaReferenceAssembly");
    public static string LoaderProbe { get; } = Metadata("LoaderProbe");
    public static string VersionPrefix { get; } = Metadata("VersionPrefix");

    /// <summary>The laid-out module folder; fails clearly when the module has not been built.</summary>
    public static string RequireModule()
    {
        var dll = Path.Combine(ModuleDirectory, "DbBackup.dll");
        if (!File.Exists(dll))
        {
            throw new InvalidOperationException(
                $"The laid-out module is missing ({dll} not found). Build first: 'dotnet build DbBackup.sln -c Release' (or ./build.sh), " +
                "which lays out out/DbBackup.");
        }
        return ModuleDirectory;
    }

    private static string Metadata(string key) =>
        typeof(ModuleLayout).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().Single(a => a.Key == key).Value
        ?? throw new InvalidOperationException($"Assembly metadata {key} is empty.");
}
