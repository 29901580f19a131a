using System.Reflection;

/// <summary>
/// Drives DbBackupService through reflection (the probe has no references): a real SQLite backup, verify and
/// restore in a temporary folder, recording whether the records the engine returns are the default context's types.
/// </summary>
internal static class EngineRoundTrip
{
    public static void Run(Assembly engine, Assembly model, string sqliteDatabase, Dictionary<string, object?> facts)
    {
        var work = Directory.CreateTempSubdirectory("dbbackup-probe-").FullName;
        try
        {
            var source = Path.Combine(work, "shop.db");
            File.Copy(sqliteDatabase, source);
            var repository = Path.Combine(work, "repo");
            var restored = Path.Combine(work, "restored.db");

            var service = Activator.CreateInstance(engine.GetType("DbBackup.Engine.DbBackupService", throwOnError: true)!,
                New(engine, "DbBackup.Engine.EngineSettings", ("CatalogPath", Path.Combine(work, "catalog.db"))))!;
            var sqlite = Enum.Parse(model.GetType("DbBackup.DatabaseEngine", throwOnError: true)!, "Sqlite");

            var record = Call(service, "BackupAsync", New(engine, "DbBackup.Engine.BackupRequest",
                ("Source", Connection(engine, sqlite, source)), ("Repository", repository)));
            facts["roundTripRecordIsModelType"] = ReferenceEquals(record.GetType(), model.GetType("DbBackup.BackupRecord"));
            var backupId = (string)Get(record, "BackupId");
            facts["roundTripFrames"] = Get(record, "FrameCount");

            var verification = Call(service, "VerifyAsync", New(engine, "DbBackup.Engine.VerifyRequest",
                ("Repository", repository), ("BackupId", backupId)));
            facts["roundTripVerificationIsModelType"] = ReferenceEquals(verification.GetType(), model.GetType("DbBackup.VerificationResult"));
            facts["roundTripValid"] = Get(verification, "IsValid");

            var result = Call(service, "RestoreAsync", New(engine, "DbBackup.Engine.RestoreRequest",
                ("Repository", repository), ("BackupId", backupId), ("Target", Connection(engine, sqlite, restored))));
            facts["roundTripRestoreIsModelType"] = ReferenceEquals(result.GetType(), model.GetType("DbBackup.RestoreResult"));
            facts["roundTripSchemaEqual"] = Schema(engine, source) == Schema(engine, restored);
            facts["roundTripRowCounts"] = RowCounts(engine, restored);
            facts["roundTripRowCountsEqual"] = RowCounts(engine, source) == RowCounts(engine, restored);
            facts["roundTripIntegrity"] = Scalar(engine, restored, "PRAGMA integrity_check");
        }
        catch (Exception exception)
        {
            facts["roundTripError"] = Unwrap(exception).ToString();
        }
        finally
        {
            var sqliteConnection = LoadFromEngineContext(engine, "Microsoft.Data.Sqlite").GetType("Microsoft.Data.Sqlite.SqliteConnection")!;
            sqliteConnection.GetMethod("ClearAllPools")!.Invoke(null, null);
            Directory.Delete(work, recursive: true);
        }
    }

    private static object Connection(Assembly engine, object sqlite, string path) =>
        New(engine, "DbBackup.Engine.Connectors.ConnectionOptions", ("Engine", sqlite), ("Database", path));

    private static object New(Assembly assembly, string typeName, params (string Name, object Value)[] properties)
    {
        var type = assembly.GetType(typeName, throwOnError: true)!;
        var instance = Activator.CreateInstance(type)!;
        foreach (var (name, value) in properties)
        {
            type.GetProperty(name)!.SetValue(instance, value);
        }
        return instance;
    }

    private static object Get(object instance, string property) => instance.GetType().GetProperty(property)!.GetValue(instance)!;

    /// <summary>Calls an engine method (request, no events, no cancellation) and waits for its result.</summary>
    private static object Call(object service, string method, object request)
    {
        var task = service.GetType().GetMethod(method)!.Invoke(service, [request, null, CancellationToken.None])!;
        return task.GetType().GetProperty("Result")!.GetValue(task)!;
    }

    private static string Schema(Assembly engine, string path) =>
        Scalar(engine, path, "SELECT group_concat(type || ':' || name || ':' || coalesce(sql, ''), char(10)) FROM (SELECT * FROM sqlite_master ORDER BY type, name)");

    private static string RowCounts(Assembly engine, string path)
    {
        var tables = Scalar(engine, path, "SELECT group_concat(name, char(10)) FROM (SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name)");
        return string.Join(", ", tables.Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(table => $"{table}={Scalar(engine, path, $"SELECT count(*) FROM \"{table.Replace("\"", "\"\"", StringComparison.Ordinal)}\"")}"));
    }

    private static string Scalar(Assembly engine, string path, string sql)
    {
        var type = LoadFromEngineContext(engine, "Microsoft.Data.Sqlite").GetType("Microsoft.Data.Sqlite.SqliteConnection", throwOnError: true)!;
        using var connection = (IDisposable)Activator.CreateInstance(type, $"Data Source={path};Mode=ReadOnly")!;
        type.GetMethod("Open", Type.EmptyTypes)!.Invoke(connection, null);
        var command = type.GetMethod("CreateCommand", Type.EmptyTypes)!.Invoke(connection, null)!;
        command.GetType().GetProperty("CommandText")!.SetValue(command, sql);
        return command.GetType().GetMethod("ExecuteScalar", Type.EmptyTypes)!.Invoke(command, null)?.ToString() ?? "";
    }

    private static Assembly LoadFromEngineContext(Assembly engine, string name) =>
        System.Runtime.Loader.AssemblyLoadContext.GetLoadContext(engine)!.LoadFromAssemblyName(new AssemblyName(name));

    private static Exception Unwrap(Exception exception) => exception switch
    {
        TargetInvocationException { InnerException: { } inner } => Unwrap(inner),
        AggregateException { InnerExceptions.Count: 1 } aggregate => Unwrap(aggregate.InnerExceptions[0]),
        _ => exception,
    };
}
