using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using SpineProd.IO;
using SpineProd.Planning;
using SpineProd.Scheduler;
using SpineProd.Usage;
using SpineProd.Layout;

namespace SpineProd.Submission;

/// <summary>Task counts by status, for an array, a stage or the production.</summary>
public sealed class StatusCounts
{
    public int Total, Completed, Pending, Running, Failed, Timeout, OutOfMemory, Cancelled, NotSubmitted, Blocked;

    public void Add(TaskInfo t)
    {
        Total++;
        switch (t.Status)
        {
            case TaskState.Completed: Completed++; break;
            case TaskState.Pending: Pending++; if (t.IsBlocked) Blocked++; break;
            case TaskState.Running: Running++; break;
            case TaskState.Failed: Failed++; break;
            case TaskState.Timeout: Timeout++; break;
            case TaskState.OutOfMemory: OutOfMemory++; break;
            case TaskState.Cancelled: Cancelled++; break;
            case TaskState.NotSubmitted: NotSubmitted++; break;
        }
    }

    public void Merge(StatusCounts o)
    {
        Total += o.Total; Completed += o.Completed; Pending += o.Pending; Running += o.Running; Failed += o.Failed;
        Timeout += o.Timeout; OutOfMemory += o.OutOfMemory; Cancelled += o.Cancelled; NotSubmitted += o.NotSubmitted; Blocked += o.Blocked;
    }

    public JsonObject ToJson() => new()
    {
        ["total"] = Total, ["completed"] = Completed, ["pending"] = Pending, ["running"] = Running,
        ["failed"] = Failed, ["timeout"] = Timeout, ["out_of_memory"] = OutOfMemory,
        ["cancelled"] = Cancelled, ["not_submitted"] = NotSubmitted, ["blocked"] = Blocked,
    };
}

/// <summary>
/// Status: one batched scheduler query and the completion markers give, per stage and array and in
/// total, how many tasks are where; and for every task that did not succeed, its inputs, state,
/// exit code and log. Printed as a table and written to <c>&lt;state dir&gt;/status.json</c>.
/// </summary>
public sealed class StatusReport
{
    public required ProductionState State { get; init; }
    public StatusCounts Totals { get; } = new();
    public Dictionary<string, StatusCounts> ByStage { get; } = new();
    public Dictionary<(string Stage, int Array), StatusCounts> ByArray { get; } = new();
    public List<TaskInfo> Problems { get; } = new();
    public DateTimeOffset Time { get; init; } = DateTimeOffset.Now;
    /// <summary>Per stage: what its attempts used against what they asked for, and the request that would have fitted.</summary>
    public Dictionary<string, StageUsage> Usage { get; } = new();
    public Dictionary<string, List<Advice>> Advice { get; } = new();
    /// <summary>The problems sorted into failures by cause, cancelled, and blocked.</summary>
    public FailureDigest Digest { get; private set; } = new();

    public static StatusReport Create(ProductionPlan plan, string planDir, Func<string, IScheduler> schedulers, IClock? clock = null)
    {
        var ledger = Ledger.Load(plan.StateDir, plan.ProductionName, plan.Owner);
        var watch = System.Diagnostics.Stopwatch.StartNew();
        var settled = SettledState.Load(ProductionLayout.Of(plan).SettledFile, ledger);
        var loaded = watch.Elapsed;
        var state = ProductionState.Resolve(plan, planDir, ledger, schedulers, clock, settled);
        state.Timings.Phases.Insert(0, ($"settled jobs read ({settled.JobCount})", loaded));
        var report = new StatusReport { State = state, Time = (clock ?? SystemClock.Instance).UtcNow };
        watch.Restart();
        foreach (var stage in plan.Stages)
        {
            var sc = report.ByStage[stage.Name] = new StatusCounts();
            if (state.Stages[stage.Name] is SettledTaskList settledTasks)
            {
                // every task complete: counted by array, without a task object each
                foreach (var array in stage.Arrays)
                {
                    var ac = report.ByArray[(stage.Name, array.Index)] = new StatusCounts { Total = array.TaskCount, Completed = array.TaskCount };
                    sc.Merge(ac);
                    report.Totals.Merge(ac);
                    var ids = report._jobIds[(stage.Name, array.Index)] = new();
                    for (int task = array.FirstTask; task < array.FirstTask + array.TaskCount; task++)
                        if (settledTasks.JobId(task) is string id && (ids.Count == 0 || ids[^1] != id) && !ids.Contains(id)) ids.Add(id);
                }
                continue;
            }
            foreach (var t in state.Stages[stage.Name])
            {
                report.Totals.Add(t);
                sc.Add(t);
                if (!report.ByArray.TryGetValue((stage.Name, t.Array.Index), out var ac))
                    ac = report.ByArray[(stage.Name, t.Array.Index)] = new StatusCounts();
                ac.Add(t);
                if (t.ArraySubmission?.JobId is string id)
                {
                    if (!report._jobIds.TryGetValue((stage.Name, t.Array.Index), out var ids)) report._jobIds[(stage.Name, t.Array.Index)] = ids = new();
                    if (ids.Count == 0 || ids[^1] != id) { if (!ids.Contains(id)) ids.Add(id); }
                }
                if (t.Status is TaskState.Failed or TaskState.Timeout or TaskState.OutOfMemory or TaskState.Cancelled || t.IsBlocked)
                    report.Problems.Add(t);
            }
        }
        state.Timings.Add("counts", watch);
        report.Digest = FailureDigest.Build(report.Problems);
        state.Timings.Add("failure digest", watch);
        report.AddUsage();
        state.Timings.Add("usage", watch);
        report._newlySettled = state.Settle(report.Time).ToHashSet();
        state.Timings.Add($"settling ({report._newlySettled.Count} job(s) now)", watch);
        return report;
    }

    private void AddUsage()
    {
        var plan = State.Plan;
        foreach (var stage in plan.Stages) Usage[stage.Name] = new StageUsage();
        TaskAttempts.Each(State.Ledger, State.Snapshot, State.Settled,
            a => { if (Usage.TryGetValue(a.Stage, out var u)) u.Add(a); },
            job => { if (Usage.TryGetValue(job.Stage, out var u)) u.Add(job.Job); });
        foreach (var stage in plan.Stages)
        {
            Func<string, string, string>? spell = plan.Stages.Count == 1 ? null : (p, v) => $"{p}=\"{v}\" on stage {stage.Name}";
            var c = ByStage[stage.Name];
            Advice[stage.Name] = Usage[stage.Name].Complete().Advise(ResourceValues.FromPlan(stage.Resources), c.OutOfMemory, c.Timeout, spell);
        }
    }

    public bool IsFinished => Totals.Pending == 0 && Totals.Running == 0;
    public bool IsComplete => Totals.Completed == Totals.Total;

    private readonly Dictionary<(string Stage, int Array), List<string>> _jobIds = new();
    /// <summary>Jobs this Status found settled: their trace rows are written now, once.</summary>
    private HashSet<string> _newlySettled = new();

    /// <summary>The jobs that last ran the array's tasks, oldest first.</summary>
    private IEnumerable<string> JobIds(string stage, int array) =>
        _jobIds.TryGetValue((stage, array), out var ids) ? ids.OrderBy(id => id.Length).ThenBy(id => id, StringComparer.Ordinal) : [];

    /// <summary>The terminal rendering: a header, the table, then the tasks that need attention.</summary>
    public List<string> Render(int maxProblems = 20, int maxArrayRows = 20)
    {
        var plan = State.Plan;
        var lines = new List<string>();
        var subs = State.Ledger.Submissions;
        lines.Add($"{plan.ProductionName}: {Totals.Completed} of {Totals.Total} task(s) complete" +
                  $" ({(Totals.Total == 0 ? 100 : 100.0 * Totals.Completed / Totals.Total):0.#}%), {subs.Count} submission(s)" +
                  (subs.Count > 0 ? $", last {subs[^1].Id} on {subs[^1].Scheduler}" : "") +
                  $"; asked {(State.Snapshot.Sources.Count == 0 ? "no scheduler" : string.Join("+", State.Snapshot.Sources.Distinct()))} at {Time.ToLocalTime():HH:mm:ss}" +
                  (State.Settled is { JobCount: > 0 } settled ? $" ({settled.JobCount} finished job(s) not asked again)" : ""));

        string[] head = ["stage", "array", "job ids", "tasks", "done", "pending", "running", "failed", "timeout", "oom", "cancelled", "unsubmitted"];
        var rows = new List<string[]>();
        string[] Row(string stage, string array, string ids, StatusCounts c) =>
        [
            stage, array, ids, N(c.Total), N(c.Completed), N(c.Pending) + (c.Blocked > 0 ? $" ({c.Blocked} blocked)" : ""),
            N(c.Running), N(c.Failed), N(c.Timeout), N(c.OutOfMemory), N(c.Cancelled), N(c.NotSubmitted),
        ];
        foreach (var stage in plan.Stages)
        {
            // A stage of hundreds of arrays would scroll away: past maxArrayRows, arrays whose tasks
            // are all complete are summed into one row and only the others are listed.
            int shown = 0, hiddenArrays = 0;
            var hidden = new StatusCounts();
            foreach (var array in stage.Arrays)
            {
                var c = ByArray.GetValueOrDefault((stage.Name, array.Index)) ?? new StatusCounts();
                if (stage.Arrays.Count > maxArrayRows && (c.Completed == c.Total || shown >= maxArrayRows))
                {
                    hiddenArrays++;
                    hidden.Merge(c);
                    continue;
                }
                var ids = string.Join(",", JobIds(stage.Name, array.Index));
                rows.Add(Row(stage.Name, array.Index.ToString(CultureInfo.InvariantCulture), ids.Length == 0 ? "-" : ids, c));
                shown++;
            }
            if (hiddenArrays > 0) rows.Add(Row(stage.Name, $"{hiddenArrays} more", "", hidden));
            if (plan.Stages.Count > 1) rows.Add(Row(stage.Name, "all", "", ByStage[stage.Name]));
        }
        rows.Add(Row("total", "", "", Totals));
        var widths = head.Select((h, i) => Math.Max(h.Length, rows.Max(r => r[i].Length))).ToArray();
        string Fmt(string[] r) => string.Join("  ", r.Select((c, i) => i <= 2 ? c.PadRight(widths[i]) : c.PadLeft(widths[i]))).TrimEnd();
        lines.Add("");
        lines.Add(Fmt(head));
        lines.Add(string.Join("  ", widths.Select(w => new string('-', w))));
        foreach (var r in rows)
        {
            if (r[0] == "total") lines.Add(string.Join("  ", widths.Select(w => new string('-', w))));
            lines.Add(Fmt(r));
        }

        if (State.Foreign.Count > 0)
        {
            lines.Add("");
            lines.Add($"{State.Foreign.Count} job id(s) of the ledger are not this production's jobs on the cluster (an id reused, or a ledger restored or copied from elsewhere): not counted, never cancelled:");
            foreach (var f in State.Foreign.Take(maxProblems)) lines.Add($"  job {f.JobId} ({f.ExpectedName}): {f.Why}");
        }

        var cleanups = ProductionState.LatestCleanups(State.Ledger).ToList();
        if (cleanups.Count > 0)
        {
            lines.Add("");
            foreach (var (_, c) in cleanups)
            {
                var t = State.CleanupState(c);
                var after = State.Plan.Stages.FirstOrDefault(s => s.Name == c.Stage)?.Cleanup?.AfterStages ?? [];
                // It waits afterok on every array of these stages: one unsuccessful or blocked task there and it never runs.
                bool stuck = after.Any(a => ByStage.TryGetValue(a, out var sc) && sc.Blocked + sc.Failed + sc.Timeout + sc.OutOfMemory + sc.Cancelled > 0);
                string what = t is null ? "not known to the scheduler" : t.Kind switch
                {
                    TaskStateKind.Pending when stuck || t.Blocked || t.Reason == SchedulerTask.DependencyNeverSatisfied =>
                        $"will never run: {string.Join(", ", after)} did not succeed (Submit again once fixed: a new cleanup job replaces it)",
                    TaskStateKind.Pending => "waiting for " + string.Join(", ", after),
                    TaskStateKind.Completed => "done",
                    _ => t.RawState + (t.ExitCode is null ? "" : $" (exit {t.ExitCode})"),
                };
                lines.Add($"cleanup of {c.Stage}: job {c.JobId}, {what}  [log: {Path.Combine(c.JobFolder, ProductionLayout.Job.Logs)}]");
            }
        }

        RenderUsage(lines);

        if (Problems.Count > 0)
        {
            lines.Add("");
            lines.Add($"{Problems.Count} task(s) did not succeed:");
            var failures = Digest.Groups.SelectMany(g => g.Tasks).ToList();
            if (Digest.Groups.Count > 0)
            {
                lines.Add($"  {failures.Count} failed, by cause:");
                foreach (var g in Digest.Groups.Take(maxProblems))
                    lines.Add($"    {g.Tasks.Count} x {Words(g.Status)}{ProductionState.FormatExit(g.ExitCode)}: {g.Message}  (task(s) {TaskList(g.Tasks)})");
                if (Digest.Groups.Count > maxProblems) lines.Add($"    ... and {Digest.Groups.Count - maxProblems} more cause(s) (all in {ProductionLayout.Of(plan).StatusFile})");
            }
            foreach (var t in failures.Take(maxProblems))
            {
                lines.Add($"  {t.Stage.Name} task {t.Task}: {t.Detail}{(t.SchedulerId is null ? "" : $"  [job {t.SchedulerId}]")}");
                lines.Add($"      inputs: {string.Join(", ", t.Inputs)}");
                if (t.Scheduler?.Usage is { } u && StageUsage.Describe(u) is { Length: > 0 } used) lines.Add($"      ran:    {used}");
                var err = t.LogPath(error: true);
                if (err is not null) lines.Add($"      log:    {err}");
                if (Digest.Tails.TryGetValue(t, out var tail))
                    foreach (var l in tail) lines.Add($"      | {l}");
            }
            if (failures.Count > maxProblems) lines.Add($"  ... and {failures.Count - maxProblems} more failed (all in {ProductionLayout.Of(plan).StatusFile} and {ProductionLayout.Of(plan).TraceFile})");
            if (Digest.Blocked.Count > 0)
            {
                lines.Add($"  {Digest.Blocked.Count} blocked: waiting for (or cancelled behind) a task that did not succeed upstream:");
                foreach (var t in Digest.Blocked.Take(maxProblems))
                    lines.Add($"  {t.Stage.Name} task {t.Task}: {t.Detail}{(t.SchedulerId is null ? "" : $"  [job {t.SchedulerId}]")}");
                if (Digest.Blocked.Count > maxProblems) lines.Add($"  ... and {Digest.Blocked.Count - maxProblems} more blocked");
            }
            if (Digest.Cancelled.Count > 0)
            {
                lines.Add($"  {Digest.Cancelled.Count} cancelled (scancel, -t:Cancel, preempted, or a Submit that was stopped): nothing to fix, Submit again to run them:");
                foreach (var g in Digest.Cancelled.GroupBy(t => t.Stage.Name))
                    lines.Add($"    {g.Key} task(s) {TaskList(g.ToList())}");
            }
            if (failures.Count + Digest.Blocked.Count > 0)
                lines.Add("Fix the cause, then Submit again: only these and never-submitted tasks are sent.");
            else lines.Add("Submit again to run them: only these and never-submitted tasks are sent.");
            // The limits a resubmission can raise: the new script carries them, and tasks that ran the same
            // inputs under the earlier limits still count as resubmittable, not as new work.
            if (Totals.Timeout > 0) lines.Add($"{Totals.Timeout} task(s) hit their time limit: Submit with a longer -p:Time=... to resubmit them with it.");
            if (Totals.OutOfMemory > 0) lines.Add($"{Totals.OutOfMemory} task(s) ran out of memory: Submit with a larger -p:MemPerCpu=... to resubmit them with it.");
        }
        else if (IsComplete) lines.Add("All tasks complete.");
        return lines;
    }

    /// <summary>Per stage, what the finished attempts used against the request, then the requests that would have fitted.</summary>
    private void RenderUsage(List<string> lines)
    {
        var plan = State.Plan;
        if (!Usage.Values.Any(u => u.Measured > 0)) return;
        string[] head = ["usage", "runs", "run time median/max", "limit", "CPU eff", "peak memory median/p99/max", "request", "GPU-h used/requested"];
        var rows = new List<string[]>();
        foreach (var stage in plan.Stages)
        {
            var u = Usage[stage.Name];
            if (u.Measured == 0) continue;
            string T(double? s) => s is { } v ? ResourceValues.Hms(TimeSpan.FromSeconds(v)) : "-";
            rows.Add([
                stage.Name, N(u.Measured),
                $"{T(StageUsage.Percentile(u.CompletedElapsed, 0.5))}/{T(u.CompletedElapsed.Count == 0 ? null : u.CompletedElapsed[^1])}",
                u.RequestedTime is { } rt ? ResourceValues.Hms(rt) : "-",
                u.CpuEfficiency is { } e ? StageUsage.Percent(e) : "-",
                u.CompletedPeaks.Count == 0 ? "-" : $"{StageUsage.Bytes(StageUsage.Percentile(u.CompletedPeaks, 0.5))}/{StageUsage.Bytes(StageUsage.Percentile(u.CompletedPeaks, 0.99))}/{StageUsage.Bytes(u.CompletedPeaks[^1])}",
                StageUsage.Bytes(u.RequestedMemoryBytes),
                u.Gpus is > 0 ? string.Create(CultureInfo.InvariantCulture, $"{u.GpuHoursUsed:0.##}/{u.GpuHoursRequested:0.##}") : "-",
            ]);
        }
        var widths = head.Select((h, i) => Math.Max(h.Length, rows.Max(r => r[i].Length))).ToArray();
        string Fmt(string[] r) => string.Join("  ", r.Select((c, i) => i == 0 ? c.PadRight(widths[i]) : c.PadLeft(widths[i]))).TrimEnd();
        lines.Add("");
        lines.Add(Fmt(head));
        lines.Add(string.Join("  ", widths.Select(w => new string('-', w))));
        foreach (var r in rows) lines.Add(Fmt(r));
        foreach (var stage in plan.Stages)
            foreach (var a in Advice[stage.Name])
                lines.Add($"{(plan.Stages.Count > 1 ? stage.Name + ": " : "")}{a.Why}");
        lines.Add($"Every attempt of every task: {ProductionLayout.Of(plan).TraceFile}");
    }

    private static string Words(TaskState s) => s switch
    {
        TaskState.OutOfMemory => "out of memory",
        TaskState.Timeout => "timed out",
        _ => s.ToString().ToLowerInvariant(),
    };

    private static string TaskList(List<TaskInfo> tasks)
    {
        var ranges = ArraySpec.FormatRanges(tasks.Select(t => t.Task));
        return ranges.Length > 80 ? ranges[..80] + "..." : ranges;
    }

    private static string N(int n) => n.ToString(CultureInfo.InvariantCulture);

    public JsonObject ToJson()
    {
        var plan = State.Plan;
        var stages = new JsonArray();
        foreach (var stage in plan.Stages)
        {
            var arrays = new JsonArray();
            foreach (var array in stage.Arrays)
            {
                var c = ByArray.GetValueOrDefault((stage.Name, array.Index)) ?? new StatusCounts();
                var o = c.ToJson();
                o["index"] = array.Index;
                o["job_name"] = array.JobName;
                o["job_ids"] = new JsonArray(JobIds(stage.Name, array.Index).Select(x => (JsonNode?)JsonValue.Create(x)).ToArray());
                arrays.Add(o);
            }
            var so = ByStage[stage.Name].ToJson();
            so["name"] = stage.Name;
            so["output_dir"] = stage.OutputDir;
            so["arrays"] = arrays;
            if (Usage.TryGetValue(stage.Name, out var usage)) so["usage"] = usage.ToJson(Advice.GetValueOrDefault(stage.Name) ?? []);
            if (ProductionState.LatestCleanups(State.Ledger).FirstOrDefault(c => c.Cleanup.Stage == stage.Name).Cleanup is { } cleanup)
            {
                var t = State.CleanupState(cleanup);
                so["cleanup"] = new JsonObject
                {
                    ["job_id"] = cleanup.JobId,
                    ["state"] = t?.RawState,
                    ["reason"] = t?.Reason,
                    ["job_folder"] = cleanup.JobFolder,
                };
            }
            stages.Add(so);
        }
        var problems = new JsonArray();
        foreach (var t in Problems)
        {
            problems.Add(new JsonObject
            {
                ["stage"] = t.Stage.Name,
                ["task"] = t.Task,
                ["array"] = t.Array.Index,
                ["index_in_array"] = t.IndexInArray,
                ["status"] = JsonNamingPolicy.SnakeCaseLower.ConvertName(t.Status.ToString()),
                ["blocked"] = t.IsBlocked,
                ["state"] = t.Scheduler?.RawState,
                ["exit_code"] = t.Scheduler?.ExitCode,
                ["reason"] = t.Scheduler?.Reason,
                ["detail"] = t.Detail,
                ["job"] = t.SchedulerId,
                ["inputs"] = new JsonArray(t.Inputs.Select(x => (JsonNode?)JsonValue.Create(x)).ToArray()),
                ["log_out"] = t.LogPath(error: false),
                ["log_err"] = t.LogPath(error: true),
                ["cause"] = Digest.Cause(t),
                ["usage"] = t.Scheduler?.Usage is { } u ? StageUsage.ToJson(u) : null,
                ["log_tail"] = Digest.Tails.TryGetValue(t, out var tail) ? new JsonArray(tail.Select(l => (JsonNode?)JsonValue.Create(l)).ToArray()) : null,
            });
        }
        var groups = new JsonArray(Digest.Groups.Select(g => (JsonNode?)new JsonObject
        {
            ["status"] = JsonNamingPolicy.SnakeCaseLower.ConvertName(g.Status.ToString()),
            ["exit_code"] = g.ExitCode,
            ["message"] = g.Message,
            ["count"] = g.Tasks.Count,
            ["tasks"] = new JsonArray(g.Tasks.Take(1000).Select(t => (JsonNode?)new JsonObject { ["stage"] = t.Stage.Name, ["task"] = t.Task }).ToArray()),
        }).ToArray());
        var totals = Totals.ToJson();
        return new JsonObject
        {
            ["production"] = plan.ProductionName,
            ["production_file"] = plan.ProductionFile,
            ["time"] = Time.ToLocalTime().ToString("O"),
            ["plan_sha256"] = plan.PlanSha256,
            ["sources"] = new JsonArray(State.Snapshot.Sources.Distinct().Select(x => (JsonNode?)JsonValue.Create(x)).ToArray()),
            ["settled_jobs"] = State.Settled?.JobCount ?? 0,
            ["finished"] = IsFinished,
            ["complete"] = IsComplete,
            ["totals"] = totals,
            ["stages"] = stages,
            ["problems"] = problems,
            ["failure_groups"] = groups,
            ["trace_file"] = ProductionLayout.Of(plan).TraceFile,
            ["foreign_jobs"] = new JsonArray(State.Foreign.Select(f => (JsonNode?)new JsonObject
            {
                ["job_id"] = f.JobId, ["expected_name"] = f.ExpectedName, ["expected_comment"] = f.ExpectedComment,
                ["name"] = f.Name, ["comment"] = f.Comment, ["why"] = f.Why,
            }).ToArray()),
        };
    }

    /// <summary>Writes status.json, and the trace file (one row per task attempt) first: status.json names it.</summary>
    public void Write()
    {
        var watch = System.Diagnostics.Stopwatch.StartNew();
        var layout = ProductionLayout.Of(State.Plan);
        if (State.Settled is { } settled)
        {
            // trace.tsv first: settled.bin records how much of it is settled
            TraceFile.Update(layout.TraceFile, settled, _newlySettled, include => TaskAttempts.All(State.Ledger, State.Snapshot, include));
            if (settled.Changed) settled.Save(layout.SettledFile);
        }
        else TraceFile.Write(layout.TraceFile, TaskAttempts.All(State.Ledger, State.Snapshot));
        State.Timings.Add("trace.tsv", watch);
        // streamed to the file as UTF-8 (thousands of problems are megabytes: no string of it first)
        var json = ToJson();
        AtomicFile.Write(ProductionLayout.Of(State.Plan).StatusFile, stream =>
        {
            using var writer = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true, Encoder = Ledger.ReadableJson.Encoder });
            json.WriteTo(writer, Ledger.ReadableJson);
        });
        State.Timings.Add("status.json", watch);
    }
}

