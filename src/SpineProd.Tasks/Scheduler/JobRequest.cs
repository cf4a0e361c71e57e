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

/// <summary>The plan's resources as a neutral request, and their SLURM spellings.</summary>
public static class ResourceValues
{
    /// <summary><c>HH:MM:SS</c>, hours past 24 allowed (PBS walltime, SLURM --time), rounded up to a whole second.</summary>
    public static string Hms(TimeSpan t)
    {
        long s = Math.Max(1, (long)Math.Ceiling(t.TotalSeconds));
        return string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{s / 3600:00}:{s / 60 % 60:00}:{s % 60:00}");
    }

    /// <summary>SLURM's <c>--time</c>: <c>H:MM:SS</c>, or <c>D-HH:MM:SS</c> from a day on; rounded up to a whole second.</summary>
    public static string SlurmTime(TimeSpan t)
    {
        long s = Math.Max(1, (long)Math.Ceiling(t.TotalSeconds));
        long days = s / 86400, h = s / 3600 % 24, m = s / 60 % 60, sec = s % 60;
        var c = System.Globalization.CultureInfo.InvariantCulture;
        return days > 0 ? string.Create(c, $"{days}-{h:00}:{m:00}:{sec:00}") : string.Create(c, $"{h}:{m:00}:{sec:00}");
    }

    /// <summary>SLURM's size (<c>--mem-per-cpu</c>): the largest of T, G, M, K that divides it; whole MB at least (rounded up).</summary>
    public static string SlurmMemory(long bytes)
    {
        foreach (var (unit, shift) in new[] { ("T", 40), ("G", 30), ("M", 20) })
            if (bytes % (1L << shift) == 0) return $"{bytes >> shift}{unit}";
        return $"{(bytes + (1L << 20) - 1) >> 20}M";
    }

    /// <summary>A size as SLURM reads it (<c>4g</c>, <c>4000M</c>, <c>512</c> = MB): bytes, or null (<see cref="Options.SettingValues.TryParseMemory"/>).</summary>
    public static long? ParseSlurmMemory(string? value) =>
        value is not null && Options.SettingValues.TryParseMemory(value, out long bytes) ? bytes : null;

    /// <summary>The plan's resources of a stage as a neutral request (memory: per CPU times CPUs).</summary>
    public static ResourceRequest FromPlan(Planning.Resources r) => new()
    {
        Walltime = r.Walltime,
        MemoryBytes = r.MemPerCpuBytes is long m ? m * Math.Max(1, r.CpusPerTask) : null,
        Cpus = Math.Max(1, r.CpusPerTask),
        Gpus = r.Gpus,
        Account = r.Account,
        Queue = r.Partition,
    };
}
