using System.Diagnostics;
using DbBackup.Engine.Errors;
using DbBackup.Engine.Pipeline;
using Microsoft.Data.Sqlite;

namespace DbBackup.Engine.Connectors.Sqlite;

/// <summary>
/// SQLite: the online backup API (through Microsoft.Data.Sqlite) copies a consistent snapshot into a temporary file
/// (free space checked first), which is then streamed out; writers may keep writing meanwhile. Restores write a new
/// file and swap it in with an atomic rename in the same folder.
/// </summary>
public sealed class SqliteConnector : IDatabaseConnector
{
    /// <summary>SQLite's default page size; every page size is a multiple of 512, and 4096 is by far the most common.</summary>
    public const int DefaultPageSize = 4096;

    private static readonly byte[] Magic = "SQLite format 3\0"u8.ToArray();
    private static readonly string[] Sidecars = ["-wal", "-shm", "-journal"];

    /// <param name="temporaryDirectory">Where the snapshot copy is made; default the system temporary folder.</param>
    public SqliteConnector(string? temporaryDirectory = null) => TemporaryDirectory = temporaryDirectory ?? Path.GetTempPath();

    public string TemporaryDirectory { get; }

    public DatabaseEngine Engine => DatabaseEngine.Sqlite;

    public RestoreStrategy RestoreStrategy => RestoreStrategy.StagingSwap;

    public string RepositoryName(ConnectionOptions connection) => Path.GetFileNameWithoutExtension(connection.Database);

    public IChunker CreateChunker() => new PageAlignedChunker(DefaultPageSize);

    public Task<ConnectionTestResult> TestConnectionAsync(ConnectionOptions connection, CancellationToken cancellationToken)
    {
        var stopwatch = Stopwatch.StartNew();
        try
        {
            var version = Inspect(connection, out _);
            var latency = stopwatch.Elapsed;
            EnsureWritableTemporaryDirectory();
            var tool = new ToolInfo("Microsoft.Data.Sqlite", typeof(SqliteConnection).Assembly.Location, Version.Parse(version), "SQLite " + version);
            return Task.FromResult(ConnectionFailures.Success(connection, latency, version, tool));
        }
        catch (DbBackupException e)
        {
            return Task.FromResult(ConnectionFailures.Failure(connection, e));
        }
    }

    public Task<SourceDescription> DescribeAsync(ConnectionOptions connection, CancellationToken cancellationToken)
    {
        var version = Inspect(connection, out var size);
        return Task.FromResult(new SourceDescription(version, "Microsoft.Data.Sqlite", version, typeof(SqliteConnection).Assembly.Location, size));
    }

    public async Task DumpAsync(ConnectionOptions connection, Stream output, CancellationToken cancellationToken)
    {
        Inspect(connection, out var size);
        EnsureFreeSpace(size);
        var copy = Path.Combine(TemporaryDirectory, $"dbbackup-{Guid.NewGuid():N}.sqlite");
        try
        {
            await Task.Run(() => Snapshot(connection.Database, copy), cancellationToken).ConfigureAwait(false);
            await using var stream = new FileStream(copy, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 20, FileOptions.Asynchronous | FileOptions.SequentialScan);
            await stream.CopyToAsync(output, 1 << 20, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            DeleteWithSidecars(copy);
        }
    }

    public Task<TargetState> GetTargetStateAsync(ConnectionOptions target, CancellationToken cancellationToken)
    {
        var path = target.Database;
        if (!File.Exists(path))
        {
            return Task.FromResult(new TargetState(false, true));
        }
        if (new FileInfo(path).Length == 0)
        {
            return Task.FromResult(new TargetState(true, true));
        }
        using var db = Open(path, SqliteOpenMode.ReadOnly);
        using var command = db.CreateCommand();
        command.CommandText = "SELECT count(*) FROM sqlite_schema";
        return Task.FromResult(new TargetState(true, Convert.ToInt64(command.ExecuteScalar(), System.Globalization.CultureInfo.InvariantCulture) == 0));
    }

    public async Task RestoreAsync(ConnectionOptions target, Stream dump, CancellationToken cancellationToken)
    {
        var path = target.Database;
        var directory = Path.GetDirectoryName(Path.GetFullPath(path))!;
        if (!Directory.Exists(directory))
        {
            throw new DbBackupException(ErrorIds.InvalidArgument, ErrorKind.ObjectNotFound,
                $"The folder '{directory}' for the restored SQLite database does not exist.", "Create the folder or choose another target path.") { Target = path };
        }
        if (File.Exists(path) && new FileInfo(path).Length > 0)
        {
            throw new DbBackupException(ErrorIds.TargetNotEmpty, ErrorKind.InvalidOperation,
                $"The restore target '{path}' already exists.", "Restore to a new file name; the engine restores to a staging file and swaps it in.") { Target = path };
        }
        await using (var file = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 20, FileOptions.Asynchronous))
        {
            await dump.CopyToAsync(file, 1 << 20, cancellationToken).ConfigureAwait(false);
            await file.FlushAsync(cancellationToken).ConfigureAwait(false);
            file.Flush(flushToDisk: true);
        }
        var header = new byte[Magic.Length];
        int read;
        await using (var check = File.OpenRead(path))
        {
            read = await check.ReadAtLeastAsync(header, header.Length, throwOnEndOfStream: false, cancellationToken).ConfigureAwait(false);
        }
        if (read < Magic.Length || !header.AsSpan().SequenceEqual(Magic))
        {
            throw new DbBackupException(ErrorIds.RestoreFailed, ErrorKind.InvalidData,
                $"The restored data is not a SQLite database file ('{path}').", "Check that the backup is a SQLite backup.") { Target = path };
        }
    }

    public Task SwapInAsync(ConnectionOptions staging, ConnectionOptions target, CancellationToken cancellationToken)
    {
        var stagingPath = Path.GetFullPath(staging.Database);
        var targetPath = Path.GetFullPath(target.Database);
        if (!File.Exists(stagingPath))
        {
            throw new DbBackupException(ErrorIds.RestoreFailed, ErrorKind.ObjectNotFound,
                $"The staging file '{stagingPath}' does not exist; nothing to swap in.", "Run the restore again.") { Target = targetPath };
        }
        var source = stagingPath;
        if (!string.Equals(Path.GetDirectoryName(stagingPath), Path.GetDirectoryName(targetPath), StringComparison.Ordinal))
        {
            // A rename is atomic only within one folder (one file system): copy next to the target first.
            source = Path.Combine(Path.GetDirectoryName(targetPath)!, $".{Path.GetFileName(targetPath)}.dbbackup-{Guid.NewGuid():N}");
            File.Copy(stagingPath, source);
        }
        // The old file's WAL/SHM must not be applied to the new file.
        foreach (var sidecar in Sidecars)
        {
            File.Delete(targetPath + sidecar);
        }
        File.Move(source, targetPath, overwrite: true);
        if (!ReferenceEquals(source, stagingPath))
        {
            DeleteWithSidecars(stagingPath);
        }
        return Task.CompletedTask;
    }

    public Task DropAsync(ConnectionOptions target, CancellationToken cancellationToken)
    {
        DeleteWithSidecars(target.Database);
        return Task.CompletedTask;
    }

    /// <summary>Opens the file read-only to prove it is a readable SQLite database; returns the library version and the file size.</summary>
    private static string Inspect(ConnectionOptions connection, out long size)
    {
        var path = connection.Database;
        if (string.IsNullOrWhiteSpace(path) || !File.Exists(path))
        {
            throw new ConnectionFailedException(ErrorIds.DatabaseNotFound, ErrorKind.ObjectNotFound,
                $"The SQLite database file '{path}' does not exist.", "Check the path (it is relative to the current directory unless absolute).") { Target = path };
        }
        size = new FileInfo(path).Length;
        try
        {
            using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        }
        catch (UnauthorizedAccessException e)
        {
            throw new ConnectionFailedException(ErrorIds.InsufficientPrivilege, ErrorKind.PermissionDenied,
                $"The SQLite database file '{path}' cannot be read by this user.", "Grant this user read access to the file (and its folder).", e) { Target = path };
        }
        try
        {
            using var db = Open(path, SqliteOpenMode.ReadOnly);
            using var command = db.CreateCommand();
            command.CommandText = "SELECT sqlite_version(), (SELECT count(*) FROM sqlite_schema)";
            using var reader = command.ExecuteReader();
            reader.Read();
            return reader.GetString(0);
        }
        catch (SqliteException e) when (e.SqliteErrorCode is 26 /* SQLITE_NOTADB */ or 11 /* SQLITE_CORRUPT */)
        {
            throw new ConnectionFailedException(ErrorIds.DatabaseNotFound, ErrorKind.InvalidData,
                $"'{path}' is not a SQLite database ({e.Message}).", "Check the path: it must point at the SQLite database file itself.", e) { Target = path };
        }
        catch (SqliteException e) when (e.SqliteErrorCode is 14 /* SQLITE_CANTOPEN */ or 23 /* SQLITE_AUTH */ or 3 /* SQLITE_PERM */)
        {
            throw new ConnectionFailedException(ErrorIds.InsufficientPrivilege, ErrorKind.PermissionDenied,
                $"The SQLite database '{path}' cannot be opened ({e.Message}).", "Grant this user read access to the file and its folder (WAL databases also need the -shm file).", e) { Target = path };
        }
    }

    private void EnsureWritableTemporaryDirectory()
    {
        var probe = Path.Combine(TemporaryDirectory, $".dbbackup-probe-{Guid.NewGuid():N}");
        try
        {
            File.WriteAllBytes(probe, []);
            File.Delete(probe);
        }
        catch (Exception e) when (e is UnauthorizedAccessException or IOException)
        {
            throw new ConnectionFailedException(ErrorIds.InsufficientPrivilege, ErrorKind.PermissionDenied,
                $"The temporary folder '{TemporaryDirectory}' is not writable; the snapshot copy is made there.",
                "Make the folder writable for this user or point TMPDIR at a writable folder with enough space.", e);
        }
    }

    private void EnsureFreeSpace(long databaseSize)
    {
        Directory.CreateDirectory(TemporaryDirectory);
        var available = new DriveInfo(Path.GetFullPath(TemporaryDirectory)).AvailableFreeSpace;
        var needed = databaseSize + databaseSize / 10 + 16L * 1024 * 1024;
        if (available < needed)
        {
            throw new DbBackupException(ErrorIds.InsufficientSpace, ErrorKind.ResourceUnavailable,
                $"The temporary folder '{TemporaryDirectory}' has {available / (1024 * 1024)} MiB free, but the snapshot of a {databaseSize / (1024 * 1024)} MiB database needs about {needed / (1024 * 1024)} MiB.",
                "Free space there, or point TMPDIR at a folder with more space.");
        }
    }

    /// <summary>One backup step over all pages: the copy is a consistent snapshot even while other connections write.</summary>
    private static void Snapshot(string sourcePath, string copyPath)
    {
        using var source = Open(sourcePath, SqliteOpenMode.ReadOnly);
        using var destination = Open(copyPath, SqliteOpenMode.ReadWriteCreate);
        source.BackupDatabase(destination);
    }

    private static SqliteConnection Open(string path, SqliteOpenMode mode)
    {
        var connection = new SqliteConnection(new SqliteConnectionStringBuilder
        {
            DataSource = path,
            Mode = mode,
            Pooling = false,
            DefaultTimeout = 60,
        }.ToString());
        connection.Open();
        using var busy = connection.CreateCommand();
        // backup_step waits through the busy handler while a writer holds the lock (rollback-journal databases).
        busy.CommandText = "PRAGMA busy_timeout = 60000";
        busy.ExecuteNonQuery();
        return connection;
    }

    private static void DeleteWithSidecars(string path)
    {
        File.Delete(path);
        foreach (var sidecar in Sidecars)
        {
            File.Delete(path + sidecar);
        }
    }
}
