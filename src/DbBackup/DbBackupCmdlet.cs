using System.Management.Automation;
using System.Net;
using System.Security;
using System.Text.RegularExpressions;
using DbBackup.Engine;
using DbBackup.Engine.Connectors;
using DbBackup.Engine.Errors;
using DbBackup.Engine.Pipeline;
using DbBackup.PowerShell.Hosting;

namespace DbBackup.PowerShell;

/// <summary>
/// What every DbBackup cmdlet shares: cancellation (Ctrl+C), the event pump (the engine runs on the
/// thread pool, only the pipeline thread writes), the one exception-to-ErrorRecord mapping, and the
/// conversion of PowerShell parameters (paths, PSCredential, SecureString) into engine options.
/// Blocking on engine tasks happens here and nowhere else.
/// </summary>
public abstract class DbBackupCmdlet : PSCmdlet, IDisposable
{
    /// <summary>Parameter set of cmdlets that take a BackupRecord from the pipeline.</summary>
    public const string InputObjectParameterSet = "InputObject";
    /// <summary>Parameter set of cmdlets that take a backup id and a repository.</summary>
    public const string IdParameterSet = "Id";

    private static int _nextProgressId = 1;
    private CancellationTokenSource? _cancellation;
    private ProgressWriter? _progress;

    private static readonly Regex UriPattern = new("^[A-Za-z][A-Za-z0-9+.-]+://", RegexOptions.CultureInvariant);

    protected CancellationToken CancellationToken => _cancellation?.Token ?? CancellationToken.None;

    protected override void BeginProcessing()
    {
        _cancellation = new CancellationTokenSource();
        _progress = new ProgressWriter(Interlocked.Add(ref _nextProgressId, 16));
    }

    protected override void StopProcessing() => _cancellation?.Cancel();

    public void Dispose()
    {
        _cancellation?.Dispose();
        GC.SuppressFinalize(this);
    }

    /// <summary>
    /// Runs one engine call for one item. Returns its result, or null after writing a non-terminating
    /// error (the pipeline continues with the next item). Setup failures stop the cmdlet. Only the engine's
    /// exceptions are mapped: PowerShell's own (a stopped pipeline, -ErrorAction Stop) pass through untouched.
    /// </summary>
    private protected T? Invoke<T>(Func<DbBackupService, IProgress<EngineEvent>, CancellationToken, Task<T>> operation, object? target)
        where T : class
    {
        var task = Pump(operation);
        try
        {
            return task.GetAwaiter().GetResult();
        }
        catch (OperationCanceledException) when (Stopping || CancellationToken.IsCancellationRequested)
        {
            throw new PipelineStoppedException();
        }
        catch (Exception exception)
        {
            var record = ErrorMapping.ToErrorRecord(exception, target);
            if (ErrorMapping.IsSetupError(exception))
            {
                ThrowTerminatingError(record);
            }
            WriteError(record);
            return null;
        }
    }

    /// <summary>Starts the engine call on the thread pool and drains its events on this (the pipeline) thread until it completes.</summary>
    private Task<T> Pump<T>(Func<DbBackupService, IProgress<EngineEvent>, CancellationToken, Task<T>> operation)
    {
        var events = new EngineEventQueue();
        var token = CancellationToken;
        var task = Task.Run(() => operation(CreateService(), events, token), token);
        task.ContinueWith(static (_, state) => ((EngineEventQueue)state!).Signal(), events,
            CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        try
        {
            while (true)
            {
                events.WaitForSignal();
                var done = task.IsCompleted;
                Drain(events);
                if (done)
                {
                    break;
                }
            }
        }
        finally
        {
            // When a Write* call throws (the pipeline stopped, -WarningAction Stop), the engine, cancelled or
            // not, still finishes and cleans up (a cancelled backup leaves no visible artifact) before we return.
            if (!task.IsCompleted)
            {
                _cancellation?.Cancel();
                ((IAsyncResult)task).AsyncWaitHandle.WaitOne();
            }
            if (!Stopping)
            {
                foreach (var completed in _progress!.CompleteAll())
                {
                    WriteProgress(completed);
                }
            }
        }
        return task;
    }

    private void Drain(EngineEventQueue events)
    {
        while (events.TryTake(out var engineEvent))
        {
            switch (engineEvent)
            {
                case ProgressEvent progress:
                    if (_progress!.Next(progress) is { } record)
                    {
                        WriteProgress(record);
                    }
                    break;
                case MessageEvent { Level: MessageLevel.Warning } message:
                    WriteWarning(message.Message);
                    break;
                case MessageEvent { Level: MessageLevel.Information } message:
                    WriteInformation(message.Message, ["DbBackup"]);
                    break;
                case MessageEvent message:
                    WriteVerbose(message.Message);
                    break;
            }
        }
    }

    private static DbBackupService CreateService() => new();

    /// <summary>
    /// The catalog's record of one backup (the Id parameter sets), or null after a BackupNotFound error.
    /// </summary>
    private protected BackupRecord? FindBackup(string repository, string backupId)
    {
        var query = new HistoryQuery { Repository = repository, BackupId = backupId };
        var found = Invoke((service, events, token) => service.GetHistoryAsync(query, events, token), backupId);
        if (found is null)
        {
            return null;
        }
        if (found.Count == 1)
        {
            return found[0];
        }

        var exception = found.Count == 0
            ? new BackupNotFoundException(ErrorIds.BackupNotFound,
                $"Backup '{backupId}' is not in the catalog's index of repository '{repository}'.",
                $"Check the id with Get-BackupHistory -Repository '{repository}', or index the repository with Get-BackupHistory -Repository '{repository}' -Refresh.")
            : new DbBackupException(ErrorIds.InvalidArgument, ErrorKind.InvalidArgument,
                $"Backup id '{backupId}' matches {found.Count} backups in repository '{repository}'.",
                "Pipe the wanted record from Get-BackupHistory instead of passing -BackupId.");
        WriteError(ErrorMapping.ToErrorRecord(exception, backupId));
        return null;
    }

    /// <summary>Stops the cmdlet with an InvalidArgument error about a parameter value.</summary>
    /// <summary>A failed copy as a non-terminating error: its error id, the target as the target object.</summary>
    private protected void WriteCopyFailure(CopyResult failed)
    {
        var exception = new DbBackupException(failed.ErrorId ?? ErrorIds.CopyFailed, ErrorKind.WriteError,
            $"Copy of {failed.Database}/{failed.BackupId} to '{failed.Target}' failed: {failed.Message}",
            "Fix the target, then run Copy-Backup for this backup again; it resumes where it stopped.");
        WriteError(ErrorMapping.ToErrorRecord(exception, failed.Target));
    }

    private protected void ThrowArgumentError(string message, string recommendedAction, object? target)
    {
        var exception = new DbBackupException(ErrorIds.InvalidArgument, ErrorKind.InvalidArgument, message, recommendedAction);
        ThrowTerminatingError(ErrorMapping.ToErrorRecord(exception, target));
    }

    /// <summary>
    /// A repository is a URI (s3://, file://, ...) passed as-is, or a file-system path resolved against the
    /// PowerShell current location (not the process working directory).
    /// </summary>
    private protected string ResolveRepository(string repository) =>
        UriPattern.IsMatch(repository) ? repository : ResolveFileSystemPath(repository, "Repository");

    private protected string ResolveFileSystemPath(string path, string parameterName)
    {
        var resolved = SessionState.Path.GetUnresolvedProviderPathFromPSPath(path, out var provider, out _);
        if (!string.Equals(provider.Name, "FileSystem", StringComparison.OrdinalIgnoreCase))
        {
            ThrowArgumentError($"-{parameterName} '{path}' is on the {provider.Name} provider, not the file system.",
                $"Pass a file-system path or a URI to -{parameterName}.", path);
        }
        return resolved;
    }

    /// <summary>The connection the engine uses; the password leaves its SecureString only here.</summary>
    private protected ConnectionOptions CreateConnection(DatabaseEngine engine, string? server, int? port, string database,
        PSCredential? credential, int? connectTimeoutSeconds, string? toolDirectory)
    {
        return new ConnectionOptions
        {
            Engine = engine,
            Host = string.IsNullOrEmpty(server) ? null : server,
            Port = port,
            Database = engine == DatabaseEngine.Sqlite ? ResolveFileSystemPath(database, "Database") : database,
            Username = credential?.UserName,
            Password = credential is null ? null : ToSecret(credential.Password),
            ConnectTimeout = connectTimeoutSeconds is { } seconds ? TimeSpan.FromSeconds(seconds) : DefaultConnectTimeout,
            ToolDirectory = string.IsNullOrEmpty(toolDirectory) ? null : ResolveFileSystemPath(toolDirectory, "ToolDirectory"),
        };
    }

    private protected EncryptionOptions? CreateEncryption(SecureString? passphrase, string? keyFile)
    {
        if (passphrase is null && string.IsNullOrEmpty(keyFile))
        {
            return null;
        }
        return new EncryptionOptions
        {
            Passphrase = passphrase is null ? null : ToSecret(passphrase),
            KeyFile = string.IsNullOrEmpty(keyFile) ? null : ResolveFileSystemPath(keyFile, "KeyFile"),
        };
    }

    /// <summary>The engine's own default, so the module and the CLI agree.</summary>
    private static readonly TimeSpan DefaultConnectTimeout = new ConnectionOptions { Engine = DatabaseEngine.Sqlite, Database = "-" }.ConnectTimeout;

    private static SecretValue ToSecret(SecureString secure) => new(new NetworkCredential(string.Empty, secure).Password);
}
