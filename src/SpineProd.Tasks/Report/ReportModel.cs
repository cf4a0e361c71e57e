using SpineProd.Audit;
using SpineProd.Planning;
using SpineProd.Scheduler;
using SpineProd.Submission;
using SpineProd.Usage;

namespace SpineProd.Report;

/// <summary>
/// Everything -t:Report shows, gathered once: the plan, where every task stands, what each stage
/// used against its request and the request that would have fitted, and the failures by cause
/// (all of it Status's own <see cref="StatusReport"/>: the same batched query, the same numbers);
/// the charts' data from the same attempts (<see cref="TaskAttempts"/>); and the audit trail. The
/// HTML page and the printed summary are both drawn from it.
/// </summary>
public sealed class ReportModel
{
    public required StatusReport Status { get; init; }
    public ProductionPlan Plan => Status.State.Plan;
    /// <summary>Per stage: what Status measured (<see cref="StatusReport.Usage"/>).</summary>
    public IReadOnlyDictionary<string, StageUsage> Usage => Status.Usage;
    public IReadOnlyDictionary<string, List<Advice>> Advice => Status.Advice;
    public Dictionary<string, StageCharts> Charts { get; } = new();
    public List<HistoryRow> History { get; } = new();
    public string SdkVersion { get; init; } = Rendering.JobScriptRenderer.Version;
    public string? GitCommit { get; set; }
    public DateTimeOffset Time => Status.Time;
    /// <summary>Where Status and the report spent their time (logged at -v:d as <c>SpineProd report timings:</c>).</summary>
    public Timings Timings => Status.State.Timings;

    /// <summary>Failed tasks shown one by one with their log tail; the others are counted in their cause's row.</summary>
    public const int MaxFailuresShown = 50;

    /// <summary>
    /// The model of a Status, with the charts drawn in one pass over its attempts: the ledger's, read
    /// against the Status's one snapshot, and its settled jobs' rows from their columns.
    /// </summary>
    public static ReportModel Create(StatusReport status, string? gitCommit = null)
    {
        var model = new ReportModel { Status = status, GitCommit = gitCommit };
        foreach (var stage in model.Plan.Stages) model.Charts[stage.Name] = new StageCharts();
        TaskAttempts.Each(status.State.Ledger, status.State.Snapshot, status.State.Settled,
            a => { if (model.Charts.TryGetValue(a.Stage, out var c)) c.Add(a, status.Time); },
            job => { if (model.Charts.TryGetValue(job.Stage, out var c)) c.Add(job, status.Time); });
        return model;
    }

    /// <summary>The largest request of the stage: the plan's, or the latest a scheduler reported (a retry asks for more).</summary>
    public (TimeSpan? Time, long? Memory) Request(StagePlan stage)
    {
        var plan = ResourceValues.FromPlan(stage.Resources);
        var u = Usage[stage.Name];
        return (Max(plan.Walltime, u.RequestedTime), Max(plan.MemoryBytes, u.RequestedMemoryBytes));
    }

    private static T? Max<T>(T? a, T? b) where T : struct, IComparable<T> =>
        a is { } x && b is { } y ? (x.CompareTo(y) >= 0 ? x : y) : a ?? b;

    /// <summary>The summary Report and Run print: the totals, one line per stage, then the requests that would have fitted.</summary>
    public List<string> Summary(string? reportFile = null)
    {
        var lines = new List<string>();
        var t = Status.Totals;
        lines.Add($"{Plan.ProductionName}: {t.Completed} of {t.Total} task(s) complete" +
                  $"{Bad(t)}; {Status.State.Ledger.Submissions.Count} submission(s)");
        foreach (var stage in Plan.Stages)
        {
            var c = Status.ByStage[stage.Name];
            var u = Usage[stage.Name];
            var retries = Charts[stage.Name].Retries;
            var (time, memory) = Request(stage);
            var parts = new List<string> { $"{c.Completed}/{c.Total} done{Bad(c)}" };
            if (u.Attempts > 0) parts.Add($"{u.Attempts} attempt(s){(retries > 0 ? $" ({retries} retried)" : "")}");
            if (u.CompletedElapsed.Count > 0)
                parts.Add($"run time median {Hms(StageUsage.Percentile(u.CompletedElapsed, 0.5))}, max {Hms(u.CompletedElapsed[^1])} of {(time is { } rt ? ResourceValues.Hms(rt) : "?")} asked");
            if (u.CompletedPeaks.Count > 0) parts.Add($"peak memory max {StageUsage.Bytes(u.CompletedPeaks[^1])} of {StageUsage.Bytes(memory)} asked");
            if (u.CpuEfficiency is double ce) parts.Add($"CPU efficiency {StageUsage.Percent(ce)}");
            if (u.GpuHoursUsed > 0) parts.Add($"{GpuHours(u)} GPU-hour(s) used of {u.GpuHoursRequested:0.##} asked");
            lines.Add($"  {stage.Name}: {string.Join("; ", parts)}");
        }
        foreach (var stage in Plan.Stages)
            foreach (var a in Advice.GetValueOrDefault(stage.Name) ?? [])
                lines.Add($"  {(Plan.Stages.Count > 1 ? stage.Name + ": " : "")}{a.Why}");
        if (reportFile is not null) lines.Add($"report: {reportFile}");
        return lines;
    }

    public static string GpuHours(StageUsage u) => u.GpuHoursUsed.ToString("0.##", System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>Seconds as H:MM:SS, or "-" when unknown.</summary>
    public static string Hms(double? seconds) => seconds is { } s && !double.IsNaN(s) ? ResourceValues.Hms(TimeSpan.FromSeconds(s)) : "-";

    private static string Bad(StatusCounts c)
    {
        var bad = new List<string>();
        if (c.Failed > 0) bad.Add($"{c.Failed} failed");
        if (c.Timeout > 0) bad.Add($"{c.Timeout} timed out");
        if (c.OutOfMemory > 0) bad.Add($"{c.OutOfMemory} out of memory");
        if (c.Cancelled > 0) bad.Add($"{c.Cancelled} cancelled");
        if (c.Pending + c.Running > 0) bad.Add($"{c.Pending + c.Running} pending or running");
        if (c.NotSubmitted > 0) bad.Add($"{c.NotSubmitted} never submitted");
        return bad.Count == 0 ? "" : ", " + string.Join(", ", bad);
    }
}
