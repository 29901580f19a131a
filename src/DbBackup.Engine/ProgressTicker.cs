namespace DbBackup.Engine;

/// <summary>Samples a byte counter a few times a second and reports <see cref="ProgressEvent"/>s until disposed.</summary>
internal sealed class ProgressTicker : IAsyncDisposable
{
    private static readonly TimeSpan Interval = TimeSpan.FromMilliseconds(250);
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _loop;
    private readonly IProgress<EngineEvent>? _events;
    private readonly string _activity;
    private readonly Func<long> _bytes;
    private readonly long? _total;
    private readonly DateTimeOffset _start = DateTimeOffset.UtcNow;

    public ProgressTicker(IProgress<EngineEvent>? events, string activity, Func<long> bytes, long? total)
    {
        _events = events;
        _activity = activity;
        _bytes = bytes;
        _total = total is > 0 ? total : null;
        _loop = events is null ? Task.CompletedTask : RunAsync();
    }

    public string Status { get; set; } = "";

    private async Task RunAsync()
    {
        try
        {
            while (true)
            {
                await Task.Delay(Interval, _stop.Token).ConfigureAwait(false);
                Report(completed: false);
            }
        }
        catch (OperationCanceledException)
        {
            // stopped by DisposeAsync
        }
    }

    private void Report(bool completed)
    {
        var bytes = _bytes();
        var seconds = (DateTimeOffset.UtcNow - _start).TotalSeconds;
        // An estimate can be exceeded (compressed sizes, catalogs); never report more than 100%.
        var total = _total is long t && bytes > t ? (long?)null : _total;
        _events?.Report(new ProgressEvent(_activity, Status, bytes, total, seconds > 0 ? bytes / seconds : 0, completed));
    }

    public async ValueTask DisposeAsync()
    {
        _stop.Cancel();
        await _loop.ConfigureAwait(false);
        Report(completed: true);
        _stop.Dispose();
    }
}
