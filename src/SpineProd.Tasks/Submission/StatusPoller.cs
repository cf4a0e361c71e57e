using SpineProd.Scheduler;

namespace SpineProd.Submission;

/// <summary>
/// Waits for a production to finish by asking, at growing intervals, one batched status each time:
/// the interval starts at <c>first</c> and grows by half each poll up to <c>max</c>, so a long
/// production costs the controller a handful of queries an hour, not a storm.
/// </summary>
public sealed class StatusPoller(IClock clock, TimeSpan first, TimeSpan max, TimeSpan deadline)
{
    public int Polls { get; private set; }

    /// <summary>
    /// Polls until nothing is pending or running, or the deadline. <paramref name="stop"/> (Ctrl-C) is
    /// heard within a second, also in the middle of a long interval: OperationCanceledException.
    /// </summary>
    public StatusReport WaitUntilFinished(Func<StatusReport> query, Action<StatusReport>? progress = null, CancellationToken stop = default)
    {
        var end = clock.UtcNow + deadline;
        var interval = first;
        while (true)
        {
            stop.ThrowIfCancellationRequested();
            var report = query();
            Polls++;
            if (report.IsFinished || clock.UtcNow >= end) return report;
            progress?.Invoke(report);
            var left = end - clock.UtcNow;
            var until = clock.UtcNow + (interval < left ? interval : left);
            for (var rest = until - clock.UtcNow; rest > TimeSpan.Zero; rest = until - clock.UtcNow)
            {
                stop.ThrowIfCancellationRequested();
                clock.Sleep(rest < TimeSpan.FromSeconds(1) ? rest : TimeSpan.FromSeconds(1));
            }
            interval = TimeSpan.FromTicks(Math.Min(max.Ticks, (long)(interval.Ticks * 1.5)));
        }
    }
}
