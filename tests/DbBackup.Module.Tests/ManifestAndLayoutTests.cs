using System.Reflection;
using System.Text.RegularExpressions;
using System.Xml.Linq;

namespace DbBackup.Module.Tests;

/// <summary>The laid-out out/DbBackup folder, its manifest and its format views.</summary>
public sealed class ManifestAndLayoutTests(ModuleMetadata module) : IClassFixture<ModuleMetadata>
{
    private static string LaidOutManifest => File.ReadAllText(Path.Combine(ModuleLayout.RequireModule(), "DbBackup.psd1"));
    private static string SourceManifest => File.ReadAllText(Path.Combine(ModuleLayout.RepoRoot, "DbBackup.psd1"));

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void CmdletsToExport_equals_the_cmdlets_in_DbBackup_dll(bool laidOut)
    {
        var manifest = laidOut ? LaidOutManifest : SourceManifest;
        var block = Regex.Match(manifest, @"CmdletsToExport\s*=\s*@\((?<list>[^)]*)\)");
        Assert.True(block.Success, "CmdletsToExport = @(...) not found");
        var exported = Regex.Matches(block.Groups["list"].Value, "'([^']+)'").Select(m => m.Groups[1].Value).Order(StringComparer.Ordinal);
        Assert.Equal(module.Cmdlets.Select(c => c.Name), exported);
        Assert.DoesNotContain("*", block.Groups["list"].Value);
    }

    [Fact]
    public void Laid_out_manifest_carries_the_build_version()
    {
        var props = XDocument.Load(Path.Combine(ModuleLayout.RepoRoot, "Directory.Build.props"));
        var versionPrefix = props.Descendants("VersionPrefix").Single().Value;
        Assert.Equal(ModuleLayout.VersionPrefix, versionPrefix);
        Assert.Equal(versionPrefix, Setting(LaidOutManifest, "ModuleVersion"));

        var assemblyVersion = AssemblyName.GetAssemblyName(Path.Combine(ModuleLayout.ModuleDirectory, "DbBackup.dll")).Version!;
        Assert.Equal(Version.Parse(versionPrefix), new Version(assemblyVersion.Major, assemblyVersion.Minor, assemblyVersion.Build));
    }

    [Fact]
    public void Manifest_targets_PowerShell_7_4_Core_and_loads_the_binary_module()
    {
        var manifest = LaidOutManifest;
        Assert.Equal("DbBackup.dll", Setting(manifest, "RootModule"));
        Assert.Equal("7.4", Setting(manifest, "PowerShellVersion"));
        Assert.Matches(@"CompatiblePSEditions\s*=\s*@\(\s*'Core'\s*\)", manifest);
        Assert.Matches(@"FormatsToProcess\s*=\s*@\(\s*'DbBackup\.format\.ps1xml'\s*\)", manifest);
        foreach (var empty in new[] { "FunctionsToExport", "AliasesToExport", "VariablesToExport" })
        {
            Assert.Matches(empty + @"\s*=\s*@\(\)", manifest);
        }
        Assert.True(Guid.TryParse(Setting(manifest, "GUID"), out _));
    }

    [Fact]
    public void Module_root_holds_only_the_default_context_assemblies_manifest_and_formats()
    {
        var root = ModuleLayout.RequireModule();
        var files = Directory.EnumerateFiles(root).Select(Path.GetFileName).Order(StringComparer.Ordinal);
        Assert.Equal(["DbBackup.Model.dll", "DbBackup.dll", "DbBackup.format.ps1xml", "DbBackup.psd1"], files);
        Assert.Equal(["Dependencies"], Directory.EnumerateDirectories(root).Select(Path.GetFileName));
    }

    [Fact]
    public void Dependencies_hold_the_engine_third_party_assemblies_and_natives_but_no_PowerShell()
    {
        var dependencies = ModuleLayout.DependencyDirectory;
        foreach (var name in new[] { "DbBackup.Engine.dll", "Npgsql.dll", "Microsoft.Data.Sqlite.dll", "SQLitePCLRaw.core.dll" })
        {
            Assert.True(File.Exists(Path.Combine(dependencies, name)), $"{name} missing from Dependencies/");
        }
        Assert.False(File.Exists(Path.Combine(dependencies, "DbBackup.Model.dll")), "DbBackup.Model must load in the default context only");
        Assert.False(File.Exists(Path.Combine(dependencies, "DbBackup.dll")));
        Assert.Empty(Directory.EnumerateFiles(ModuleLayout.ModuleDirectory, "System.Management.Automation*", SearchOption.AllDirectories));

        foreach (var (rid, file) in new[]
                 {
                     ("linux-x64", "libe_sqlite3.so"), ("linux-arm64", "libe_sqlite3.so"), ("linux-musl-x64", "libe_sqlite3.so"),
                     ("osx-x64", "libe_sqlite3.dylib"), ("osx-arm64", "libe_sqlite3.dylib"), ("win-x64", "e_sqlite3.dll"),
                 })
        {
            var path = Path.Combine(dependencies, "runtimes", rid, "native", file);
            Assert.True(File.Exists(path), $"{path} missing: SQLite would not load on {rid}");
        }
    }

    [Fact]
    public void Every_public_Model_record_has_a_table_view_naming_real_properties()
    {
        var format = XDocument.Load(Path.Combine(ModuleLayout.RequireModule(), "DbBackup.format.ps1xml"));
        var views = format.Descendants("View").ToDictionary(
            v => v.Element("ViewSelectedBy")!.Element("TypeName")!.Value,
            v => v);
        var records = module.Model.GetExportedTypes().Where(t => t.IsClass && !t.IsAbstract).ToArray();
        Assert.NotEmpty(records);
        foreach (var record in records)
        {
            Assert.True(views.TryGetValue(record.FullName!, out var view), $"no view for {record.FullName}");
            var table = view.Element("TableControl");
            Assert.NotNull(table);
            var headers = table.Descendants("TableColumnHeader").Count();
            var items = table.Descendants("TableColumnItem").ToArray();
            Assert.Equal(headers, items.Length);
            foreach (var property in items.Select(i => i.Element("PropertyName")?.Value).OfType<string>())
            {
                Assert.NotNull(record.GetProperty(property));
            }
        }
    }

    private static string Setting(string manifest, string key)
    {
        var match = Regex.Match(manifest, @"(?m)^\s*" + key + @"\s*=\s*'(?<value>[^']*)'");
        Assert.True(match.Success, $"{key} = '...' not found in the manifest");
        return match.Groups["value"].Value;
    }
}
