using System.Reflection;
using System.Runtime.Loader;

namespace DbBackup.PowerShell.Loading;

/// <summary>
/// Routes DbBackup.Engine (and only it) from the default context into the private
/// <see cref="DependencyLoadContext"/>; the engine's own dependencies then resolve there.
/// DbBackup.dll and DbBackup.Model.dll stay in the default context, so the BackupRecord the engine
/// returns is the very type PowerShell binds. Free of PowerShell types (the initializer calls it).
/// </summary>
public static class ModuleLoader
{
    public const string EngineAssemblyName = "DbBackup.Engine";
    public const string ModelAssemblyName = "DbBackup.Model";
    public const string DependencyFolderName = "Dependencies";

    private static readonly object Gate = new();
    private static DependencyLoadContext? _context;
    private static string? _moduleDirectory;

    /// <summary>The private context, once <see cref="Register"/> ran.</summary>
    public static DependencyLoadContext? Context => _context;

    /// <summary>Hooks the default context's Resolving event. Idempotent; returns the private context.</summary>
    public static DependencyLoadContext Register(string moduleDirectory)
    {
        lock (Gate)
        {
            if (_context is null)
            {
                _moduleDirectory = Path.GetFullPath(moduleDirectory);
                _context = new DependencyLoadContext(Path.Combine(_moduleDirectory, DependencyFolderName));
                AssemblyLoadContext.Default.Resolving += ResolveInDefaultContext;
            }
            return _context;
        }
    }

    /// <summary>Unhooks the Resolving event (Remove-Module). Assemblies already loaded stay loaded.</summary>
    public static void Unregister()
    {
        lock (Gate)
        {
            AssemblyLoadContext.Default.Resolving -= ResolveInDefaultContext;
            _context = null;
            _moduleDirectory = null;
        }
    }

    private static Assembly? ResolveInDefaultContext(AssemblyLoadContext defaultContext, AssemblyName assemblyName)
    {
        var context = _context;
        var moduleDirectory = _moduleDirectory;
        if (context is null || moduleDirectory is null)
        {
            return null;
        }

        if (string.Equals(assemblyName.Name, EngineAssemblyName, StringComparison.Ordinal))
        {
            return context.LoadFromAssemblyName(assemblyName);
        }

        // The shared records live next to DbBackup.dll; load them into the default context when the
        // engine (or anything else) asks before PowerShell has loaded them.
        if (string.Equals(assemblyName.Name, ModelAssemblyName, StringComparison.Ordinal))
        {
            var path = Path.Combine(moduleDirectory, ModelAssemblyName + ".dll");
            return File.Exists(path) ? defaultContext.LoadFromAssemblyPath(path) : null;
        }

        return null;
    }
}
