using System.Reflection;
using System.Runtime.Loader;

namespace DbBackup.Module.Tests;

/// <summary>
/// The few pieces of DbBackup.dll that never touch System.Management.Automation at run time (restore target
/// names, byte formatting), executed from the laid-out module in an isolated, collectible load context.
/// </summary>
public sealed class ModuleCodeTests : IDisposable
{
    private readonly ModuleCodeContext _context = new();

    [Fact]
    public void Default_restore_target_is_a_new_timestamped_name()
    {
        var now = new DateTimeOffset(2026, 11, 22, 6, 30, 5, TimeSpan.FromHours(1));
        Assert.Equal("shop_restored_20261122053005", TargetName("PostgreSql", "shop", now));
        Assert.Equal("shop_restored_20261122053005", TargetName("MySql", "shop", now));
    }

    [Fact]
    public void Default_restore_target_keeps_within_the_identifier_limit()
    {
        var name = TargetName("PostgreSql", new string('d', 80), DateTimeOffset.UnixEpoch);
        Assert.Equal(63, name.Length);
        Assert.EndsWith("_restored_19700101000000", name);
    }

    [Theory]
    [InlineData("shop.db", "shop_restored_19700101000000.db")]
    [InlineData("/data/shop.sqlite", "shop_restored_19700101000000.sqlite")]
    [InlineData("shop", "shop_restored_19700101000000.db")]
    public void Default_SQLite_restore_target_is_a_new_file_name(string source, string expected)
    {
        Assert.Equal(expected, TargetName("Sqlite", source, DateTimeOffset.UnixEpoch));
    }

    [Theory]
    [InlineData(0L, "0 B")]
    [InlineData(1023L, "1023 B")]
    [InlineData(1536L, "1.5 KiB")]
    [InlineData(5L * 1024 * 1024 * 1024, "5.0 GiB")]
    public void Progress_formats_bytes_in_binary_units(long bytes, string expected)
    {
        var format = _context.ModuleType("DbBackup.PowerShell.Hosting.ProgressWriter").GetMethod("FormatBytes", BindingFlags.NonPublic | BindingFlags.Static)!;
        Assert.Equal(expected, format.Invoke(null, [bytes]));
    }

    [Fact]
    public void Every_ErrorKind_maps_to_the_ErrorCategory_of_the_same_name()
    {
        // ErrorMapping.ToCategory maps by name; this holds the engine's ErrorKind and PowerShell's ErrorCategory together.
        using var metadata = new ModuleMetadata();
        var categories = metadata.Sma.GetType("System.Management.Automation.ErrorCategory", throwOnError: true)!
            .GetFields(BindingFlags.Public | BindingFlags.Static).Select(f => f.Name).ToHashSet();
        var kinds = _context.EngineType("DbBackup.Engine.Errors.ErrorKind").GetEnumNames();
        Assert.NotEmpty(kinds);
        Assert.All(kinds, kind => Assert.Contains(kind, categories));
    }

    private string TargetName(string engine, string source, DateTimeOffset now)
    {
        var type = _context.EngineType("DbBackup.Engine.Restore.RestoreTargetName");
        var engineValue = Enum.Parse(_context.ModelType("DbBackup.DatabaseEngine"), engine);
        return (string)type.GetMethod("For", BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Static)!.Invoke(null, [engineValue, source, now])!;
    }

    public void Dispose() => _context.Unload();

    /// <summary>Serves the laid-out module's root and Dependencies folders; everything else from the test host.</summary>
    private sealed class ModuleCodeContext() : AssemblyLoadContext("ModuleCodeTests", isCollectible: true)
    {
        private readonly string _root = ModuleLayout.RequireModule();

        public Type ModuleType(string name) => Load("DbBackup").GetType(name, throwOnError: true)!;
        public Type ModelType(string name) => Load("DbBackup.Model").GetType(name, throwOnError: true)!;
        public Type EngineType(string name) => Load("DbBackup.Engine").GetType(name, throwOnError: true)!;

        private Assembly Load(string name) => LoadFromAssemblyName(new AssemblyName(name));

        protected override Assembly? Load(AssemblyName assemblyName)
        {
            foreach (var directory in new[] { _root, ModuleLayout.DependencyDirectory })
            {
                var path = Path.Combine(directory, assemblyName.Name + ".dll");
                if (File.Exists(path))
                {
                    return LoadFromAssemblyPath(path);
                }
            }
            return null;
        }
    }
}
