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
/// accepted-but-unanswered submit can be found again. What <see cref="IScheduler.Submit"/> takes;
/// each scheduler's dialect spells it (sbatch --array/--dependency/--comment, qsub -J/-W depend/-v).
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
    IReadOnlyList<string>? ExtraOptions = null,
    /// <summary>A wait the user wrote in the scheduler's own syntax (the stage's Dependency), kept besides <see cref="AfterOk"/>.</summary>
    string? NativeDependency = null);

/// <summary>One scheduler job a <see cref="JobRequest"/> became, and which of its task indices it runs.</summary>
public sealed record SubmittedJob(string JobId, ArraySpec? Tasks, IReadOnlyList<string> Argv, int Attempts, bool Reconciled);

/// <summary>
/// The plan's resources as a neutral request, and the one neutral spelling people read (a duration as
/// <c>HH:MM:SS</c>). Each scheduler spells its own directives (<see cref="ISchedulerDialect.Time"/>,
/// <see cref="ISchedulerDialect.Memory"/>).
/// </summary>
public static class ResourceValues
{
    /// <summary><c>HH:MM:SS</c>, hours past 24 allowed (PBS walltime, reports), rounded up to a whole second.</summary>
    public static string Hms(TimeSpan t)
    {
        long s = Math.Max(1, (long)Math.Ceiling(t.TotalSeconds));
        return string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{s / 3600:00}:{s / 60 % 60:00}:{s % 60:00}");
    }

    /// <summary>The plan's resources of a stage as a neutral request (memory: the whole task's when the plan has it, 0 = the whole node: none asked; else per CPU times CPUs).</summary>
    public static ResourceRequest FromPlan(Planning.Resources r) => new()
    {
        Walltime = r.Walltime,
        MemoryBytes = r.MemPerNodeBytes is long all ? (all > 0 ? all : null)
            : r.MemPerCpuBytes is long m ? m * Math.Max(1, r.CpusPerTask) : null,
        Cpus = Math.Max(1, r.CpusPerTask),
        Gpus = r.Gpus,
        Account = r.Account,
        Queue = r.Partition,
    };
}
