namespace DbBackup.Engine.Storage;

/// <summary>
/// How storage locations are opened: credentials given explicitly by the host (cmdlet parameters, CLI prompts,
/// config), the environment to read defaults from, and transfer tuning. Secrets are <see cref="SecretValue"/>s and
/// never reach <see cref="IBackupStorage.DisplayLocation"/>, messages or logs.
/// </summary>
public sealed class StorageOptions
{
    public static StorageOptions Default { get; } = new();

    /// <summary>Reads an environment variable (AWS_*, AZURE_STORAGE_*, GOOGLE_*, ...). Tests replace it.</summary>
    public Func<string, string?> Environment { get; init; } = System.Environment.GetEnvironmentVariable;

    /// <summary>Upload part size in bytes; null lets each adapter choose (and clamp to its service's limits).</summary>
    public int? PartSize { get; init; }

    /// <summary>
    /// Parts uploaded concurrently, shared by every object open on one storage; null lets each adapter choose. Part
    /// memory is about (this + 2) × part size.
    /// </summary>
    public int? MaxConcurrentParts { get; init; }

    /// <summary>Objects requested per list page; null lets each adapter choose (tests use small pages to prove paging).</summary>
    public int? ListPageSize { get; init; }

    /// <summary>Retries of one failed request (part, list page, read, stat, delete) before the operation fails.</summary>
    public int MaxRetries { get; init; } = 5;

    /// <summary>Delay before the first retry; doubles (with jitter) on each further retry.</summary>
    public TimeSpan RetryBaseDelay { get; init; } = TimeSpan.FromMilliseconds(500);

    /// <summary>Timeout of one request (a part upload counts as one request).</summary>
    public TimeSpan RequestTimeout { get; init; } = TimeSpan.FromMinutes(5);

    public S3.S3Settings S3 { get; init; } = new();

    public Azure.AzureBlobSettings Azure { get; init; } = new();

    public Gcs.GcsSettings Gcs { get; init; } = new();

    /// <summary>
    /// A tuning variable (DBBACKUP_S3_PART_SIZE_MIB, ...): a whole number from 1 to <paramref name="max"/>, or null when
    /// it is unset or anything else, so the adapter's default applies.
    /// </summary>
    internal int? EnvironmentNumber(string name, int max = int.MaxValue)
        => int.TryParse(Environment(name), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var v) && v >= 1 && v <= max ? v : null;
}
