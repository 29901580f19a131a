using System.Globalization;
using Microsoft.Data.Sqlite;

namespace DbBackup.Engine.Catalog;

/// <summary>
/// The local catalog (one SQLite file). Two parts that never mix: the <b>index</b> of backup manifests
/// (tables <c>repositories</c>, <c>backups</c>) — a cache rebuildable from any repository at any time — and
/// <b>local state</b> that is not rebuildable and never touched by a rebuild (table <c>runs</c>: run history).
/// </summary>
public sealed class BackupCatalog
{
    private readonly string _connectionString;

    public BackupCatalog(string path)
    {
        Path = System.IO.Path.GetFullPath(path);
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(Path)!);
        _connectionString = new SqliteConnectionStringBuilder { DataSource = Path, Pooling = false, DefaultTimeout = 30 }.ToString();
        using var connection = Open();
        Execute(connection, """
            PRAGMA journal_mode=WAL;
            CREATE TABLE IF NOT EXISTS repositories (
                location TEXT PRIMARY KEY,
                refreshed_utc TEXT NOT NULL);
            CREATE TABLE IF NOT EXISTS backups (
                repository TEXT NOT NULL,
                database_name TEXT NOT NULL,
                backup_id TEXT NOT NULL,
                engine TEXT NOT NULL,
                type TEXT NOT NULL,
                start_utc TEXT NOT NULL,
                end_utc TEXT NOT NULL,
                size INTEGER NOT NULL,
                stored_size INTEGER NOT NULL,
                compression TEXT NOT NULL,
                compression_level INTEGER,
                encryption TEXT NOT NULL,
                frame_count INTEGER NOT NULL,
                volume_count INTEGER NOT NULL,
                server_version TEXT,
                tool_name TEXT,
                tool_version TEXT,
                source_host TEXT,
                plaintext_sha256 TEXT NOT NULL,
                PRIMARY KEY (repository, database_name, backup_id));
            CREATE INDEX IF NOT EXISTS backups_by_database ON backups (database_name, start_utc);
            CREATE TABLE IF NOT EXISTS runs (
                id INTEGER PRIMARY KEY AUTOINCREMENT,
                operation TEXT NOT NULL,
                repository TEXT,
                database_name TEXT,
                backup_id TEXT,
                start_utc TEXT NOT NULL,
                end_utc TEXT NOT NULL,
                succeeded INTEGER NOT NULL,
                error_id TEXT,
                message TEXT);
            """);
    }

    public string Path { get; }

    /// <summary>The default catalog: $DBBACKUP_CATALOG, else the per-user local data folder's DbBackup/catalog.db.</summary>
    public static string DefaultPath()
    {
        var fromEnvironment = Environment.GetEnvironmentVariable("DBBACKUP_CATALOG");
        if (!string.IsNullOrWhiteSpace(fromEnvironment)) return fromEnvironment;
        var data = Environment.GetFolderPath(Environment.SpecialFolder.LocalApplicationData, Environment.SpecialFolderOption.Create);
        if (string.IsNullOrEmpty(data)) data = System.IO.Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".local", "share");
        return System.IO.Path.Combine(data, "DbBackup", "catalog.db");
    }

    public bool HasIndexed(string repository)
    {
        using var connection = Open();
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT 1 FROM repositories WHERE location = $r";
        command.Parameters.AddWithValue("$r", repository);
        return command.ExecuteScalar() is not null;
    }

    /// <summary>Adds or updates one backup in the index.</summary>
    public void Upsert(BackupRecord record)
    {
        using var connection = Open();
        Upsert(connection, null, record);
    }

    /// <summary>Replaces the index of <paramref name="repository"/> with <paramref name="records"/> (local state untouched).</summary>
    public void ReplaceRepository(string repository, IEnumerable<BackupRecord> records)
    {
        using var connection = Open();
        using var transaction = connection.BeginTransaction();
        using (var delete = connection.CreateCommand())
        {
            delete.Transaction = transaction;
            delete.CommandText = "DELETE FROM backups WHERE repository = $r";
            delete.Parameters.AddWithValue("$r", repository);
            delete.ExecuteNonQuery();
        }
        foreach (var record in records) Upsert(connection, transaction, record);
        using (var mark = connection.CreateCommand())
        {
            mark.Transaction = transaction;
            mark.CommandText = "INSERT INTO repositories(location, refreshed_utc) VALUES($r, $t) ON CONFLICT(location) DO UPDATE SET refreshed_utc = $t";
            mark.Parameters.AddWithValue("$r", repository);
            mark.Parameters.AddWithValue("$t", DateTimeOffset.UtcNow.ToString("O", CultureInfo.InvariantCulture));
            mark.ExecuteNonQuery();
        }
        transaction.Commit();
    }

    /// <summary>Backups matching the query, newest first; <c>Last</c> keeps the newest N per database.</summary>
    public IReadOnlyList<BackupRecord> Query(HistoryQuery query)
    {
        using var connection = Open();
        using var command = connection.CreateCommand();
        var where = new List<string>();
        if (query.Repository is not null) { where.Add("repository = $repository"); command.Parameters.AddWithValue("$repository", query.Repository); }
        if (query.Database is not null) { where.Add("lower(database_name) GLOB $database"); command.Parameters.AddWithValue("$database", ToGlob(query.Database)); }
        if (query.Engine is not null) { where.Add("engine = $engine"); command.Parameters.AddWithValue("$engine", query.Engine.Value.ToString()); }
        if (query.BackupId is not null) { where.Add("backup_id = $id"); command.Parameters.AddWithValue("$id", query.BackupId); }
        if (query.Since is not null) { where.Add("start_utc >= $since"); command.Parameters.AddWithValue("$since", Utc(query.Since.Value)); }
        command.CommandText = "SELECT * FROM backups" + (where.Count > 0 ? " WHERE " + string.Join(" AND ", where) : "") + " ORDER BY start_utc DESC, backup_id DESC";
        var results = new List<BackupRecord>();
        var perDatabase = new Dictionary<(string, string), int>();
        using var reader = command.ExecuteReader();
        while (reader.Read())
        {
            var record = Read(reader);
            if (query.Last is int last)
            {
                var key = (record.Repository, record.Database);
                perDatabase[key] = perDatabase.GetValueOrDefault(key) + 1;
                if (perDatabase[key] > last) continue;
            }
            results.Add(record);
        }
        return results;
    }

    /// <summary>Database names known to the index (for tab completion).</summary>
    public IReadOnlyList<string> DatabaseNames(string? repository = null)
    {
        using var connection = Open();
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT DISTINCT database_name FROM backups" + (repository is null ? "" : " WHERE repository = $r") + " ORDER BY 1";
        if (repository is not null) command.Parameters.AddWithValue("$r", repository);
        var names = new List<string>();
        using var reader = command.ExecuteReader();
        while (reader.Read()) names.Add(reader.GetString(0));
        return names;
    }

    /// <summary>Appends to the local run history (local state; never rebuilt).</summary>
    public void RecordRun(string operation, string? repository, string? database, string? backupId, DateTimeOffset start, bool succeeded, string? errorId, string? message)
    {
        using var connection = Open();
        using var command = connection.CreateCommand();
        command.CommandText = """
            INSERT INTO runs(operation, repository, database_name, backup_id, start_utc, end_utc, succeeded, error_id, message)
            VALUES ($op, $repo, $db, $id, $start, $end, $ok, $err, $msg)
            """;
        command.Parameters.AddWithValue("$op", operation);
        command.Parameters.AddWithValue("$repo", (object?)repository ?? DBNull.Value);
        command.Parameters.AddWithValue("$db", (object?)database ?? DBNull.Value);
        command.Parameters.AddWithValue("$id", (object?)backupId ?? DBNull.Value);
        command.Parameters.AddWithValue("$start", Utc(start));
        command.Parameters.AddWithValue("$end", Utc(DateTimeOffset.UtcNow));
        command.Parameters.AddWithValue("$ok", succeeded ? 1 : 0);
        command.Parameters.AddWithValue("$err", (object?)errorId ?? DBNull.Value);
        command.Parameters.AddWithValue("$msg", (object?)message ?? DBNull.Value);
        command.ExecuteNonQuery();
    }

    public int RunCount()
    {
        using var connection = Open();
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT COUNT(*) FROM runs";
        return Convert.ToInt32(command.ExecuteScalar(), CultureInfo.InvariantCulture);
    }

    private SqliteConnection Open()
    {
        var connection = new SqliteConnection(_connectionString);
        connection.Open();
        return connection;
    }

    private static void Execute(SqliteConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }

    private static void Upsert(SqliteConnection connection, SqliteTransaction? transaction, BackupRecord r)
    {
        using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = """
            INSERT OR REPLACE INTO backups(repository, database_name, backup_id, engine, type, start_utc, end_utc, size, stored_size,
                compression, compression_level, encryption, frame_count, volume_count, server_version, tool_name, tool_version, source_host, plaintext_sha256)
            VALUES ($repository, $database, $id, $engine, $type, $start, $end, $size, $stored, $compression, $level, $encryption,
                $frames, $volumes, $server, $tool, $toolVersion, $host, $sha)
            """;
        var p = command.Parameters;
        p.AddWithValue("$repository", r.Repository);
        p.AddWithValue("$database", r.Database);
        p.AddWithValue("$id", r.BackupId);
        p.AddWithValue("$engine", r.Engine.ToString());
        p.AddWithValue("$type", r.Type.ToString());
        p.AddWithValue("$start", Utc(r.StartTime));
        p.AddWithValue("$end", Utc(r.EndTime));
        p.AddWithValue("$size", r.Size);
        p.AddWithValue("$stored", r.StoredSize);
        p.AddWithValue("$compression", r.Compression.ToString());
        p.AddWithValue("$level", (object?)r.CompressionLevel ?? DBNull.Value);
        p.AddWithValue("$encryption", r.Encryption.ToString());
        p.AddWithValue("$frames", r.FrameCount);
        p.AddWithValue("$volumes", r.VolumeCount);
        p.AddWithValue("$server", (object?)r.ServerVersion ?? DBNull.Value);
        p.AddWithValue("$tool", (object?)r.ToolName ?? DBNull.Value);
        p.AddWithValue("$toolVersion", (object?)r.ToolVersion ?? DBNull.Value);
        p.AddWithValue("$host", (object?)r.SourceHost ?? DBNull.Value);
        p.AddWithValue("$sha", r.PlaintextSha256);
        command.ExecuteNonQuery();
    }

    private static BackupRecord Read(SqliteDataReader x)
    {
        string? Text(string column) => x.IsDBNull(x.GetOrdinal(column)) ? null : x.GetString(x.GetOrdinal(column));
        return new BackupRecord
        {
            Repository = x.GetString(x.GetOrdinal("repository")),
            Database = x.GetString(x.GetOrdinal("database_name")),
            BackupId = x.GetString(x.GetOrdinal("backup_id")),
            Engine = Enum.Parse<DatabaseEngine>(x.GetString(x.GetOrdinal("engine"))),
            Type = Enum.Parse<BackupType>(x.GetString(x.GetOrdinal("type"))),
            StartTime = DateTimeOffset.Parse(x.GetString(x.GetOrdinal("start_utc")), CultureInfo.InvariantCulture),
            EndTime = DateTimeOffset.Parse(x.GetString(x.GetOrdinal("end_utc")), CultureInfo.InvariantCulture),
            Size = x.GetInt64(x.GetOrdinal("size")),
            StoredSize = x.GetInt64(x.GetOrdinal("stored_size")),
            Compression = Enum.Parse<CompressionCodec>(x.GetString(x.GetOrdinal("compression"))),
            CompressionLevel = x.IsDBNull(x.GetOrdinal("compression_level")) ? null : x.GetInt32(x.GetOrdinal("compression_level")),
            Encryption = Enum.Parse<EncryptionMode>(x.GetString(x.GetOrdinal("encryption"))),
            FrameCount = x.GetInt32(x.GetOrdinal("frame_count")),
            VolumeCount = x.GetInt32(x.GetOrdinal("volume_count")),
            ServerVersion = Text("server_version"),
            ToolName = Text("tool_name"),
            ToolVersion = Text("tool_version"),
            SourceHost = Text("source_host"),
            PlaintextSha256 = x.GetString(x.GetOrdinal("plaintext_sha256")),
        };
    }

    private static string Utc(DateTimeOffset value) => value.ToUniversalTime().ToString("yyyy-MM-dd'T'HH:mm:ss.fffffff'Z'", CultureInfo.InvariantCulture);

    /// <summary>PowerShell-style wildcards (<c>*</c>, <c>?</c>, <c>[abc]</c>; case-insensitive) to a SQLite GLOB over lower-cased names.</summary>
    internal static string ToGlob(string pattern) => pattern.ToLowerInvariant(); // the syntaxes coincide for *, ? and [..]
}
