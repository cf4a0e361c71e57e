using SpineProd.Scheduler;
using SpineProd.Usage;

namespace SpineProd.Report;

/// <summary>
/// What the report draws of one stage beyond what Status's <see cref="Usage.StageUsage"/> sums:
/// the measured attempts that did not complete (their run time and peak memory, stacked on the
/// completed ones in the distributions), retries, and every attempt's start and end for the
/// timeline. Fed once per attempt from <see cref="TaskAttempts.All"/>; held as plain numbers
/// (a million attempts are a few arrays of longs, never a million objects).
/// </summary>
public sealed class StageCharts
{
    /// <summary>Attempts beyond each task's first (resubmissions and retries).</summary>
    public int Retries { get; private set; }
    /// <summary>Run time (s) and peak memory (bytes) of attempts that ended otherwise than completed.</summary>
    public List<double> UnfinishedElapsed { get; } = new();
    public List<double> UnfinishedPeaks { get; } = new();
    /// <summary>Start and end (Unix seconds) of every attempt that started; a running one ends now.</summary>
    public List<long> Starts { get; } = new();
    public List<long> Ends { get; } = new();
    /// <summary>The first attempts with their task and state, for a timeline of one bar each (small productions).</summary>
    public List<TimelineBar> Bars { get; } = new();

    public void Add(TaskAttempt a, DateTimeOffset now)
    {
        if (a.Attempt > 1) Retries++;
        if (a.Scheduler is not { Usage: { Start: { } start } u } s) return;
        var end = s.IsLive ? now : u.End ?? (u.Elapsed is { } e ? start + e : (DateTimeOffset?)null);
        if (end is { } stop && stop >= start)
        {
            Starts.Add(start.ToUnixTimeSeconds());
            Ends.Add(stop.ToUnixTimeSeconds());
            if (Bars.Count < ReportCharts.MaxTimelineBars) Bars.Add(new TimelineBar(a.Stage, a.Task, a.Attempt, start, stop, s.Kind));
        }
        // as StageUsage counts it: an attempt that ran to an end with its run time known
        if (s.IsLive || s.Kind == TaskStateKind.Completed || u.Elapsed is not { } elapsed) return;
        UnfinishedElapsed.Add(elapsed.TotalSeconds);
        if (u.PeakMemoryBytes is { } peak) UnfinishedPeaks.Add(peak);
    }
}

/// <summary>One attempt as a bar of the timeline.</summary>
public readonly record struct TimelineBar(string Stage, int Task, int Attempt, DateTimeOffset Start, DateTimeOffset End, TaskStateKind Kind);
