using SpineProd.Planning;
using SpineProd.Scheduler;
using SpineProd.Submission;

namespace SpineProd.Run;

/// <summary>
/// How -t:Run retries: a task that ran out of memory goes again with <see cref="MemoryFactor"/> times
/// the memory of its last attempt, one that timed out with <see cref="TimeFactor"/> times the time,
/// up to <see cref="MaxAttempts"/> attempts and never above the caps (the partition's limit, or
/// RetryMaxTime/RetryMaxMemPerCpu when smaller). A plain failure (an exit code) is deterministic
/// for SPINE: it runs <see cref="FailedAttempts"/> times at most (default once: not retried).
/// </summary>
public sealed record RetrySettings
{
    public int MaxAttempts { get; init; } = 3;
    public double MemoryFactor { get; init; } = 2;
    public double TimeFactor { get; init; } = 2;
    public int FailedAttempts { get; init; } = 1;
    public TimeSpan? MaxTime { get; init; }
    public long? MaxMemPerCpuBytes { get; init; }
}

/// <summary>
/// What one retry asks for, as values (null keeps the plan's): a time limit, and memory per CPU in
/// whole MiB. The scheduler's dialect spells them (<see cref="ISchedulerDialect.RaisedLimitOptions"/>).
/// </summary>
public sealed record RaisedLimits(TimeSpan? Time, long? MemPerCpuBytes)
{
    public static readonly RaisedLimits None = new(null, null);
    public bool IsNone => Time is null && MemPerCpuBytes is null;

    /// <summary>
    /// The raised limits of a stage's task as a neutral request: the time, and the memory of the whole
    /// task with the CPUs and GPUs it is spread over (a scheduler that asks for them in one chunk, as
    /// PBS's select, needs all three).
    /// </summary>
    public ResourceRequest Request(Planning.Resources r)
    {
        int cpus = Math.Max(1, r.CpusPerTask);
        return MemPerCpuBytes is long m
            ? new ResourceRequest { Walltime = Time, MemoryBytes = m * cpus, Cpus = cpus, Gpus = r.Gpus > 0 ? r.Gpus : null }
            : new ResourceRequest { Walltime = Time };
    }

    /// <summary>A memory per CPU a person would write: whole MiB, rounded up.</summary>
    public static long WholeMiB(long bytes) => (bytes + (1L << 20) - 1) >> 20 << 20;

    public override string ToString() => IsNone ? "the plan's limits"
        : string.Join(" and ", new[] { Time is TimeSpan t ? $"time {ResourceValues.Hms(t)}" : null, MemPerCpuBytes is long m ? $"{m >> 20}M per CPU" : null }.OfType<string>());
}

/// <summary>A task's fate in this round: sent (with these limits) or left as it is, and why in words.</summary>
public sealed record RetryDecision(TaskInfo Task, bool Send, RaisedLimits Limits, string Why);

/// <summary>The limits a stage can never go past: its partition's (null when unknown or unlimited).</summary>
public sealed record PartitionLimits(TimeSpan? MaxTime, long? MaxMemPerCpuBytes);

public sealed class RetryPolicy(RetrySettings settings, Func<StagePlan, PartitionLimits?>? partitionLimits = null)
{
    public RetrySettings Settings => settings;

    /// <summary>Every task that is neither complete nor running: what this round does with it.</summary>
    public List<RetryDecision> Decide(ProductionState state)
    {
        var decisions = new List<RetryDecision>();
        var sentStages = new HashSet<string>();
        var history = Attempts(state);
        foreach (var stage in state.Plan.Stages)   // upstream first: a blocked task goes again only behind a retried upstream
        {
            var limits = partitionLimits?.Invoke(stage);
            foreach (var t in state.Stages[stage.Name])
            {
                if (t.IsDone || (t.IsLive && !t.IsBlocked)) continue;
                var d = Decide(t, history.GetValueOrDefault((stage.Name, t.Task)) ?? [], limits, sentStages);
                decisions.Add(d);
                if (d.Send) sentStages.Add(stage.Name);
            }
        }
        return decisions;
    }

    private RetryDecision Decide(TaskInfo t, List<TaskStateKind> history, PartitionLimits? partition, HashSet<string> sentStages)
    {
        int attempts = history.Count;
        bool blocked = t.IsBlocked || (t.Status == TaskState.Cancelled && t.Scheduler?.Reason == "DependencyNeverSatisfied");
        if (blocked)
            return t.Stage.DependsOn.Any(sentStages.Contains)
                ? new RetryDecision(t, true, Raised(t, history, partition).Limits, "blocked behind an upstream task that goes again")
                : new RetryDecision(t, false, RaisedLimits.None, "blocked behind upstream tasks that are not retried");
        if (t.Status == TaskState.NotSubmitted)
            return new RetryDecision(t, true, RaisedLimits.None, "never submitted");
        // A task of an interrupted or lost submission never ran as far as anyone knows: it goes again as it was.
        if (t.Scheduler is null)
            return attempts < settings.MaxAttempts
                ? new RetryDecision(t, true, Raised(t, history, partition).Limits, t.Detail)
                : GiveUp(t, $"{t.Detail}; {attempts} attempt(s), RetryMaxAttempts={settings.MaxAttempts}");
        var kind = t.Scheduler.Kind;
        switch (kind)
        {
            case TaskStateKind.OutOfMemory or TaskStateKind.Timeout:
            {
                if (attempts >= settings.MaxAttempts)
                    return GiveUp(t, $"{Submitter.ReasonLabel(t)} in each of {attempts} attempt(s) (RetryMaxAttempts={settings.MaxAttempts})");
                var (limits, atCap) = Raised(t, history, partition);
                if (atCap is not null) return GiveUp(t, $"{Submitter.ReasonLabel(t)} at {atCap}: not retried higher");
                return new RetryDecision(t, true, limits, $"{Submitter.ReasonLabel(t)} (attempt {attempts} of {settings.MaxAttempts}): again with {limits}");
            }
            case TaskStateKind.NodeFail or TaskStateKind.Preempted:
                // Not the task's fault: again as it was, within the attempts.
                return attempts < settings.MaxAttempts
                    ? new RetryDecision(t, true, Raised(t, history, partition).Limits, $"{t.Scheduler.RawState}: again as it was")
                    : GiveUp(t, $"{t.Scheduler.RawState} in {attempts} attempt(s) (RetryMaxAttempts={settings.MaxAttempts})");
            case TaskStateKind.Cancelled:
                return GiveUp(t, "cancelled (someone cancelled it: not retried; Submit sends it again)");
            default:
                int failures = history.Count(k => k is TaskStateKind.Failed or TaskStateKind.Completed);
                return failures < settings.FailedAttempts && attempts < settings.MaxAttempts
                    ? new RetryDecision(t, true, Raised(t, history, partition).Limits, $"{t.Detail} (failure {failures} of {settings.FailedAttempts} allowed): again")
                    : GiveUp(t, $"{t.Detail}: a failure that more memory or time does not fix, {failures} time(s) (RetryFailedAttempts={settings.FailedAttempts})");
        }
    }

    private static RetryDecision GiveUp(TaskInfo t, string why) => new(t, false, RaisedLimits.None, why);

    /// <summary>
    /// The limits of the next attempt: the plan's, times the factor once per earlier attempt that ran
    /// out of memory (of time), capped. <c>AtCap</c> says which cap the last attempt already had, when
    /// the task failed for want of exactly that resource.
    /// </summary>
    private (RaisedLimits Limits, string? AtCap) Raised(TaskInfo t, List<TaskStateKind> history, PartitionLimits? partition)
    {
        var r = t.Stage.Resources;
        int ooms = history.Count(k => k == TaskStateKind.OutOfMemory), timeouts = history.Count(k => k == TaskStateKind.Timeout);
        long? memCap = Min(settings.MaxMemPerCpuBytes, partition?.MaxMemPerCpuBytes);
        TimeSpan? timeCap = Min(settings.MaxTime, partition?.MaxTime);
        string? atCap = null;
        long? mem = null;
        if (ooms > 0)
        {
            if (r.MemPerCpuBytes is not long baseMem) atCap = "the site's default memory (the production sets no MemPerCpu to raise)";
            else
            {
                long last = Cap((long)(baseMem * Math.Pow(settings.MemoryFactor, ooms - 1)), memCap), next = Cap((long)(baseMem * Math.Pow(settings.MemoryFactor, ooms)), memCap);
                if (next <= last && t.Scheduler?.Kind == TaskStateKind.OutOfMemory) atCap = $"the memory limit ({(last >> 20)}M per CPU{CapSource(settings.MaxMemPerCpuBytes, partition?.MaxMemPerCpuBytes, t)})";
                mem = WholeMiB(next);
            }
        }
        TimeSpan? time = null;
        if (timeouts > 0)
        {
            if (r.Walltime is not TimeSpan b || b <= TimeSpan.Zero) atCap ??= "the site's default time (the production sets no Time to raise)";
            else
            {
                TimeSpan last = Cap(b * Math.Pow(settings.TimeFactor, timeouts - 1), timeCap), next = Cap(b * Math.Pow(settings.TimeFactor, timeouts), timeCap);
                if (next <= last && t.Scheduler?.Kind == TaskStateKind.Timeout) atCap ??= $"the time limit ({ResourceValues.Hms(last)}{CapSource(settings.MaxTime, partition?.MaxTime, t)})";
                time = next;
            }
        }
        // Only the resource the task last ran out of decides whether it is stuck at a cap.
        if (atCap is not null && !((t.Scheduler?.Kind == TaskStateKind.OutOfMemory && atCap.Contains("memory")) || (t.Scheduler?.Kind == TaskStateKind.Timeout && atCap.Contains("time"))))
            atCap = null;
        return (new RaisedLimits(time, mem), atCap);
    }

    private static string CapSource<T>(T? property, T? partition, TaskInfo t) where T : struct =>
        property is not null && (partition is null || Comparer<T>.Default.Compare(property.Value, partition.Value) <= 0)
            ? ", RetryMax" + (typeof(T) == typeof(TimeSpan) ? "Time" : "MemPerCpu")
            : partition is not null ? $", the limit of partition {t.Stage.Resources.Partition}" : "";

    private static long? Min(long? a, long? b) => a is null ? b : b is null ? a : Math.Min(a.Value, b.Value);
    private static TimeSpan? Min(TimeSpan? a, TimeSpan? b) => a is null ? b : b is null ? a : a < b ? a : b;
    private static long WholeMiB(long v) => RaisedLimits.WholeMiB(v);
    private static long Cap(long v, long? cap) => cap is long c && v > c ? c : v;
    private static TimeSpan Cap(TimeSpan v, TimeSpan? cap) => cap is TimeSpan c && v > c ? c : v;

    /// <summary>
    /// How each attempt of every task ended, oldest first: every submission in the ledger that ran
    /// it, as the scheduler reports it (the status query asks for all of them at once). An attempt the
    /// scheduler forgot (purged from accounting) counts as an attempt of unknown outcome.
    /// </summary>
    public static Dictionary<(string Stage, int Task), List<TaskStateKind>> Attempts(ProductionState state)
    {
        var all = new Dictionary<(string, int), List<TaskStateKind>>();
        foreach (var (_, st, arr) in state.Ledger.AllArrays())
        {
            if (arr.JobId is null || !ArraySpec.TryParse(arr.Tasks, out var tasks)) continue;
            foreach (int task in tasks.Indices)
            {
                if (!all.TryGetValue((st.Stage, task), out var kinds)) all[(st.Stage, task)] = kinds = new();
                kinds.Add(state.Snapshot.Find(arr.JobId, task - arr.FirstTask)?.Kind ?? TaskStateKind.Unknown);
            }
        }
        return all;
    }
}
