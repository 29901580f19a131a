using System.Collections.Concurrent;
using DbBackup.Engine;

namespace DbBackup.PowerShell.Hosting;

/// <summary>
/// Collects engine events raised on thread-pool threads; only the pipeline thread takes them out
/// (PowerShell forbids Write* calls from any other thread). Not disposable on purpose: the engine or the
/// completion continuation may still signal after the cmdlet stopped waiting, and a SemaphoreSlim whose wait
/// handle is never requested holds nothing that needs releasing.
/// </summary>
internal sealed class EngineEventQueue : IProgress<EngineEvent>
{
    private readonly ConcurrentQueue<EngineEvent> _events = new();
    private readonly SemaphoreSlim _signal = new(0);

    public void Report(EngineEvent value)
    {
        _events.Enqueue(value);
        Signal();
    }

    /// <summary>Wakes the pipeline thread (an event arrived or the operation completed).</summary>
    public void Signal() => _signal.Release();

    public void WaitForSignal() => _signal.Wait();

    public bool TryTake(out EngineEvent engineEvent)
    {
        if (_events.TryDequeue(out var taken))
        {
            engineEvent = taken;
            return true;
        }
        engineEvent = null!;
        return false;
    }
}
