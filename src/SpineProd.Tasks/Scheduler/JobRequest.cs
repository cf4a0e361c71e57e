namespace SpineProd.Scheduler;

/// <summary>
/// What a job asks of the machine, in plain values (no scheduler's spelling): each scheduler's
/// dialect turns it into its own directives (SLURM <c>--time=1:00:00 --mem-per-cpu=4G</c>, PBS
/// <c>-l walltime=01:00:00 -l select=1:ncpus=1:mem=4gb</c>). Null means "leave it to the script and
/// the site's defaults".
/// </summary>
public sealed record ResourceRequest
{
    public TimeSpan? Walltime { get; init; }
    /// <summary>Memory of one task (one array element), in bytes.</summary>
    public long? MemoryBytes { get; init; }
    public int? Cpus { get; init; }
    public int? Gpus { get; init; }
    public string? Account { get; init; }
    /// <summary>SLURM partition, PBS queue.</summary>
    public string? Queue { get; init; }
}

/// <summary>
/// One submission in scheduler-neutral values: the tasks to run (indices and a throttle), the jobs
/// to wait for (ids this same scheduler returned), and a key that identifies this submission so an
/// accepted-but-unanswered submit can be found again. The neutral form proposed for IScheduler; the
/// PBS client takes it today (see Scheduler/Pbs/).
/// </summary>
public sealed record JobRequest(
    string Script,
    string WorkingDirectory,
    string JobName,
    /// <summary>The task indices and throttle; null for a single job (a cleanup job).</summary>
    ArraySpec? Tasks,
    /// <summary>Job ids that must all end successfully before this one starts.</summary>
    IReadOnlyList<string> AfterOk,
    /// <summary>Unique to this submission: how the scheduler's copy is recognised on a lost reply.</summary>
    string Key,
    ResourceRequest? Resources = null,
    /// <summary>Scheduler-specific options appended as they are (a site's own needs).</summary>
    IReadOnlyList<string>? ExtraOptions = null);

/// <summary>One scheduler job a <see cref="JobRequest"/> became, and which of its task indices it runs.</summary>
public sealed record SubmittedJob(string JobId, ArraySpec? Tasks, IReadOnlyList<string> Argv, int Attempts, bool Reconciled);
