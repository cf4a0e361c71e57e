using SpineProd.Planning;
using SpineProd.Scheduler;
using SpineProd.Layout;

namespace SpineProd.Submission;

/// <summary>Where a task stands, in the words Status prints and resubmission explains.</summary>
public enum TaskState
{
    NotSubmitted,
    Pending,
    Running,
    Completed,
    Failed,
    Timeout,
    OutOfMemory,
    Cancelled,
}

/// <summary>One task of a stage: its inputs, what the scheduler and the completion marker say, and why.</summary>
public sealed class TaskInfo
{
    public required StagePlan Stage { get; init; }
    public required ArrayPlan Array { get; init; }
    public int Task { get; init; }
    public int IndexInArray => Task - Array.FirstTask;
    private IReadOnlyList<string>? _inputs;
    /// <summary>The task's inputs, read from its chunk list the first time they are asked for.</summary>
    public IReadOnlyList<string> Inputs { get => _inputs ??= InputSource?.Inputs(Task) ?? []; init => _inputs = value; }
    /// <summary>Where <see cref="Inputs"/> come from when they were not given.</summary>
    public ChunkLists? InputSource { get; init; }
    public TaskState Status { get; set; }
    /// <summary>Human detail: the scheduler state, a reason, or why a marker did not count.</summary>
    public string Detail { get; set; } = "";
    public SchedulerTask? Scheduler { get; set; }
    public SubmissionRecord? Submission { get; set; }
    public StageSubmission? StageSubmission { get; set; }
    public ArraySubmission? ArraySubmission { get; set; }
    /// <summary>Its last submission was made before the production changed (with the same inputs).</summary>
    public bool FromEarlierVersion { get; set; }
    /// <summary>It ran, or was sent, with other inputs than it has now (the sources changed since).</summary>
    public bool InputsChanged { get; set; }

    public bool IsLive => Status is TaskState.Pending or TaskState.Running;
    /// <summary>Pending behind a dependency that can never be satisfied (an upstream task failed): it will never run as it is.</summary>
    public bool IsBlocked => Status == TaskState.Pending && Scheduler?.Blocked == true;
    public bool IsDone => Status == TaskState.Completed;

    /// <summary>The task's output (or error) log, where its scheduler's job template has it write.</summary>
    public string? LogPath(bool error) =>
        StageSubmission is null || ArraySubmission is null || Submission is null ? null
            : LogFile(Submission, StageSubmission, ArraySubmission, SubmittedIndex, error);

    /// <summary>The log of index <paramref name="index"/> of a submitted array (null before it had a job id).</summary>
    public static string? LogFile(SubmissionRecord submission, StageSubmission stage, ArraySubmission array, int index, bool error) =>
        array.JobId is null ? null
            : Path.Combine(stage.JobFolder, Schedulers.Dialect(submission.Scheduler).LogFile(array.JobName, array.JobId, index, error));

    /// <summary>The task as its scheduler names it (<c>12_3</c>, <c>12[3].srv</c>): in messages, and what a task is cancelled by.</summary>
    public string? SchedulerId => ArraySubmission?.JobId is null || Submission is null ? null
        : Schedulers.Dialect(Submission.Scheduler).TaskId(ArraySubmission.JobId, SubmittedIndex);

    /// <summary>The array index the task had in its last submission (its array may have been cut differently then).</summary>
    public int SubmittedIndex => ArraySubmission is null ? IndexInArray : Task - ArraySubmission.FirstTask;
}

/// <summary>
/// A settled stage's tasks (<see cref="ProductionState.SettledTasks"/>), all complete: each is made when
/// it is asked for and not kept, so a settled stage of a million tasks holds no million objects.
/// </summary>
public sealed class SettledTaskList(StagePlan stage, (SubmissionRecord, StageSubmission, ArraySubmission)?[] latestOf, string planSha, ChunkLists inputs)
    : IReadOnlyList<TaskInfo>
{
    public int Count { get; } = stage.Arrays.Sum(a => a.TaskCount);

    /// <summary>The job that last ran task <paramref name="task"/> (null: none recorded).</summary>
    public string? JobId(int task) => task < latestOf.Length && latestOf[task] is { } l ? l.Item3.JobId : null;

    /// <summary>Task number <paramref name="task"/> (a stage's arrays number its tasks 0..n-1 in order).</summary>
    public TaskInfo this[int task]
    {
        get
        {
            int a = inputs.ArrayOf(task);
            if (a < 0) throw new ArgumentOutOfRangeException(nameof(task));
            return Make(stage.Arrays[a], task);
        }
    }

    private TaskInfo Make(ArrayPlan array, int task)
    {
        var info = new TaskInfo { Stage = stage, Array = array, Task = task, InputSource = inputs, Status = TaskState.Completed, Detail = "completion marker" };
        if (task < latestOf.Length && latestOf[task] is { } l)
        {
            (info.Submission, info.StageSubmission, info.ArraySubmission) = l;
            info.FromEarlierVersion = l.Item1.PlanSha256 != planSha;
        }
        return info;
    }

    public IEnumerator<TaskInfo> GetEnumerator()
    {
        foreach (var array in stage.Arrays)
            for (int task = array.FirstTask; task < array.FirstTask + array.TaskCount; task++) yield return Make(array, task);
    }

    System.Collections.IEnumerator System.Collections.IEnumerable.GetEnumerator() => GetEnumerator();
}

/// <summary>Named phases and how long each took: the lap since the last one (an empty name only restarts the lap).</summary>
public sealed class Timings
{
    public List<(string Phase, TimeSpan Time)> Phases { get; } = new();

    public void Add(string phase, System.Diagnostics.Stopwatch watch)
    {
        if (phase.Length > 0) Phases.Add((phase, watch.Elapsed));
        watch.Restart();
    }

    public override string ToString() =>
        string.Join(", ", Phases.Select(p => $"{p.Phase} {p.Time.TotalSeconds.ToString("0.000", System.Globalization.CultureInfo.InvariantCulture)} s"));
}

/// <summary>
/// Puts together, for every task of a production, the plan (its inputs), the ledger (which job ran it
/// last), one batched scheduler query per scheduler used, and the completion markers. A task is
/// complete only with a valid marker: <c>&lt;state dir&gt;/markers/&lt;stage&gt;/&lt;task&gt;.done</c> listing exactly
/// the task's current inputs (a marker left by other inputs, after the sources changed, does not count).
/// </summary>
public sealed class ProductionState
{
    public required ProductionPlan Plan { get; init; }
    public required Ledger Ledger { get; init; }
    public Dictionary<string, IReadOnlyList<TaskInfo>> Stages { get; } = new();
    public SchedulerSnapshot Snapshot { get; private init; } = new();
    /// <summary>Job ids of the ledger the scheduler reports as other jobs (reused ids, a ledger from elsewhere): never counted.</summary>
    public List<ForeignJob> Foreign { get; } = new();
    /// <summary>Live tasks no current task accounts for (submitted before the production changed, for other inputs).</summary>
    public List<(ArraySubmission Array, SchedulerTask Task)> LiveFromOtherPlans { get; } = new();

    public IEnumerable<TaskInfo> AllTasks => Plan.Stages.SelectMany(s => Stages[s.Name]);

    /// <summary>The latest cleanup job of each stage (earlier ones were cancelled when it was sent), with its submission.</summary>
    public static IEnumerable<(SubmissionRecord Submission, CleanupSubmission Cleanup)> LatestCleanups(Ledger ledger) =>
        ledger.Submissions.SelectMany(s => s.Cleanups.Where(c => c.JobId is not null).Select(c => (Submission: s, Cleanup: c)))
            .GroupBy(x => x.Cleanup.Stage).Select(g => g.Last());

    /// <summary>What the scheduler says of a cleanup job (null when it did not answer for it).</summary>
    public SchedulerTask? CleanupState(CleanupSubmission cleanup) => cleanup.JobId is null ? null : Snapshot.Find(cleanup.JobId, 0);

    /// <summary>What the completion markers said, per stage (for the phase log and tests).</summary>
    public Dictionary<string, MarkerVerdicts> Markers { get; } = new();
    /// <summary>How long each phase took (logged at -v:d: where a slow Status spends its time).</summary>
    public Timings Timings { get; } = new();

    /// <summary>What an earlier Status settled (null: nothing is taken from it, as Submit and Preview do).</summary>
    public SettledState? Settled { get; private init; }
    /// <summary>Per stage not settled before: its marker folder as it was before its markers were checked.</summary>
    private readonly Dictionary<string, IO.FileIdentity?> _markerFolders = new();

    public static ProductionState Resolve(ProductionPlan plan, string planDir, Ledger ledger, Func<string, IScheduler> schedulers, IClock? clock = null,
        SettledState? settled = null)
    {
        var now = (clock ?? SystemClock.Instance).UtcNow;
        var owner = plan.Owner;
        // One query per scheduler that ran any of this production's arrays (its cleanup jobs ride
        // along), keeping only the jobs the scheduler confirms are the ones the ledger recorded.
        var watch = System.Diagnostics.Stopwatch.StartNew();
        var (verified, foreign) = JobVerification.Query(ledger, owner, schedulers, strict: false, settled: settled is null ? null : settled.HasJob);
        if (settled is not null) verified.Settled = settled.Find;
        var state = new ProductionState { Plan = plan, Ledger = ledger, Snapshot = verified, Settled = settled };
        state.Timings.Add("scheduler query", watch);
        state.Foreign.AddRange(foreign);

        var chunkCache = new Dictionary<string, string[]?>();
        var accounted = new HashSet<(string, int)>();
        foreach (var stage in plan.Stages)
        {
            var inputs = ChunkLists.Open(planDir, stage);
            state.Timings.Add("", watch);
            var folder = IO.SafeFile.Identify(ProductionLayout.Of(plan).MarkerDir(stage.Name));
            if (settled is not null && settled.IsSettled(stage, plan.PlanSha256, folder, SettledState.LedgerArrays(ledger, stage.Name)))
            {
                state.Stages[stage.Name] = SettledTasks(stage, ledger, plan, inputs);
                state.Timings.Add($"tasks of {stage.Name} (settled: every task complete, markers unchanged)", watch);
                continue;
            }
            state._markerFolders[stage.Name] = folder;
            var markers = state.Markers[stage.Name] = CompletionMarkers.Check(ProductionLayout.Of(plan), stage, inputs, now);
            state.Timings.Add($"markers of {stage.Name} ({markers.Found} found, {markers.FromIndex} unchanged since verified)", watch);

            var latestOf = LatestSubmissions(stage, ledger);

            var list = new List<TaskInfo>(stage.TaskCount);
            foreach (var array in stage.Arrays)
            {
                for (int i = 0; i < array.TaskCount; i++)
                {
                    int task = array.FirstTask + i;
                    var info = new TaskInfo { Stage = stage, Array = array, Task = task, InputSource = inputs };
                    string? markerProblem = markers.Problem(task);
                    if (markers.IsValid(task)) { info.Status = TaskState.Completed; info.Detail = "completion marker"; }
                    if (latestOf[task] is { } l)
                    {
                        var (sub, _, arr) = l;
                        // A submission made before the production changed still speaks for this task
                        // when it ran exactly these inputs (e.g. only Time was raised since).
                        bool samePlan = sub.PlanSha256 == plan.PlanSha256;
                        if (samePlan || SameInputs(arr, task, info.Inputs, chunkCache))
                        {
                            (info.Submission, info.StageSubmission, info.ArraySubmission) = l;
                            info.FromEarlierVersion = !samePlan;
                            if (arr.JobId is not null)
                            {
                                int index = task - arr.FirstTask;
                                info.Scheduler = state.Snapshot.Find(arr.JobId, index);
                                if (info.Scheduler?.IsLive == true) accounted.Add((arr.JobId, index));
                            }
                        }
                        else { markerProblem ??= "its inputs changed since it was last submitted"; info.InputsChanged = true; }
                    }
                    if (info.Status != TaskState.Completed) Classify(info, markerProblem, state.Foreign);
                    list.Add(info);
                }
            }
            state.Stages[stage.Name] = list;
            state.Timings.Add($"tasks of {stage.Name}", watch);
        }

        // Name what blocks a task stuck behind its upstream stages: their unsuccessful tasks.
        foreach (var stage in plan.Stages.Where(s => s.DependsOn.Count > 0))
        {
            // (a settled stage has no unsuccessful task: it is not walked)
            var blockers = stage.DependsOn.Where(up => state.Stages.TryGetValue(up, out var tasks) && tasks is not SettledTaskList)
                .SelectMany(up => state.Stages[up].Where(t => t.Status is TaskState.Failed or TaskState.Timeout or TaskState.OutOfMemory or TaskState.Cancelled))
                .ToList();
            if (blockers.Count == 0) continue;
            var names = string.Join(", ", blockers.GroupBy(t => t.Stage.Name).Select(g => $"{g.Key} task(s) {ArraySpec.FormatRanges(g.Select(t => t.Task))}"));
            foreach (var t in state.Stages[stage.Name].Where(t => t.IsBlocked || t.Scheduler?.Blocked == true || t.Scheduler?.Reason == SchedulerTask.DependencyNeverSatisfied))
                t.Detail += $"; blocked by {names}";
        }

        // Live tasks that no current task accounts for: submitted before the production changed, for
        // inputs that are now elsewhere or gone. Submitting beside them could run work twice.
        var entryById = new Dictionary<string, ArraySubmission>();
        foreach (var (_, _, arr) in ledger.AllArrays().Where(x => x.Array.JobId is not null)) entryById[arr.JobId!] = arr;
        foreach (var t in state.Snapshot.Tasks.Values)
            if (t.IsLive && !accounted.Contains((t.ArrayJobId, t.ArrayIndex)) && entryById.TryGetValue(t.ArrayJobId, out var arr))
                state.LiveFromOtherPlans.Add((arr, t));
        return state;
    }

    /// <summary>The latest submission that covered each task number of the stage (tasks are numbered 0..n-1 in a stage).</summary>
    private static (SubmissionRecord, StageSubmission, ArraySubmission)?[] LatestSubmissions(StagePlan stage, Ledger ledger)
    {
        int taskSlots = stage.Arrays.Count == 0 ? 0 : stage.Arrays.Max(a => a.FirstTask + a.TaskCount);
        var latestOf = new (SubmissionRecord, StageSubmission, ArraySubmission)?[taskSlots];
        foreach (var (sub, st, arr) in ledger.AllArrays())
        {
            if (st.Stage != stage.Name || arr.State == ArraySubmissionState.NotSubmitted) continue;
            if (!ArraySpec.TryParse(arr.Tasks, out var tasks)) continue;
            foreach (var t in tasks.Indices) if (t >= 0 && t < taskSlots) latestOf[t] = (sub, st, arr);
        }
        return latestOf;
    }

    /// <summary>
    /// A settled stage's tasks: all complete (an earlier Status verified every marker, and the marker
    /// folder is unchanged since), with the submission that last ran each; the scheduler's row is not
    /// looked up (no task of it needs one).
    /// </summary>
    private static SettledTaskList SettledTasks(StagePlan stage, Ledger ledger, ProductionPlan plan, ChunkLists inputs) =>
        new(stage, LatestSubmissions(stage, ledger), plan.PlanSha256, inputs);

    /// <summary>
    /// Records in <see cref="Settled"/> what this Status found final: jobs whose every task ended
    /// (<see cref="SettledState.TrySettle"/>), and stages whose every task is complete. Returns the
    /// jobs settled now (their trace rows are written once, now).
    /// </summary>
    public List<string> Settle(DateTimeOffset now)
    {
        var newly = new List<string>();
        if (Settled is null) return newly;
        var foreign = Foreign.Select(f => f.JobId).ToHashSet();
        foreach (var (sub, st, arr) in Ledger.AllArrays())
            if (arr.JobId is not null && !foreign.Contains(arr.JobId) && Settled.TrySettle(sub, st, arr, Snapshot, now)) newly.Add(arr.JobId);
        foreach (var stage in Plan.Stages)
            if (_markerFolders.TryGetValue(stage.Name, out var folder) && Stages[stage.Name].All(t => t.IsDone))
                Settled.SettleStage(stage, Plan.PlanSha256, folder, SettledState.LedgerArrays(Ledger, stage.Name), now);
        return newly;
    }

    /// <summary>Whether an earlier submission's copy of the chunk list gave this task exactly these inputs.</summary>
    private static bool SameInputs(ArraySubmission arr, int task, IReadOnlyList<string> inputs, Dictionary<string, string[]?> cache)
    {
        if (string.IsNullOrEmpty(arr.ChunkFile)) return false;
        if (!cache.TryGetValue(arr.ChunkFile, out var lines))
            cache[arr.ChunkFile] = lines = File.Exists(arr.ChunkFile) ? File.ReadAllLines(arr.ChunkFile) : null;
        int index = task - arr.FirstTask;
        if (lines is null || index < 0 || index >= lines.Length) return false;
        return lines[index].TrimEnd('\r').Split(',', StringSplitOptions.RemoveEmptyEntries).SequenceEqual(inputs);
    }

    /// <summary>Null when the marker lists exactly these inputs; else why it does not count.</summary>
    public static string? CheckMarker(string path, IReadOnlyList<string> inputs)
    {
        string[] lines;
        try
        {
            lines = IO.SafeFile.ReadAllText(path, IO.SafeFile.MarkerMaxBytes, new System.Text.UTF8Encoding(false))
                .Split('\n').Select(l => l.TrimEnd('\r')).Where(l => l.Length > 0).ToArray();
        }
        catch (IO.FileRefusedException e) when (e.Reason.Contains("not a regular file", StringComparison.Ordinal))
        {
            // Only a job writes markers, and a job writing into a FIFO would hang on its node.
            throw new Diagnostics.SpineProdException("SPN3041", $"the completion marker {path} cannot be read: {e.Reason}; only jobs write markers: remove it and run Status or Submit again", path);
        }
        catch (IOException e) { return $"marker unreadable ({(e is IO.FileRefusedException r ? r.Reason : e.Message)})"; }
        catch (UnauthorizedAccessException e) { return $"marker unreadable ({e.Message})"; }
        return lines.SequenceEqual(inputs) ? null : "its completion marker lists other inputs (the sources changed since it ran)";
    }

    /// <summary>SLURM's "code:signal" as words: ", exit code 1", ", killed by signal 9".</summary>
    public static string FormatExit(string? exitCode)
    {
        if (string.IsNullOrEmpty(exitCode)) return "";
        var parts = exitCode.Split(':');
        if (parts.Length == 2 && parts[1] == "0") return $", exit code {parts[0]}";
        if (parts.Length == 2 && parts[0] == "0") return $", signal {parts[1]}";
        return $", exit code {exitCode}";
    }

    private static void Classify(TaskInfo info, string? markerProblem, List<ForeignJob>? foreign = null)
    {
        var arr = info.ArraySubmission;
        var sched = info.Scheduler;
        string suffix = markerProblem is null ? "" : $"; {markerProblem}";
        if (arr is null)
        {
            info.Status = TaskState.NotSubmitted;
            info.Detail = "never submitted" + suffix;
            return;
        }
        if (arr.State == ArraySubmissionState.Submitting || arr.JobId is null)
        {
            info.Status = TaskState.Failed;
            info.Detail = "its submission was interrupted and never confirmed" + suffix;
            return;
        }
        if (sched is null)
        {
            info.Status = TaskState.Failed;
            info.Detail = (foreign?.FirstOrDefault(f => f.JobId == arr.JobId) is { } f
                ? $"job {info.SchedulerId} of the ledger is not this production's job ({f.Why}); its record of the task is lost"
                : $"the scheduler has no record of job {info.SchedulerId}") + suffix;
            return;
        }
        string exit = FormatExit(sched.ExitCode);
        string reason = sched.Reason is null ? "" : $" ({sched.Reason})";
        (info.Status, info.Detail) = sched.Kind switch
        {
            TaskStateKind.Pending => (TaskState.Pending, $"{sched.RawState}{reason}"),
            TaskStateKind.Running => (TaskState.Running, sched.RawState),
            TaskStateKind.Completed => (TaskState.Failed, $"job {info.SchedulerId} COMPLETED but left no valid completion marker" + suffix),
            TaskStateKind.Failed => (TaskState.Failed, $"FAILED{exit}"),
            TaskStateKind.Timeout => (TaskState.Timeout, $"TIMEOUT{exit}"),
            TaskStateKind.OutOfMemory => (TaskState.OutOfMemory, $"OUT_OF_MEMORY{exit}"),
            TaskStateKind.Cancelled => (TaskState.Cancelled, $"{sched.RawState}{reason}"),
            TaskStateKind.NodeFail => (TaskState.Failed, $"{sched.RawState} (node failure){exit}"),
            TaskStateKind.Preempted => (TaskState.Cancelled, $"{sched.RawState}"),
            _ => (TaskState.Failed, $"scheduler state {sched.RawState}{exit}"),
        };
        if (info.FromEarlierVersion) info.Detail += " (submitted before the production last changed)";
    }
}
