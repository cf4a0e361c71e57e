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
        if (a.Scheduler is not { } s) { Add(a.Stage, a.Task, a.Attempt, default, false, null, null, null, null, now); return; }
        var u = s.Usage;
        Add(a.Stage, a.Task, a.Attempt, s.Kind, s.IsLive, u?.Start, u?.End, u?.Elapsed?.TotalSeconds, u?.PeakMemoryBytes, now);
    }

    /// <summary>A settled job's attempts, read from its columns (the same as one <see cref="Add(TaskAttempt, DateTimeOffset)"/> each).</summary>
    public void Add(SettledAttempts job, DateTimeOffset now)
    {
        var j = job.Job;
        for (int row = 0; row < j.Count; row++)
        {
            bool usage = j.HasUsage(row);
            Add(job.Stage, job.Task(row), job.Attempt(row), j.Kind(row), false, usage ? j.Start(row) : null, usage ? j.End(row) : null,
                usage ? j.ElapsedSeconds(row) : null, usage ? j.PeakMemoryBytes(row) : null, now);
        }
    }

    private void Add(string stage, int task, int attempt, TaskStateKind kind, bool live, DateTimeOffset? start, DateTimeOffset? end, double? elapsed, long? peak, DateTimeOffset now)
    {
        if (attempt > 1) Retries++;
        if (start is not { } begun) return;
        var stop = live ? now : end ?? (elapsed is { } e ? begun + TimeSpan.FromSeconds(e) : null);
        if (stop is { } ended && ended >= begun)
        {
            Starts.Add(begun.ToUnixTimeSeconds());
            Ends.Add(ended.ToUnixTimeSeconds());
            if (Bars.Count < ReportCharts.MaxTimelineBars) Bars.Add(new TimelineBar(stage, task, attempt, begun, ended, kind));
        }
        // as StageUsage counts it: an attempt that ran to an end with its run time known
        if (live || kind == TaskStateKind.Completed || elapsed is not { } ran) return;
        UnfinishedElapsed.Add(ran);
        if (peak is { } p) UnfinishedPeaks.Add(p);
    }
}

/// <summary>One attempt as a bar of the timeline.</summary>
public readonly record struct TimelineBar(string Stage, int Task, int Attempt, DateTimeOffset Start, DateTimeOffset End, TaskStateKind Kind);
