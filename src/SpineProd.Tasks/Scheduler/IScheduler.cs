namespace SpineProd.Scheduler;

/// <summary>
/// One array submission: the script runs with its working directory = <see cref="WorkingDirectory"/>
/// (the job folder); the argv options override the script's own #SBATCH lines.
/// </summary>
public sealed record SubmitRequest(
    string Script,
    string WorkingDirectory,
    string JobName,
    string? ArraySpec,
    string? Dependency,
    /// <summary>A key unique to this submission of this array: how an accepted-but-unanswered sbatch is found again.</summary>
    string Comment,
    /// <summary>Extra sbatch options (e.g. a raised --time on resubmission), inserted before the script.</summary>
    IReadOnlyList<string>? ExtraOptions = null);

public sealed record SubmitResult(string JobId, IReadOnlyList<string> Argv, int Attempts, bool Reconciled);

/// <summary>Coarse state of one array task, the same for every scheduler.</summary>
public enum TaskStateKind
{
    Pending,
    Running,
    Completed,
    Failed,
    Timeout,
    OutOfMemory,
    Cancelled,
    NodeFail,
    Preempted,
    /// <summary>The scheduler answered but does not know this task (e.g. purged, or a lost submission).</summary>
    Unknown,
}

/// <summary>
/// One array task as the scheduler sees it. <see cref="ArrayJobId"/> is the id sbatch returned.
/// <see cref="Name"/> and <see cref="Comment"/> are the job's name and --comment as the scheduler
/// reports them (null: not reported; an empty comment: not stored, e.g. sacct without job_comment),
/// so a job id can be checked to be the job the ledger recorded (JobVerification).
/// </summary>
public sealed record SchedulerTask(
    string ArrayJobId,
    int ArrayIndex,
    string RawState,
    TaskStateKind Kind,
    string? ExitCode = null,
    string? Reason = null,
    string? TaskJobId = null,
    string? Name = null,
    string? Comment = null)
{
    public bool IsLive => Kind is TaskStateKind.Pending or TaskStateKind.Running;
    /// <summary>What this run used and asked for (null: the scheduler did not say).</summary>
    public TaskUsage? Usage { get; init; }
}

/// <summary>What a whole-production query returned: one batched answer, never one call per job.</summary>
public sealed class SchedulerSnapshot
{
    public Dictionary<(string JobId, int Index), SchedulerTask> Tasks { get; } = new();
    /// <summary>Which commands answered it (for reports and tests that count calls).</summary>
    public List<string> Sources { get; } = new();
    public SchedulerTask? Find(string jobId, int index) => Tasks.TryGetValue((jobId, index), out var t) ? t : null;
}

/// <summary>A batch scheduler SpineProd submits to: SLURM, or the local stand-in.</summary>
public interface IScheduler
{
    string Name { get; }

    /// <summary>Submits one array; returns as soon as its job id is known.</summary>
    SubmitResult Submit(SubmitRequest request);

    /// <summary>
    /// The state of every task of the given array jobs, in one batched query. <paramref name="expectedTasks"/>
    /// (tasks submitted per array job id) lets a client notice that its first source is missing some.
    /// </summary>
    SchedulerSnapshot Query(IReadOnlyCollection<string> arrayJobIds, DateTimeOffset? submittedAfter = null, IReadOnlyDictionary<string, int>? expectedTasks = null);

    /// <summary>Cancels the given array jobs (or array tasks, <c>id_index</c>) in one call.</summary>
    void Cancel(IReadOnlyCollection<string> jobIds);

    /// <summary>Runs whatever this scheduler was handed and has not run yet (the local scheduler); SLURM: nothing.</summary>
    void RunPending(Action<string>? progress = null);

    /// <summary>
    /// Looks for an array submitted with this name and comment (after a Submit that died or lost the
    /// reply). Returns (whether the scheduler answered, the array job id if found).
    /// </summary>
    (bool Answered, string? JobId) FindSubmitted(string jobName, string comment);

    /// <summary>
    /// The current user's pending and running jobs whose comment starts with <paramref name="commentPrefix"/>,
    /// in one call (the jobs of a production its ledger may not know: deleted, or restored from a
    /// backup). Null when the scheduler did not answer. A scheduler with nothing left running between
    /// two builds (the local one) has none.
    /// </summary>
    IReadOnlyList<LiveJob>? ListLiveJobs(string commentPrefix) => [];
}

/// <summary>A pending or running job as the scheduler lists it: its (array) job id, name, comment and working directory.</summary>
public sealed record LiveJob(string JobId, string JobName, string Comment, string WorkDir);
