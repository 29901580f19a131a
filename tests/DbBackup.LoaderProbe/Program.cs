using System.Diagnostics;
using System.Reflection;
using System.Runtime.Loader;
using System.Text.Json;

// Usage: DbBackup.LoaderProbe <module folder> [<SQLite database>]   (e.g. out/DbBackup samples/shop.db)
// Mirrors Import-Module: DbBackup.dll loads into the default context, the module's loader hooks the default
// context's Resolving event (what ModuleInitializer.OnImport does, without touching PowerShell types), and
// the first use of DbBackup.Engine routes it into the private context.
if (args.Length is < 1 or > 2 || !Directory.Exists(args[0]))
{
    Console.Error.WriteLine("usage: DbBackup.LoaderProbe <laid-out module folder, e.g. out/DbBackup> [<SQLite database to back up>]");
    return 2;
}

var moduleDirectory = Path.GetFullPath(args[0]);
var facts = new Dictionary<string, object?>();

var cmdlets = AssemblyLoadContext.Default.LoadFromAssemblyPath(Path.Combine(moduleDirectory, "DbBackup.dll"));
facts["cmdletsContext"] = ContextName(cmdlets);

var loader = cmdlets.GetType("DbBackup.PowerShell.Loading.ModuleLoader", throwOnError: true)!;
var privateContext = (AssemblyLoadContext)loader.GetMethod("Register")!.Invoke(null, [moduleDirectory])!;
facts["privateContext"] = privateContext.Name;
facts["privateContextType"] = privateContext.GetType().FullName;
facts["nativeDirectories"] = privateContext.GetType().GetProperty("NativeDirectories")!.GetValue(privateContext);

// What the runtime does when a cmdlet method first touches an engine type.
var engine = Assembly.Load(new AssemblyName("DbBackup.Engine"));
facts["engineContext"] = ContextName(engine);
facts["engineLocation"] = engine.Location;

var model = AssemblyLoadContext.Default.LoadFromAssemblyName(new AssemblyName("DbBackup.Model"));
facts["modelContext"] = ContextName(model);
facts["modelLocation"] = model.Location;

// The BackupRecord in the engine's public API must be the very type PowerShell binds (same Assembly instance).
var service = engine.GetType("DbBackup.Engine.DbBackupService", throwOnError: true)!;
var recordSeenByEngine = service.GetMethod("BackupAsync")!.ReturnType.GetGenericArguments()[0];
facts["engineRecordType"] = recordSeenByEngine.FullName;
facts["engineRecordContext"] = ContextName(recordSeenByEngine.Assembly);
facts["modelTypeIdentical"] = ReferenceEquals(recordSeenByEngine, model.GetType("DbBackup.BackupRecord"))
                              && ReferenceEquals(recordSeenByEngine.Assembly, model);

// Third-party dependencies resolve the way the engine's own references do: through its context.
var engineContext = AssemblyLoadContext.GetLoadContext(engine)!;
// (By simple name when the engine does not reference the assembly yet: resolution is the same.)
Assembly LoadReference(string name) => engineContext.LoadFromAssemblyName(
    engine.GetReferencedAssemblies().SingleOrDefault(r => r.Name == name) ?? new AssemblyName(name));
facts["engineReferences"] = engine.GetReferencedAssemblies().Select(r => r.Name).OrderBy(n => n, StringComparer.Ordinal).ToArray();

var npgsql = LoadReference("Npgsql");
facts["npgsqlContext"] = ContextName(npgsql);
facts["npgsqlLocation"] = npgsql.Location;
var builder = Activator.CreateInstance(npgsql.GetType("Npgsql.NpgsqlConnectionStringBuilder", throwOnError: true)!)!;
builder.GetType().GetProperty("Host")!.SetValue(builder, "127.0.0.1");
facts["npgsqlUsable"] = builder.ToString();
facts["npgsqlInDefaultContext"] = AssemblyLoadContext.Default.Assemblies.Any(a => a.GetName().Name == "Npgsql");
facts["defaultContextResolvesNpgsql"] = TryLoadInDefault("Npgsql");
facts["defaultContextResolvesSqlite"] = TryLoadInDefault("Microsoft.Data.Sqlite");

// A native SQLite call: Microsoft.Data.Sqlite (private context) → SQLitePCLRaw → e_sqlite3 served by LoadUnmanagedDll.
try
{
    var sqlite = LoadReference("Microsoft.Data.Sqlite");
    facts["sqliteContext"] = ContextName(sqlite);
    var connectionType = sqlite.GetType("Microsoft.Data.Sqlite.SqliteConnection", throwOnError: true)!;
    using var connection = (IDisposable)Activator.CreateInstance(connectionType, "Data Source=:memory:")!;
    connectionType.GetMethod("Open", Type.EmptyTypes)!.Invoke(connection, null);
    var command = connectionType.GetMethod("CreateCommand", Type.EmptyTypes)!.Invoke(connection, null)!;
    command.GetType().GetProperty("CommandText")!.SetValue(command, "select sqlite_version()");
    facts["sqliteVersion"] = command.GetType().GetMethod("ExecuteScalar", Type.EmptyTypes)!.Invoke(command, null)?.ToString();
    facts["sqliteNativeServed"] = privateContext.GetType().GetProperty("ServedNativeLibraries")!.GetValue(privateContext);
    // Cross-check with the process's own module list where the OS reports it.
    facts["sqliteNativePath"] = Process.GetCurrentProcess().Modules.Cast<ProcessModule>()
        .Select(m => m.FileName).FirstOrDefault(f => f is not null && Path.GetFileName(f).Contains("e_sqlite3", StringComparison.Ordinal));
}
catch (Exception exception)
{
    // Reported as a fact (the test asserts on it) rather than crashing the probe.
    facts["sqliteError"] = (exception is TargetInvocationException { InnerException: { } inner } ? inner : exception).ToString();
}

// The engine end to end, as the cmdlets drive it: back up, verify and restore a SQLite database.
if (args.Length == 2)
{
    EngineRoundTrip.Run(engine, model, Path.GetFullPath(args[1]), facts);
}

facts["defaultContextAssemblies"] = AssemblyLoadContext.Default.Assemblies
    .Where(a => !a.IsDynamic && a.Location.StartsWith(moduleDirectory, StringComparison.Ordinal))
    .Select(a => a.GetName().Name).OrderBy(n => n, StringComparer.Ordinal).ToArray();
facts["privateContextAssemblies"] = privateContext.Assemblies
    .Select(a => a.GetName().Name).OrderBy(n => n, StringComparer.Ordinal).ToArray();

Console.WriteLine(JsonSerializer.Serialize(facts, new JsonSerializerOptions { WriteIndented = true }));
return 0;

static string? ContextName(Assembly assembly) => AssemblyLoadContext.GetLoadContext(assembly)?.Name;

static bool TryLoadInDefault(string name)
{
    try
    {
        AssemblyLoadContext.Default.LoadFromAssemblyName(new AssemblyName(name));
        return true;
    }
    catch (FileNotFoundException)
    {
        return false;
    }
}
