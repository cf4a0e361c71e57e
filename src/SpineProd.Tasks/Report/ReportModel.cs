using SpineProd.Audit;
using SpineProd.Planning;
using SpineProd.Scheduler;
using SpineProd.Submission;

namespace SpineProd.Report;

/// <summary>What the report knows of one stage's usage: every measured attempt, summed and kept for the charts.</summary>
public sealed class StageUsage
{
    public required StagePlan Stage { get; init; }
    /// <summary>The request of the stage (the plan's, or the largest a trace row names: a retry asks for more).</summary>
    public double? RequestedSeconds { get; set; }
    public long? RequestedMemoryBytes { get; set; }
    public List<double> ElapsedSeconds { get; } = new();
    public List<double> PeakMemoryBytes { get; } = new();
    public List<(DateTimeOffset Start, DateTimeOffset End, int Task, int Attempt, string State)> Intervals { get; } = new();
    public int Attempts { get; set; }
    /// <summary>Attempts beyond each task's first (resubmissions and retries).</summary>
    public int Retries { get; set; }
    public double CpuSeconds { get; set; }
    /// <summary>Elapsed × allocated cores, over the attempts with a CPU time: what the CPU efficiency divides by.</summary>
    public double CoreSeconds { get; set; }
    public double MemoryEfficiencySum { get; set; }
    public int MemoryEfficiencyCount { get; set; }
    public double GpuSecondsRequested { get; set; }

    public double? CpuEfficiency => CoreSeconds > 0 ? CpuSeconds / CoreSeconds : null;
    public double? MemoryEfficiency => MemoryEfficiencyCount > 0 ? MemoryEfficiencySum / MemoryEfficiencyCount : null;
    public double? GpuHours => GpuSecondsRequested > 0 ? GpuSecondsRequested / 3600 : null;

    private double[]? _sortedElapsed, _sortedPeaks;
    /// <summary>Run time at quantile q (0.5: the median) over the measured attempts; sorted once.</summary>
    public double ElapsedQuantile(double q) => ReportModel.Quantile(_sortedElapsed ??= Sorted(ElapsedSeconds), q);
    public double PeakMemoryQuantile(double q) => ReportModel.Quantile(_sortedPeaks ??= Sorted(PeakMemoryBytes), q);
    private static double[] Sorted(List<double> values) { var a = values.ToArray(); Array.Sort(a); return a; }
}

/// <summary>A failed task in the report: the status row, and the last lines of its error log.</summary>
public sealed record ReportFailure(TaskInfo Task, IReadOnlyList<string> LogTail);

/// <summary>
/// Everything -t:Report shows, gathered once: the plan, where every task stands (the same batched
/// query as Status), the usage trace, the submissions and the audit trail. The HTML page and the
/// printed summary are both drawn from it.
/// </summary>
public sealed class ReportModel
{
    public required StatusReport Status { get; init; }
    public ProductionPlan Plan => Status.State.Plan;
    public Dictionary<string, StageUsage> Usage { get; } = new();
    public List<ReportFailure> Failures { get; } = new();
    public List<HistoryRow> History { get; } = new();
    public string SdkVersion { get; init; } = Rendering.JobScriptRenderer.Version;
    public string? GitCommit { get; set; }
    public DateTimeOffset Time => Status.Time;
    /// <summary>How many attempts the trace file held (all stages).</summary>
    public long TraceRows { get; private set; }

    public const int MaxFailuresShown = 50;
    public const int LogTailLines = 15;

    public static ReportModel Create(StatusReport status, IEnumerable<TaskUsage> trace, string? gitCommit = null)
    {
        var model = new ReportModel { Status = status, GitCommit = gitCommit };
        foreach (var stage in model.Plan.Stages)
        {
            var r = ResourceValues.FromPlan(stage.Resources);
            model.Usage[stage.Name] = new StageUsage { Stage = stage, RequestedSeconds = r.Walltime?.TotalSeconds, RequestedMemoryBytes = r.MemoryBytes };
        }
        foreach (var row in trace)
        {
            model.TraceRows++;
            if (!model.Usage.TryGetValue(row.Stage, out var u)) continue;
            u.Attempts++;
            if (row.Attempt > 1) u.Retries++;
            if (row.RequestedSeconds is double rs && rs > (u.RequestedSeconds ?? 0)) u.RequestedSeconds = rs;
            if (row.RequestedMemoryBytes is long rm && rm > (u.RequestedMemoryBytes ?? 0)) u.RequestedMemoryBytes = rm;
            if (row.Elapsed is double e && e >= 0)
            {
                u.ElapsedSeconds.Add(e);
                if (row.CpuSeconds is double cpu) { u.CpuSeconds += cpu; u.CoreSeconds += e * Math.Max(1, row.Cpus ?? u.Stage.Resources.CpusPerTask); }
                u.GpuSecondsRequested += e * (row.Gpus ?? u.Stage.Resources.Gpus);
            }
            if (row.PeakMemoryBytes is long m && m >= 0)
            {
                u.PeakMemoryBytes.Add(m);
                if ((row.RequestedMemoryBytes ?? u.RequestedMemoryBytes) is long req && req > 0) { u.MemoryEfficiencySum += (double)m / req; u.MemoryEfficiencyCount++; }
            }
            if (row.Start is { } s && (row.End ?? (row.Elapsed is double el ? s.AddSeconds(el) : null)) is { } end)
                u.Intervals.Add((s, end, row.Task, row.Attempt, row.State));
        }
        foreach (var t in status.Problems.Where(p => p.Status != TaskState.Pending).Take(MaxFailuresShown))
            model.Failures.Add(new ReportFailure(t, LogTail(t.LogPath(error: true), LogTailLines)));
        return model;
    }

    /// <summary>The last lines of a log, read from its end (a log of gigabytes costs one seek); none when it cannot be read.</summary>
    public static IReadOnlyList<string> LogTail(string? path, int lines, int maxBytes = 64 * 1024)
    {
        if (path is null) return [];
        try
        {
            using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
            if (!stream.CanSeek) return [];
            long start = Math.Max(0, stream.Length - maxBytes);
            stream.Seek(start, SeekOrigin.Begin);
            var text = new StreamReader(stream).ReadToEnd();
            var all = text.Split('\n').Select(l => l.TrimEnd('\r')).ToList();
            if (start > 0 && all.Count > 0) all.RemoveAt(0);   // cut in the middle
            while (all.Count > 0 && all[^1].Length == 0) all.RemoveAt(all.Count - 1);
            return all.Skip(Math.Max(0, all.Count - lines)).ToList();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return []; }
    }

    /// <summary>The summary Report and Run print: one line per stage and the totals.</summary>
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
            var parts = new List<string> { $"{c.Completed}/{c.Total} done{Bad(c)}" };
            if (u.Attempts > 0) parts.Add($"{u.Attempts} attempt(s){(u.Retries > 0 ? $" ({u.Retries} retried)" : "")}");
            if (u.ElapsedSeconds.Count > 0) parts.Add($"run time median {Units.Duration(u.ElapsedQuantile(0.5))}, max {Units.Duration(u.ElapsedSeconds.Max())} of {Units.Duration(u.RequestedSeconds)} asked");
            if (u.PeakMemoryBytes.Count > 0) parts.Add($"peak memory max {Units.Bytes(u.PeakMemoryBytes.Max())} of {Units.Bytes(u.RequestedMemoryBytes)} asked");
            if (u.CpuEfficiency is double ce) parts.Add($"CPU efficiency {ce:P0}");
            if (u.GpuHours is double gh) parts.Add($"{gh:0.##} GPU-hour(s)");
            lines.Add($"  {stage.Name}: {string.Join("; ", parts)}");
        }
        if (reportFile is not null) lines.Add($"report: {reportFile}");
        return lines;
    }

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

    /// <summary>The value at quantile q of values sorted ascending.</summary>
    public static double Quantile(double[] sorted, double q) =>
        sorted.Length == 0 ? double.NaN : sorted[(int)Math.Min(sorted.Length - 1, Math.Floor(q * sorted.Length))];
}

/// <summary>Durations and sizes as people read them.</summary>
public static class Units
{
    public static string Duration(double? seconds)
    {
        if (seconds is not double s || double.IsNaN(s)) return "?";
        var t = TimeSpan.FromSeconds(Math.Round(s));
        return t.TotalHours >= 1 ? $"{(int)t.TotalHours}:{t.Minutes:00}:{t.Seconds:00}" : t.TotalMinutes >= 1 ? $"{t.Minutes}m{t.Seconds:00}s" : $"{t.Seconds}s";
    }

    public static string Bytes(double? bytes)
    {
        if (bytes is not double b || double.IsNaN(b)) return "?";
        string[] unit = ["B", "KiB", "MiB", "GiB", "TiB"];
        int i = 0;
        while (b >= 1024 && i < unit.Length - 1) { b /= 1024; i++; }
        return i == 0 ? $"{b:0} B" : $"{b:0.#} {unit[i]}";
    }

    public static string Bytes(long? bytes) => Bytes(bytes is long b ? (double)b : null);
}
