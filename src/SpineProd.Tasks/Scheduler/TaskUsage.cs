namespace SpineProd.Scheduler;

/// <summary>
/// What one run of a task used and asked for, in plain values, the same for every scheduler
/// (SLURM: sacct with its steps; PBS: qstat's resources_used; local: measured). Every field may be
/// null: the scheduler did not say (a pending task, accounting off, a task still running).
/// </summary>
public sealed record TaskUsage
{
    public DateTimeOffset? Start { get; init; }
    public DateTimeOffset? End { get; init; }
    /// <summary>Wall-clock time from start to end (or to now, while it runs).</summary>
    public TimeSpan? Elapsed { get; init; }
    /// <summary>User + system CPU time of every process of the task.</summary>
    public TimeSpan? CpuTime { get; init; }
    /// <summary>The largest resident memory the task reached (SLURM MaxRSS, PBS resources_used.mem), in bytes.</summary>
    public long? PeakMemoryBytes { get; init; }
    public TimeSpan? RequestedTime { get; init; }
    /// <summary>Memory of the whole task (per CPU × CPUs), in bytes.</summary>
    public long? RequestedMemoryBytes { get; init; }
    /// <summary>CPUs allocated to (or asked for by) the task.</summary>
    public int? Cpus { get; init; }
    public int? Gpus { get; init; }
    /// <summary>The node (or host) it ran on.</summary>
    public string? Node { get; init; }

    /// <summary>CPU time over elapsed × CPUs (what seff calls CPU efficiency), or null when unknown.</summary>
    public double? CpuEfficiency =>
        CpuTime is { } c && Elapsed is { } e && e > TimeSpan.Zero ? c.TotalSeconds / (e.TotalSeconds * Math.Max(1, Cpus ?? 1)) : null;

    /// <summary>Peak memory over the request.</summary>
    public double? MemoryEfficiency =>
        PeakMemoryBytes is { } p && RequestedMemoryBytes is { } r && r > 0 ? (double)p / r : null;

    /// <summary>Elapsed over the time limit.</summary>
    public double? TimeUsed =>
        Elapsed is { } e && RequestedTime is { } r && r > TimeSpan.Zero ? e / r : null;
}
