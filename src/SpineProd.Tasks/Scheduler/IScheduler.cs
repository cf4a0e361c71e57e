namespace SpineProd.Scheduler;

/// <summary>Coarse state of one task, the same for every scheduler (each dialect maps its own states to these).</summary>
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
/// One task as the scheduler sees it. <see cref="ArrayJobId"/> is the id the submission returned
/// (for a job without a task set, the task is index 0 of itself). <see cref="RawState"/>,
/// <see cref="ExitCode"/> and <see cref="Reason"/> are in the scheduler's own words, for people;
/// programs read <see cref="Kind"/> and <see cref="Blocked"/>. <see cref="Name"/> and
/// <see cref="Comment"/> are the job's name and submission key as the scheduler reports them (null:
/// not reported; empty: not stored), so a job id can be checked to be the job the ledger recorded
/// (JobVerification).
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
    /// <summary>The reason every scheduler gives a task that never ran because a job it waited on failed.</summary>
    public const string DependencyNeverSatisfied = "DependencyNeverSatisfied";

    public bool IsLive => Kind is TaskStateKind.Pending or TaskStateKind.Running;
    /// <summary>What this run used and asked for (null: the scheduler did not say).</summary>
    public TaskUsage? Usage { get; init; }

    /// <summary>
    /// It waits on a job that failed, so it will never run as it is (SLURM's DependencyNeverSatisfied,
    /// the local scheduler's own). Schedulers that delete such jobs (PBS) report them Cancelled instead.
    /// </summary>
    public bool Blocked { get; init; }
}

/// <summary>What a whole-production query returned: one batched answer, never one call per job.</summary>
public sealed class SchedulerSnapshot
{
    public Dictionary<(string JobId, int Index), SchedulerTask> Tasks { get; }

    public SchedulerSnapshot() => Tasks = new();

    /// <summary>A snapshot of these tasks (the dictionary is taken, not copied: a million entries).</summary>
    public SchedulerSnapshot(Dictionary<(string JobId, int Index), SchedulerTask> tasks) => Tasks = tasks;
    /// <summary>Which commands answered it (for reports and tests that count calls).</summary>
    public List<string> Sources { get; } = new();
    public SchedulerTask? Find(string jobId, int index) => Tasks.TryGetValue((jobId, index), out var t) ? t : Settled?.Invoke(jobId, index);
    /// <summary>Where rows of jobs that were not asked come from: settled jobs' final rows, kept by an earlier Status.</summary>
    public Func<string, int, SchedulerTask?>? Settled { get; set; }
}

/// <summary>A pending or running job as the scheduler lists it: its (array) job id, name, submission key and working directory.</summary>
public sealed record LiveJob(string JobId, string JobName, string Comment, string WorkDir);

/// <summary>What a scheduler allows, as it says itself (null: unknown, the plan's defaults apply).</summary>
public sealed record SchedulerLimits(int? MaxArraySize, string Source);

/// <summary>Why a stage's <c>Dependency</c> cannot be sent as it is: an SPN code and a one-line message.</summary>
public sealed record DependencyProblem(string Code, string Message);

/// <summary>
/// How a scheduler spells what SpineProd asks: pure functions, no commands run. The parts of a
/// scheduler that records and messages need without a client (a task's id, a dependency as it
/// was sent, the variable a job script reads its index from).
/// </summary>
public interface ISchedulerDialect
{
    /// <summary>The registry name (<c>Scheduler</c> property value).</summary>
    string Name { get; }
    /// <summary>The submit program, as records and messages name it (sbatch, qsub).</summary>
    string SubmitCommand { get; }
    /// <summary>The cancel program (scancel, qdel).</summary>
    string CancelCommand { get; }
    /// <summary>The extension of its job and cleanup scripts (<c>sbatch</c>, <c>pbs</c>): <see cref="Layout.ProductionLayout.Job.Script"/> names them.</summary>
    string ScriptExtension { get; }
    /// <summary>The environment variable a task reads its index from.</summary>
    string ArrayIndexVariable { get; }
    /// <summary>One task of a job, as the scheduler names it and <see cref="IScheduler.Cancel"/> takes it (<c>12_3</c>, <c>12[3].srv</c>).</summary>
    string TaskId(string jobId, int index);
    /// <summary>
    /// Checks a user's own wait (a stage's <c>Dependency</c>) in this scheduler's syntax, before anything
    /// is planned: null when it is fine, else what is wrong. <paramref name="alsoAfterOk"/>: Submit adds
    /// the afterok on the stage's upstream jobs to it (<see cref="Dependency"/>), which the user's wait
    /// must combine with.
    /// </summary>
    DependencyProblem? CheckDependency(string dependency, bool alsoAfterOk);
    /// <summary>The wait a request asks for, as this scheduler spells it (null: none): the ledger and logs record it.</summary>
    string? Dependency(JobRequest request);
    /// <summary>The command line a request becomes (recorded as the intent before it is sent).</summary>
    IReadOnlyList<string> CommandLine(JobRequest request);
    /// <summary>A time limit as this scheduler's directives and options write it (SLURM <c>1-02:00:00</c>, PBS <c>26:00:00</c>).</summary>
    string Time(TimeSpan limit);
    /// <summary>A size as this scheduler's directives and options write it (SLURM <c>4G</c>, PBS <c>4gb</c>).</summary>
    string Memory(long bytes);
    /// <summary>The prefix of its scripts' directive lines (<c>#SBATCH</c>, <c>#PBS</c>); null when its scripts carry none.</summary>
    string? DirectivePrefix { get; }
    /// <summary>The directive option that sends a job's output (or error) log: long and short form (SLURM <c>--output</c>/<c>-o</c>, PBS <c>-o</c>).</summary>
    (string? Long, string Short) LogOption(bool error);
    /// <summary>
    /// Whether a log directive's <paramref name="value"/> sends the logs where <see cref="LogFile"/> finds
    /// them: for an array's tasks (<paramref name="jobName"/>) or for a cleanup job (null), and how to write it if not.
    /// </summary>
    bool LogDirectiveFindsLogs(string value, string? jobName, bool error);
    /// <summary>The log directive a template should write (for messages): <c>#SBATCH --output=logs/x_%A_%a.out</c>, <c>#PBS -o logs/</c>.</summary>
    string LogDirectiveExample(string? jobName, bool error);
    /// <summary>Where one task's output (or error) goes, relative to its job folder, as this scheduler's job template has it.</summary>
    string LogFile(string jobName, string jobId, int index, bool error);
    /// <summary>
    /// Submit options that raise a job's limits over its script's own directives (a -t:Run retry with
    /// more time or memory): only what <paramref name="raised"/> sets. Its memory is the whole task's,
    /// shared by its <see cref="ResourceRequest.Cpus"/>.
    /// </summary>
    IReadOnlyList<string> RaisedLimitOptions(ResourceRequest raised);
}

/// <summary>
/// A batch scheduler SpineProd submits to, in scheduler-neutral values: a <see cref="JobRequest"/>
/// in (a task set with a throttle, upstream job ids, a resource request, a submission key), job ids
/// and <see cref="TaskStateKind"/>s out. Each scheduler is one folder (client and dialect) and one
/// line in <see cref="Schedulers"/>.
/// </summary>
public interface IScheduler
{
    string Name => Dialect.Name;
    ISchedulerDialect Dialect { get; }

    /// <summary>
    /// The jobs a request becomes, each with its part of the task set (SLURM: one array takes any
    /// set; PBS: one array per arithmetic range). The caller records an intent per part before it
    /// submits that part, so a lost reply is looked up, never sent twice.
    /// </summary>
    IReadOnlyList<JobRequest> Split(JobRequest request) => [request];

    /// <summary>Submits one part; returns as soon as its job id is known.</summary>
    SubmittedJob Submit(JobRequest part);

    /// <summary>
    /// The state of every task of the given jobs, in one batched query. <paramref name="expectedTasks"/>
    /// (tasks submitted per job id) lets a client notice that its first source is missing some.
    /// </summary>
    SchedulerSnapshot Query(IReadOnlyCollection<string> jobIds, DateTimeOffset? submittedAfter = null, IReadOnlyDictionary<string, int>? expectedTasks = null);

    /// <summary>Cancels the given jobs, or single tasks (<see cref="ISchedulerDialect.TaskId"/>), in one call.</summary>
    void Cancel(IReadOnlyCollection<string> ids);

    /// <summary>Runs whatever this scheduler was handed and has not run yet (the local scheduler); others: nothing.</summary>
    void RunPending(Action<string>? progress = null) { }

    /// <summary>
    /// Looks for a job submitted with this name and key (and, where the scheduler needs it, this part
    /// of the task set) after a submit that died or lost its reply. Returns (whether the scheduler
    /// answered, the job id if found).
    /// </summary>
    (bool Answered, string? JobId) FindSubmitted(string jobName, string key, ArraySpec? tasks);

    /// <summary>
    /// The current user's pending and running jobs whose key starts with <paramref name="keyPrefix"/>,
    /// in one call (the jobs of a production its ledger may not know: deleted, or restored from a
    /// backup). Null when the scheduler did not answer. A scheduler with nothing left running between
    /// two builds (the local one) has none.
    /// </summary>
    IReadOnlyList<LiveJob>? ListLiveJobs(string keyPrefix) => [];

    /// <summary>What the scheduler allows (MaxArraySize), or null when it does not answer within <paramref name="timeout"/> (<paramref name="why"/> says why).</summary>
    SchedulerLimits? QueryLimits(TimeSpan timeout, out string? why)
    {
        why = $"{Name} has no limits to ask";
        return null;
    }
}
