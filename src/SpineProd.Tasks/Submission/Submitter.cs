using System.Globalization;
using System.Text.Json.Nodes;
using SpineProd.Diagnostics;
using SpineProd.Planning;
using SpineProd.Scheduler;
using SpineProd.Scheduler.Local;

namespace SpineProd.Submission;

/// <summary>Which tasks a Submit of an already-submitted production sends again.</summary>
public enum ResubmitMode
{
    /// <summary>Every task without a valid completion marker that is not pending or running (the default).</summary>
    Missing,
    /// <summary>Only tasks that ran and did not succeed (failed, timed out, out of memory, cancelled); never-submitted ones wait.</summary>
    Failed,
    /// <summary>Refuse to submit a production that was submitted before.</summary>
    None,
}

public enum LogLevel { Low, Normal, High, Warning }

/// <summary>Everything a Submit needs besides the plan: who, how, and the seams.</summary>
public sealed class SubmitContext
{
    public string SdkVersion { get; init; } = "";
    public string? GitCommit { get; init; }
    public string Command { get; init; } = "";
    public ResubmitMode Resubmit { get; init; } = ResubmitMode.Missing;
    public string User { get; init; } = Environment.UserName;
    public string Host { get; init; } = Environment.MachineName;
    public Action<LogLevel, string> Log { get; init; } = (_, _) => { };
    public Action<string, string>? Warn { get; init; }
    public IClock Clock { get; init; } = SystemClock.Instance;
    public TimeSpan LockWait { get; init; } = TimeSpan.FromSeconds(10);
    /// <summary>At most this many per-task "why" lines are logged; the rest are counted (all are in job_metadata.json).</summary>
    public int MaxReasonLines { get; init; } = 200;
    /// <summary>Ctrl-C (or the build process gone): Submit stops after the array in flight, and says what it sent.</summary>
    public CancellationToken Cancellation { get; init; }
    /// <summary>Why <see cref="Cancellation"/> fired, for the message and the ledger.</summary>
    public Func<string> CancellationReason { get; init; } = () => "Submit was cancelled";
    /// <summary>Called before each file is copied into a job folder (tests inject a full disk here).</summary>
    public Action<string>? CopyingFile { get; init; }
    /// <summary>-t:Run's retries: of the tasks the selection chose, only these (null: all of them).</summary>
    public Func<TaskInfo, bool>? Only { get; init; }
    /// <summary>-t:Run's retries: scheduler options for every array this Submit sends (a raised --time or --mem-per-cpu).</summary>
    public IReadOnlyList<string>? ExtraOptions { get; init; }

    public static ResubmitMode ParseResubmit(string? value, string? file) => (value ?? "").Trim().ToLowerInvariant() switch
    {
        "" or "missing" or "all-missing" => ResubmitMode.Missing,
        "failed" => ResubmitMode.Failed,
        "none" or "false" or "no" => ResubmitMode.None,
        _ => throw new SpineProdException("SPN3006", $"Resubmit='{value}' is not one of missing, failed, none", file),
    };
}

public sealed record SubmittedArray(string Stage, int Array, string JobId, string ArraySpec, int Tasks, string JobFolder, string? Dependency);

public sealed class SubmitOutcome
{
    public List<SubmittedArray> Arrays { get; } = new();
    public string? SubmissionId { get; set; }
    public int TasksSubmitted => Arrays.Sum(a => a.Tasks);
}

/// <summary>
/// Submit: works out which tasks need to run (all of them the first time; afterwards those without a
/// valid completion marker that are not pending or running, each with its reason), creates one job
/// folder per stage, and submits one array per planned array that has such tasks, recording every
/// job id in the ledger and the job folder's metadata the moment it is known.
/// </summary>
public sealed class Submitter
{
    private readonly Func<string, IScheduler> _schedulers;
    private readonly SubmitContext _ctx;

    public Submitter(Func<string, IScheduler> schedulers, SubmitContext context)
    {
        _schedulers = schedulers;
        _ctx = context;
    }

    public static string ReasonLabel(TaskState s) => s switch
    {
        TaskState.NotSubmitted => "never submitted",
        TaskState.Failed => "failed",
        TaskState.Timeout => "timed out",
        TaskState.OutOfMemory => "out of memory",
        TaskState.Cancelled => "cancelled",
        _ => s.ToString().ToLowerInvariant(),
    };

    public static string ReasonLabel(TaskInfo t) =>
        t.IsBlocked ? "blocked behind a failed upstream task"
        : t.InputsChanged && t.Status == TaskState.NotSubmitted ? "inputs changed"
        : ReasonLabel(t.Status);

    /// <summary>
    /// sbatch errors after which the job may be queued all the same (no job id in its output, a
    /// timeout nobody could check, sbatch killed by a signal): the intent and the job folder stay,
    /// and the next Submit or Cancel looks the job up by its comment. Never deleted, never re-sent blind.
    /// </summary>
    public static bool MayHaveBeenAccepted(SpineProdException e) => e.Code is "SPN3011" or "SPN3020" or "SPN3030"
        // PBS: qsub unanswered and the server not asked; qsub accepted it but printed no id
        or "SPN3052" or "SPN3053";

    /// <summary>
    /// Ctrl-C, or the build that started this task host gone: stop before the next sbatch. What was
    /// sent stays recorded (the ledger says the submission was interrupted); what was not leaves no
    /// trace; the error says which is which, and a later Submit sends the rest.
    /// </summary>
    private void StopIfCancelled(ProductionPlan plan, Ledger ledger, SubmissionRecord submission, SubmitOutcome outcome, string? inFlight = null)
    {
        if (!_ctx.Cancellation.IsCancellationRequested) return;
        var reason = _ctx.CancellationReason();
        // stage folders from which nothing was sent hold no job: they go
        foreach (var st in submission.Stages.Where(st => st.Arrays.Count == 0).ToList())
        {
            submission.Stages.Remove(st);
            DeleteOwnFolder(st.JobFolder);
        }
        int cleanups = submission.Cleanups.Count(c => c.JobId is not null);
        if (outcome.Arrays.Count == 0 && cleanups == 0 && inFlight is null && submission.Stages.Count == 0)
        {
            Forget(plan, ledger, submission);
            throw new SpineProdException("SPN3031", $"{reason} before anything was sent: nothing was submitted.", plan.ProductionFile);
        }
        submission.Interrupted = reason;
        ledger.Save(plan.StateDir);
        var sent = string.Join("; ", outcome.Arrays.GroupBy(a => a.Stage)
            .Select(g => $"{g.Key}: {g.Count()} array(s), {g.Sum(a => a.Tasks)} task(s), jobs {string.Join(", ", g.Select(a => a.JobId))}"));
        throw new SpineProdException("SPN3031",
            $"{reason}: stopped after the array in flight. Sent: {(sent.Length == 0 ? "no array" : sent)}" +
            (cleanups > 0 ? $", and {cleanups} cleanup job(s)" : "") +
            (inFlight is null ? "" : $". The array in flight, {inFlight}") +
            $". They are recorded in {Ledger.PathIn(plan.StateDir)}; Submit again sends the rest (or -t:Cancel stops what was sent).",
            plan.ProductionFile);
    }

    /// <summary>Removes a submission that reached nothing: from the ledger, and its job folders.</summary>
    private static void Forget(ProductionPlan plan, Ledger ledger, SubmissionRecord submission)
    {
        ledger.Submissions.Remove(submission);
        ledger.Save(plan.StateDir);
        foreach (var folder in submission.Stages.Select(st => st.JobFolder).Concat(submission.Cleanups.Select(c => c.JobFolder)).Distinct())
            DeleteOwnFolder(folder);
    }

    private static void DeleteOwnFolder(string folder)
    {
        if (Directory.Exists(folder) && File.Exists(Path.Combine(folder, JobFolders.OwnerMarker)))
            Directory.Delete(folder, recursive: true);
    }

    public SubmitOutcome Submit(ProductionPlan plan, string planDir)
    {
        var outcome = new SubmitOutcome();
        using var _ = SubmitLock.Acquire(plan.StateDir, _ctx.LockWait, _ctx.Clock);
        var ledger = Ledger.Load(plan.StateDir, plan.ProductionName, plan.Owner);
        ReconcileInterrupted(ledger, plan.StateDir, _schedulers, m => _ctx.Log(LogLevel.High, m));
        var scheduler = _schedulers(plan.Scheduler);
        LiveJobs.Recover(ledger, plan.StateDir, plan.ProductionName, CommentPrefix(plan), scheduler, m => _ctx.Log(LogLevel.High, m));
        JobFolders.RemoveOrphans(plan.JobsDir, m => _ctx.Log(LogLevel.Normal, m));

        if (_ctx.Resubmit == ResubmitMode.None && ledger.Submissions.Any(s => s.Stages.Any(st => st.Arrays.Any(a => a.JobId is not null))))
            throw new SpineProdException("SPN3012",
                $"{plan.ProductionName} was submitted before ({ledger.Submissions.Count} submission(s), see {Ledger.PathIn(plan.StateDir)}) and Resubmit=none; use -p:Resubmit=missing to submit what is missing",
                plan.ProductionFile);

        var state = ProductionState.Resolve(plan, planDir, ledger, _schedulers);
        if (state.LiveFromOtherPlans.Count > 0)
        {
            var ids = string.Join(", ", state.LiveFromOtherPlans.Select(x => x.Array.JobId).Distinct().Take(10));
            throw new SpineProdException("SPN3008",
                $"{state.LiveFromOtherPlans.Count} task(s) submitted from an earlier version of this production are still pending or running (jobs {ids}), " +
                "and the production changed since: their inputs are not those of any task now. Wait for them, or run -t:Cancel, then Submit again.",
                plan.ProductionFile);
        }

        // What to submit, per stage, and why (Preview prints the same selection).
        bool firstTime = ledger.Submissions.Count == 0;
        var selection = SubmitSelection.Choose(plan, state, _ctx.Resubmit);
        if (_ctx.Only is { } only)
            foreach (var stage in plan.Stages) selection.Tasks[stage.Name] = selection.Tasks[stage.Name].Where(only).ToList();
        var toSubmit = selection.Tasks;
        foreach (var stage in plan.Stages)
        {
            _ctx.Log(LogLevel.High, selection.Summary(stage));
            if (!firstTime) LogReasons(stage, toSubmit[stage.Name]);
        }

        int total = toSubmit.Values.Sum(l => l.Count);
        if (total == 0)
        {
            _ctx.Log(LogLevel.High, $"Nothing to submit for {plan.ProductionName}: every task is complete, pending or running.");
            return outcome;
        }

        // Tasks stuck behind a failed upstream task can never run: cancel them (one call per
        // scheduler) so they are submitted again below, chained to the new upstream jobs.
        foreach (var g in toSubmit.Values.SelectMany(l => l).Where(t => t.IsBlocked && t.SchedulerId is not null).GroupBy(t => t.Submission!.Scheduler))
        {
            _schedulers(g.Key).Cancel(g.Select(t => t.SchedulerId!).ToList());
            _ctx.Log(LogLevel.High, $"cancelled {g.Count()} task(s) blocked behind failed upstream tasks, to chain them to the new submission");
        }

        var now = _ctx.Clock.UtcNow;
        var submission = new SubmissionRecord
        {
            Id = UniqueId(ledger, now.ToLocalTime().ToString("yyyyMMdd_HHmmss", CultureInfo.InvariantCulture)),
            Time = now,
            Scheduler = scheduler.Name,
            PlanSha256 = plan.PlanSha256,
            Resubmit = _ctx.Resubmit.ToString().ToLowerInvariant(),
            User = _ctx.User,
            Host = _ctx.Host,
        };
        ledger.Submissions.Add(submission);
        outcome.SubmissionId = submission.Id;

        var submittedIds = new Dictionary<string, List<string>>();
        // The planner wrote the stages upstream first, with their DependsOn checked (SPN4005/SPN4006).
        foreach (var stage in plan.Stages)
        {
            var chosen = toSubmit[stage.Name];
            if (chosen.Count == 0) continue;
            StopIfCancelled(plan, ledger, submission, outcome);
            var afterOk = UpstreamJobs(stage, state, toSubmit, submittedIds);
            string jobFolder;
            try { jobFolder = CreateJobFolder(plan, planDir, stage, now, chosen.Select(t => t.Array.Index).ToHashSet()); }
            catch (SpineProdException e) when (outcome.Arrays.Count > 0)
            {
                throw new SpineProdException(e.Code, e.Message + $" ({outcome.Arrays.Count} array(s) submitted before are recorded in {Ledger.PathIn(plan.StateDir)}; Submit again submits only the rest.)", e.File, e.Line, e.Column, e);
            }
            var stageSub = new StageSubmission { Stage = stage.Name, JobFolder = jobFolder };
            submission.Stages.Add(stageSub);
            var metadata = JobMetadata.Create(plan, stage, submission, _ctx, chosen.Sum(t => t.Inputs.Count));
            var whyByArray = new Dictionary<int, string>();
            var ids = submittedIds[stage.Name] = new List<string>();
            var resources = ResourceValues.FromPlan(stage.Resources);
            var userDependency = string.IsNullOrWhiteSpace(stage.Dependency) ? null : stage.Dependency.Trim();

            int arraysToSend = chosen.Select(t => t.Array.Index).Distinct().Count(), arraysSent = 0;
            foreach (var selected in selection.Arrays(stage))
            {
                var (array, group) = (selected.Array, selected.Tasks);
                whyByArray[array.Index] = selected.Why;
                var request = new JobRequest(Path.Combine(stageSub.JobFolder, array.Script), stageSub.JobFolder, array.JobName,
                    ArraySpec.Parse(selected.ArraySpec), afterOk,
                    Comment(plan, stage.Name, array.Index.ToString(CultureInfo.InvariantCulture), submission.Id),
                    resources, _ctx.ExtraOptions, NativeDependency: userDependency);
                // One job per part of the task set (PBS: one per arithmetic range), each recorded as
                // its own intent with its own key before it is sent.
                var parts = scheduler.Split(request);
                arraysSent++;
                for (int p = 0; p < parts.Count; p++)
                {
                    StopIfCancelled(plan, ledger, submission, outcome);
                    var part = p == 0 ? parts[p] : parts[p] with { Key = Comment(plan, stage.Name, $"{array.Index.ToString(CultureInfo.InvariantCulture)}.{p.ToString(CultureInfo.InvariantCulture)}", submission.Id) };
                    var tasks = part.Tasks!;
                    var dependency = scheduler.Dialect.Dependency(part);
                    var entry = new ArraySubmission
                    {
                        Array = array.Index,
                        JobName = array.JobName,
                        State = ArraySubmissionState.Submitting,
                        ArraySpec = tasks.ToString(),
                        Tasks = ArraySpec.FormatRanges(tasks.Indices.Select(i => array.FirstTask + i)),
                        FirstTask = array.FirstTask,
                        Comment = part.Key,
                        Dependency = dependency,
                        Script = part.Script,
                        ChunkFile = Path.Combine(stageSub.JobFolder, array.ChunkFile),
                    };
                    stageSub.Arrays.Add(entry);
                    // The intent first: if this process dies inside the submit command, the next Submit finds the job by its key.
                    ledger.Save(plan.StateDir);
                    JobMetadata.Write(stageSub.JobFolder, metadata, stageSub, whyByArray);
                    try
                    {
                        entry.Argv = scheduler.Dialect.CommandLine(part).ToList();
                        var result = scheduler.Submit(part);
                        entry.JobId = result.JobId;
                        entry.Argv = result.Argv.ToList();
                        entry.State = ArraySubmissionState.Submitted;
                    }
                    catch (SpineProdException e)
                    {
                        int already = outcome.Arrays.Count;
                        entry.Error = $"{e.Code}: {e.Message}";
                        if (MayHaveBeenAccepted(e))
                        {
                            // Maybe accepted: the intent and the job folder stay (the job may be running
                            // in it), and the next Submit or Cancel looks the job up by its key first.
                            ledger.Save(plan.StateDir);
                            JobMetadata.Write(stageSub.JobFolder, metadata, stageSub, whyByArray);
                            // Ctrl-C in a terminal reaches the submit command too: say it as the interruption it is
                            StopIfCancelled(plan, ledger, submission, outcome,
                                $"{array.JobName} ({e.Code}: its {scheduler.Dialect.SubmitCommand} was cut short) is recorded as possibly submitted: the next Submit or Cancel looks it up first");
                        }
                        else if (already == 0)
                            // Nothing of this Submit reached the cluster: leave no trace of it, so the
                            // production looks exactly as before (the error says why).
                            Forget(plan, ledger, submission);
                        else
                        {
                            entry.State = ArraySubmissionState.NotSubmitted;
                            ledger.Save(plan.StateDir);
                            JobMetadata.Write(stageSub.JobFolder, metadata, stageSub, whyByArray);
                        }
                        throw new SpineProdException(e.Code,
                            e.Message + (already > 0 ? $" ({already} array(s) submitted before this one are recorded in {Ledger.PathIn(plan.StateDir)}; Submit again submits only the rest.)" : ""),
                            e.File ?? plan.ProductionFile, e.Line, e.Column, e);
                    }
                    ledger.Save(plan.StateDir);
                    JobMetadata.Write(stageSub.JobFolder, metadata, stageSub, whyByArray);
                    ids.Add(entry.JobId!);
                    outcome.Arrays.Add(new SubmittedArray(stage.Name, array.Index, entry.JobId!, entry.ArraySpec, tasks.Indices.Count, stageSub.JobFolder, dependency));
                    _ctx.Log(LogLevel.High, $"{stage.Name}: submitted {array.JobName} as job {entry.JobId} (tasks {entry.ArraySpec}{(dependency is null ? "" : $", waiting on {dependency}")}), {tasks.Indices.Count} task(s); " +
                        (parts.Count > 1 ? $"part {p + 1} of {parts.Count} of " : "") + $"array {arraysSent} of {arraysToSend} sent");
                }
            }
            _ctx.Log(LogLevel.High, $"{stage.Name}: job folder {stageSub.JobFolder}");
        }

        SubmitCleanups(plan, planDir, ledger, submission, state, submittedIds, scheduler, now, outcome);
        scheduler.RunPending(msg => _ctx.Log(LogLevel.High, msg));
        if (scheduler is LocalScheduler)
        {
            // The local scheduler has already run everything: say how it went.
            var ran = scheduler.Query(outcome.Arrays.Select(a => a.JobId).ToList()).Tasks.Values;
            _ctx.Log(LogLevel.High, $"ran here: " + string.Join(", ", ran.GroupBy(t => t.Kind).OrderBy(g => g.Key)
                .Select(g => $"{g.Count()} {g.Key.ToString().ToLowerInvariant()}")) + " (details: -t:Status)");
        }
        return outcome;
    }

    /// <summary>
    /// Cleanup jobs: for each stage with Cleanup paths whose downstream stages this Submit sent work
    /// for, one job that waits afterok on every array of those stages in flight (sent now, or still
    /// pending or running). An earlier cleanup job of the stage is cancelled first: it waits on jobs
    /// this Submit replaced (or on failed ones, forever), and must not remove files they still need.
    /// </summary>
    private void SubmitCleanups(ProductionPlan plan, string planDir, Ledger ledger, SubmissionRecord submission, ProductionState state,
        Dictionary<string, List<string>> submittedNow, IScheduler scheduler, DateTimeOffset now, SubmitOutcome outcome)
    {
        foreach (var stage in plan.Stages)
        {
            if (stage.Cleanup is not { Paths.Count: > 0 } cleanup || !cleanup.AfterStages.Any(submittedNow.ContainsKey)) continue;
            var ids = new List<string>();
            foreach (var down in cleanup.AfterStages)
            {
                if (submittedNow.TryGetValue(down, out var sent)) ids.AddRange(sent);
                if (state.Stages.TryGetValue(down, out var tasks))
                    ids.AddRange(tasks.Where(t => t.IsLive && !t.IsBlocked && t.ArraySubmission?.JobId is not null).Select(t => t.ArraySubmission!.JobId!));
            }
            StopIfCancelled(plan, ledger, submission, outcome);
            // Only an earlier cleanup job the scheduler confirmed (by name and comment) as still waiting is cancelled.
            var earlier = ledger.Submissions.SelectMany(s => s.Cleanups).Where(c => c.Stage == stage.Name && c.JobId is not null).Select(c => c.JobId!).Distinct()
                .Where(id => state.Snapshot.Find(id, 0) is { IsLive: true } row && !string.IsNullOrEmpty(row.Comment)).ToList();
            if (earlier.Count > 0)
            {
                _schedulers(ledger.Submissions.First(s => s.Cleanups.Any(c => c.Stage == stage.Name)).Scheduler).Cancel(earlier);
                _ctx.Log(LogLevel.Normal, $"{stage.Name}: cancelled the earlier cleanup job(s) {string.Join(", ", earlier)}; a new one waits for this submission");
            }
            var comment = Comment(plan, stage.Name, "cleanup", submission.Id);
            var request = new JobRequest("", "", cleanup.JobName, null, ids.Distinct().ToList(), comment);
            var dependency = scheduler.Dialect.Dependency(request) ?? "";
            var folder = CreateCleanupFolder(plan, planDir, stage, cleanup, now, submission, comment, dependency);
            request = request with { Script = Path.Combine(folder, cleanup.Script), WorkingDirectory = folder };
            var entry = new CleanupSubmission
            {
                Stage = stage.Name, JobName = cleanup.JobName, JobFolder = folder, Dependency = dependency,
                Comment = comment, State = ArraySubmissionState.Submitting,
            };
            submission.Cleanups.Add(entry);
            // The intent first, as for arrays: a Submit killed inside this submit is reconciled by the next one.
            ledger.Save(plan.StateDir);
            try
            {
                entry.Argv = scheduler.Dialect.CommandLine(request).ToList();
                var result = scheduler.Submit(request);
                entry.JobId = result.JobId;
                entry.Argv = result.Argv.ToList();
                entry.State = ArraySubmissionState.Submitted;
            }
            catch (SpineProdException e)
            {
                entry.Error = $"{e.Code}: {e.Message}";
                if (!MayHaveBeenAccepted(e)) entry.State = ArraySubmissionState.NotSubmitted;
                ledger.Save(plan.StateDir);
                if (MayHaveBeenAccepted(e))
                    StopIfCancelled(plan, ledger, submission, outcome,
                        $"the cleanup job {cleanup.JobName} ({e.Code}: its {scheduler.Dialect.SubmitCommand} was cut short) is recorded as possibly submitted: the next Submit or Cancel looks it up first");
                throw;
            }
            ledger.Save(plan.StateDir);
            _ctx.Log(LogLevel.High, $"{stage.Name}: cleanup job {cleanup.JobName} is job {entry.JobId}: it removes {string.Join(", ", cleanup.Paths)} after {string.Join(", ", cleanup.AfterStages)} succeed (waiting on {dependency})");
        }
    }

    /// <summary>
    /// jobs/&lt;time&gt;_&lt;cleanup job name&gt;/ with the cleanup script, logs/ and a job_metadata.json that
    /// says whose it is (how a live cleanup job missing from the ledger is recognised).
    /// </summary>
    private string CreateCleanupFolder(ProductionPlan plan, string planDir, StagePlan stage, CleanupPlan cleanup, DateTimeOffset now,
        SubmissionRecord submission, string comment, string dependency)
    {
        var script = Path.Combine(planDir, stage.Name, cleanup.Script);
        if (!File.Exists(script))
            throw new SpineProdException("SPN3015", $"the cleanup script {script} named by the plan does not exist; build the production again (-t:Build)", plan.ProductionFile);
        var metadata = new JsonObject
        {
            ["job_name"] = cleanup.JobName, ["production"] = plan.ProductionName, ["production_file"] = plan.ProductionFile,
            ["stage"] = stage.Name, ["state_dir"] = plan.StateDir, ["submission_id"] = submission.Id, ["scheduler"] = submission.Scheduler,
            ["submitted"] = submission.Time.ToLocalTime().ToString("O"), ["plan_sha256"] = plan.PlanSha256, ["user"] = submission.User,
            ["host"] = submission.Host, ["comment"] = comment, ["dependency"] = dependency,
            ["removes"] = new JsonArray(cleanup.Paths.Select(x => (JsonNode?)JsonValue.Create(x)).ToArray()),
        };
        return JobFolders.Create(plan.JobsDir, $"{now.ToLocalTime():yyyyMMdd_HHmmss}_{cleanup.JobName}", folder =>
        {
            Directory.CreateDirectory(Path.Combine(folder, Layout.ProductionLayout.Job.Logs));
            _ctx.CopyingFile?.Invoke(script);
            File.Copy(script, Path.Combine(folder, cleanup.Script));
            File.WriteAllText(Path.Combine(folder, JobMetadata.FileName), metadata.ToJsonString(Ledger.ReadableJson));
        }, plan.ProductionFile);
    }

    private void LogReasons(StagePlan stage, List<TaskInfo> chosen)
    {
        foreach (var g in chosen.GroupBy(ReasonLabel))
            _ctx.Log(LogLevel.High, $"{stage.Name}: {g.Count()} task(s) {g.Key}: {ArraySpec.FormatRanges(g.Select(t => t.Task))}");
        foreach (var t in chosen.Take(_ctx.MaxReasonLines))
            _ctx.Log(LogLevel.Normal, $"{stage.Name} task {t.Task} ({ReasonLabel(t)}: {t.Detail}): {string.Join(", ", t.Inputs)}");
        if (chosen.Count > _ctx.MaxReasonLines)
            _ctx.Log(LogLevel.Normal, $"{stage.Name}: ... and {chosen.Count - _ctx.MaxReasonLines} more task(s); job_metadata.json lists them all");
    }

    /// <summary>
    /// Looks up arrays whose sbatch was under way when a Submit died (or timed out unanswered):
    /// accepted ones get their job id, the rest are marked as never submitted. If the scheduler
    /// cannot say, nothing is decided (SPN3009): guessing could submit an array twice.
    /// </summary>
    public static void ReconcileInterrupted(Ledger ledger, string stateDir, Func<string, IScheduler> schedulers, Action<string> log)
    {
        bool changed = false;
        // Cleanup jobs record their intent the same way (older ledgers have no State: nothing to look up).
        foreach (var (sub, c) in ledger.Submissions.SelectMany(s => s.Cleanups.Select(c => (s, c)))
                     .Where(x => x.c.State == ArraySubmissionState.Submitting && x.c.JobId is null && !string.IsNullOrEmpty(x.c.Comment)).ToList())
        {
            var (answered, id) = schedulers(sub.Scheduler).FindSubmitted(c.JobName, c.Comment!, null);
            if (!answered)
                throw new SpineProdException("SPN3009",
                    $"a previous Submit was interrupted while submitting the cleanup job {c.JobName}, and the scheduler does not answer to say whether it was accepted; run again when it does",
                    Ledger.PathIn(stateDir));
            c.JobId = id;
            c.State = id is null ? ArraySubmissionState.NotSubmitted : ArraySubmissionState.Submitted;
            c.Error = id is null ? "interrupted before the scheduler accepted it" : null;
            log(id is null
                ? $"{c.Stage}: the cleanup job {c.JobName} from the interrupted submission {sub.Id} never reached the scheduler"
                : $"{c.Stage}: the cleanup job {c.JobName} from the interrupted submission {sub.Id} was accepted as job {id}; recorded");
            changed = true;
        }
        foreach (var (sub, st, arr) in ledger.AllArrays().Where(x => x.Array.State == ArraySubmissionState.Submitting).ToList())
        {
            var (answered, id) = schedulers(sub.Scheduler).FindSubmitted(arr.JobName, arr.Comment, ArraySpec.TryParse(arr.ArraySpec, out var tasks) ? tasks : null);
            if (!answered)
                throw new SpineProdException("SPN3009",
                    $"a previous Submit was interrupted while submitting {arr.JobName}, and the scheduler does not answer to say whether it was accepted; run again when it does",
                    Ledger.PathIn(stateDir));
            if (id is not null)
            {
                arr.JobId = id; arr.State = ArraySubmissionState.Submitted; arr.Error = null;
                log($"{st.Stage}: {arr.JobName} from the interrupted submission {sub.Id} was accepted as job {id}; recorded");
            }
            else
            {
                arr.State = ArraySubmissionState.NotSubmitted; arr.Error = "interrupted before the scheduler accepted it";
                log($"{st.Stage}: {arr.JobName} from the interrupted submission {sub.Id} never reached the scheduler");
            }
            changed = true;
        }
        if (changed) ledger.Save(stateDir);
    }

    private static string UniqueId(Ledger ledger, string stamp)
    {
        var id = stamp;
        for (int n = 2; ledger.Submissions.Any(s => s.Id == id); n++) id = $"{stamp}_{n}";
        return id;
    }

    /// <summary>
    /// The array spec for a subset of an array's indices, keeping the planned throttle. Same script,
    /// same chunk list: the job reads line SLURM_ARRAY_TASK_ID+1, whatever subset runs.
    /// </summary>
    public static string SubsetSpec(StagePlan stage, ArrayPlan array, IReadOnlyCollection<int> indices)
    {
        ArraySpec.TryParse(array.ArraySpec, out var planned);
        int? throttle = planned.Indices.Count > 0 ? planned.Throttle : stage.MaxRunningTasks;
        if (indices.Count == array.TaskCount && planned.Indices.Count == array.TaskCount && array.ArraySpec.Length > 0)
            return array.ArraySpec;
        var spec = new ArraySpec(indices, throttle is > 0 && throttle < indices.Count ? throttle : null);
        return spec.ToString();
    }

    /// <summary>
    /// The --comment of every job: <c>spineprod:&lt;identity key&gt;:&lt;stage&gt;:&lt;array index or cleanup&gt;:&lt;submission&gt;</c>,
    /// unique per submission of an array, so an unanswered sbatch or a job the ledger lost is found again.
    /// </summary>
    public static string Comment(ProductionPlan plan, string stage, string which, string submissionId) =>
        $"{CommentPrefix(plan)}{ProductionIdentity.CommentWord(stage)}:{which}:{submissionId}";

    /// <summary><c>spineprod:&lt;identity key&gt;:</c>: a job's comment says which production it is, not only its name.</summary>
    public static string CommentPrefix(ProductionPlan plan) =>
        plan.Owner?.CommentPrefix ?? $"spineprod:{ProductionIdentity.CommentWord(plan.ProductionName)}:";

    /// <summary>
    /// The jobs a stage waits for (afterok): every array its upstream stages have in flight, those
    /// submitted just now and those of earlier Submits still pending or running. (The stage's own
    /// Dependency travels beside them, in the scheduler's syntax.)
    /// </summary>
    private List<string> UpstreamJobs(StagePlan stage, ProductionState state,
        Dictionary<string, List<TaskInfo>> toSubmit, Dictionary<string, List<string>> submittedNow)
    {
        var ids = new List<string>();
        foreach (var up in stage.DependsOn)
        {
            var upTasks = state.Stages[up];
            if (submittedNow.TryGetValue(up, out var now)) ids.AddRange(now);
            ids.AddRange(upTasks.Where(t => t.IsLive && !t.IsBlocked && t.ArraySubmission?.JobId is not null).Select(t => t.ArraySubmission!.JobId!));
            int left = upTasks.Count(t => !t.IsDone && !t.IsLive) - toSubmit[up].Count(t => !t.IsBlocked);
            if (left > 0)
                _ctx.Warn?.Invoke("SPN3016", $"stage '{stage.Name}' depends on '{up}', which has {left} unfinished task(s) this Submit does not send; '{stage.Name}' will run without their outputs");
        }
        return ids.Distinct().ToList();
    }

    /// <summary>
    /// <c>&lt;JobsDir&gt;/&lt;YYYYmmdd_HHMMSS&gt;_&lt;stage job name&gt;/</c> holding a copy of the stage's plan folder
    /// (chunk lists, scripts, configs) and an empty logs/. Never shared: if the name is taken (same
    /// second), a suffix is added, and ownership is claimed with a file only one creator can make.
    /// </summary>
    private string CreateJobFolder(ProductionPlan plan, string planDir, StagePlan stage, DateTimeOffset now, HashSet<int> arrays)
    {
        var source = Path.Combine(planDir, stage.Name);
        if (!Directory.Exists(source))
            throw new SpineProdException("SPN3015", $"the stage folder {source} named by the plan does not exist; build the production again (-t:Build)", plan.ProductionFile);
        // Only the arrays this Submit sends: resubmitting 2 tasks of a million copies 2 lists, not 1000.
        var skip = stage.Arrays.Where(a => !arrays.Contains(a.Index))
            .SelectMany(a => new[] { a.Script, a.ChunkFile, a.TasksFile }).Where(f => f.Length > 0)
            .Select(f => Path.GetFullPath(Path.Combine(source, f))).ToHashSet();
        return JobFolders.Create(plan.JobsDir, $"{now.ToLocalTime():yyyyMMdd_HHmmss}_{stage.JobName}", folder =>
        {
            CopyTree(source, folder, skip);
            Directory.CreateDirectory(Path.Combine(folder, Layout.ProductionLayout.Job.Logs));
        }, plan.ProductionFile);
    }

    private void CopyTree(string from, string to, HashSet<string> skip)
    {
        foreach (var dir in Directory.EnumerateDirectories(from, "*", SearchOption.AllDirectories))
            Directory.CreateDirectory(Path.Combine(to, Path.GetRelativePath(from, dir)));
        foreach (var file in Directory.EnumerateFiles(from, "*", SearchOption.AllDirectories))
        {
            if (skip.Contains(Path.GetFullPath(file))) continue;
            var dest = Path.Combine(to, Path.GetRelativePath(from, file));
            _ctx.CopyingFile?.Invoke(file);
            File.Copy(file, dest, overwrite: false);
            if (!OperatingSystem.IsWindows()) File.SetUnixFileMode(dest, File.GetUnixFileMode(file));
        }
    }
}
