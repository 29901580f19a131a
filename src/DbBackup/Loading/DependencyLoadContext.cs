using System.Reflection;
using System.Runtime.InteropServices;
using System.Runtime.Loader;

namespace DbBackup.PowerShell.Loading;

/// <summary>
/// The private load context of the module (the PowerShell docs' "resolving dependency conflicts" recipe):
/// the engine and every third-party assembly come from <c>&lt;module&gt;/Dependencies/</c>, so another
/// module's Npgsql or SQLite cannot clash with ours. Deliberately free of PowerShell types, so a test can
/// load the laid-out module through it without a PowerShell runtime.
/// </summary>
public sealed class DependencyLoadContext : AssemblyLoadContext
{
    /// <summary>Assemblies that must come from the default context: the records shared with PowerShell.</summary>
    private static readonly HashSet<string> SharedAssemblies = new(StringComparer.OrdinalIgnoreCase)
    {
        "DbBackup", "DbBackup.Model", "System.Management.Automation",
    };

    /// <summary>The shared framework's own assemblies (the BCL): always the default context's.</summary>
    private static readonly Lazy<HashSet<string>> FrameworkAssemblies = new(() =>
    {
        var frameworkDirectory = Path.GetDirectoryName(typeof(object).Assembly.Location);
        return string.IsNullOrEmpty(frameworkDirectory)
            ? new HashSet<string>(StringComparer.OrdinalIgnoreCase)
            : Directory.EnumerateFiles(frameworkDirectory, "*.dll")
                .Select(Path.GetFileNameWithoutExtension)
                .OfType<string>()
                .ToHashSet(StringComparer.OrdinalIgnoreCase);
    });

    private readonly string _dependencyDirectory;
    private readonly IReadOnlyList<string> _nativeDirectories;
    private readonly IReadOnlyList<string> _managedRuntimeDirectories;
    private readonly HashSet<string> _servedNativeLibraries = new(StringComparer.Ordinal);

    public DependencyLoadContext(string dependencyDirectory)
        : base("DbBackup.Dependencies", isCollectible: false)
    {
        _dependencyDirectory = Path.GetFullPath(dependencyDirectory);
        var rids = RuntimeIdentifiers();
        _nativeDirectories = rids.Select(rid => Path.Combine(_dependencyDirectory, "runtimes", rid, "native"))
            .Append(_dependencyDirectory).ToArray();
        _managedRuntimeDirectories = rids.Select(rid => Path.Combine(_dependencyDirectory, "runtimes", rid, "lib")).ToArray();
    }

    public string DependencyDirectory => _dependencyDirectory;

    /// <summary>The runtime folders searched for native libraries, most specific first (e.g. linux-musl-x64, linux-x64).</summary>
    public IReadOnlyList<string> NativeDirectories => _nativeDirectories;

    /// <summary>The native libraries this context loaded from Dependencies (diagnostics; the loader test reads it).</summary>
    public IReadOnlyList<string> ServedNativeLibraries
    {
        get
        {
            lock (_servedNativeLibraries)
            {
                return _servedNativeLibraries.Order(StringComparer.Ordinal).ToArray();
            }
        }
    }

    protected override Assembly? Load(AssemblyName assemblyName)
    {
        var name = assemblyName.Name;
        if (name is null || SharedAssemblies.Contains(name) || FrameworkAssemblies.Value.Contains(name))
        {
            return null;
        }

        var path = Path.Combine(_dependencyDirectory, name + ".dll");
        if (File.Exists(path))
        {
            return LoadFromAssemblyPath(path);
        }

        // RID-specific managed assets (runtimes/<rid>/lib/<tfm>/<name>.dll), newest target framework first.
        foreach (var directory in _managedRuntimeDirectories.Where(Directory.Exists))
        {
            var candidate = Directory.EnumerateFiles(directory, name + ".dll", SearchOption.AllDirectories)
                .OrderByDescending(p => p, StringComparer.Ordinal).FirstOrDefault();
            if (candidate is not null)
            {
                return LoadFromAssemblyPath(candidate);
            }
        }

        // Not ours: the BCL and anything shared resolve in the default context.
        return null;
    }

    protected override IntPtr LoadUnmanagedDll(string unmanagedDllName)
    {
        foreach (var directory in _nativeDirectories)
        {
            foreach (var fileName in NativeFileNames(unmanagedDllName))
            {
                var path = Path.Combine(directory, fileName);
                if (File.Exists(path))
                {
                    var handle = LoadUnmanagedDllFromPath(path);
                    lock (_servedNativeLibraries)
                    {
                        _servedNativeLibraries.Add(path);
                    }
                    return handle;
                }
            }
        }

        // Not shipped with the module (e.g. the system libzstd): default probing.
        return IntPtr.Zero;
    }

    /// <summary>The file names a DllImport name can have on this OS (e_sqlite3 → libe_sqlite3.so, e_sqlite3.dll, ...).</summary>
    internal static IEnumerable<string> NativeFileNames(string name)
    {
        yield return name;
        var hasExtension = Path.HasExtension(name) && !name.EndsWith(".1", StringComparison.Ordinal);
        if (OperatingSystem.IsWindows())
        {
            if (!name.EndsWith(".dll", StringComparison.OrdinalIgnoreCase))
            {
                yield return name + ".dll";
            }
            yield break;
        }

        var extension = OperatingSystem.IsMacOS() ? ".dylib" : ".so";
        var prefixed = name.StartsWith("lib", StringComparison.Ordinal) ? name : "lib" + name;
        if (!hasExtension)
        {
            yield return prefixed + extension;
            yield return name + extension;
        }
        else if (prefixed != name)
        {
            yield return prefixed;
        }
    }

    /// <summary>Runtime identifiers for this process, most specific first.</summary>
    public static IReadOnlyList<string> RuntimeIdentifiers()
    {
        var arch = RuntimeInformation.ProcessArchitecture switch
        {
            Architecture.X64 => "x64",
            Architecture.X86 => "x86",
            Architecture.Arm64 => "arm64",
            Architecture.Arm => "arm",
            var other => other.ToString().ToLowerInvariant(),
        };

        if (OperatingSystem.IsWindows())
        {
            return [$"win-{arch}"];
        }
        if (OperatingSystem.IsMacOS())
        {
            return [$"osx-{arch}", "osx"];
        }
        return IsMusl() ? [$"linux-musl-{arch}", $"linux-{arch}"] : [$"linux-{arch}"];
    }

    private static bool IsMusl()
    {
        // musl's dynamic loader is /lib/ld-musl-<arch>.so.1; glibc systems do not have it.
        return Directory.Exists("/lib") && Directory.EnumerateFiles("/lib", "ld-musl-*").Any();
    }
}
