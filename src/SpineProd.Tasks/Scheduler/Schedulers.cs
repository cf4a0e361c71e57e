using SpineProd.Diagnostics;
using SpineProd.Scheduler.Local;
using SpineProd.Scheduler.Pbs;
using SpineProd.Scheduler.Slurm;

namespace SpineProd.Scheduler;

/// <summary>What a scheduler client may need from the build that makes it.</summary>
public sealed record SchedulerSettings
{
    /// <summary>The production's state folder (the local scheduler keeps its jobs there).</summary>
    public required string StateDir { get; init; }
    /// <summary>Retry notices and the like, for the build log.</summary>
    public Action<string>? Log { get; init; }
    /// <summary>Submit attempts in all (the first and the retries after transient errors); null: the client's default.</summary>
    public int? MaxAttempts { get; init; }
    /// <summary>The local scheduler: tasks at once (0: one per core).</summary>
    public int LocalParallelism { get; init; }
    /// <summary>A Submit's cancellation (Ctrl-C): the local scheduler then ends its running tasks and starts no more.</summary>
    public CancellationToken Stop { get; init; }
    /// <summary>Why <see cref="Stop"/> fired (a signal, the build killed), for the local scheduler's message.</summary>
    public Func<string>? StopReason { get; init; }
}

/// <summary>
/// Every scheduler SpineProd knows, one line each: its name (the <c>Scheduler</c> property), its
/// dialect, and how its client is made. Its MSBuild side (job and cleanup templates, limits) is its
/// own targets file, which adds itself to <c>SpineProdSchedulers</c> (SpineProd.Scheduler.*.targets).
/// </summary>
public static class Schedulers
{
    private sealed record Entry(ISchedulerDialect Dialect, Func<SchedulerSettings, IScheduler> Create);

    private static readonly Entry[] Registry =
    [
        new(SlurmDialect.Instance, s => new SlurmClient(log: s.Log, options: s.MaxAttempts is int n ? new SlurmOptions { MaxAttempts = n } : null)),
        new(PbsSchedulerDialect.Instance, s => new PbsScheduler(log: s.Log, options: s.MaxAttempts is int n ? new PbsOptions { MaxAttempts = n } : null)),
        new(LocalDialect.Instance, s => new LocalScheduler(s.StateDir, s.LocalParallelism, s.Stop, s.StopReason)),
    ];

    public static IReadOnlyList<string> Names => Registry.Select(e => e.Dialect.Name).ToList();
    public static IReadOnlyList<ISchedulerDialect> Dialects => Registry.Select(e => e.Dialect).ToList();

    private static Entry Find(string? name, string? file)
    {
        var key = (name ?? "").Trim().ToLowerInvariant();
        if (key.Length == 0) key = "slurm";
        return Registry.FirstOrDefault(e => e.Dialect.Name == key)
            ?? throw new SpineProdException("SPN3007", $"Scheduler='{name}' is not one of {string.Join(", ", Names)}", file);
    }

    /// <summary>How the named scheduler spells ids, dependencies and log files (records name the scheduler that ran them).</summary>
    public static ISchedulerDialect Dialect(string? name) => Find(name, null).Dialect;

    /// <summary>A client per scheduler name, made once on first use (a production's ledger may name several).</summary>
    public static Func<string, IScheduler> Factory(SchedulerSettings settings, string? file = null)
    {
        var made = new Dictionary<string, IScheduler>();
        return name =>
        {
            var entry = Find(name, file);
            if (made.TryGetValue(entry.Dialect.Name, out var s)) return s;
            return made[entry.Dialect.Name] = entry.Create(settings);
        };
    }

    public static Func<string, IScheduler> Factory(string stateDir) => Factory(new SchedulerSettings { StateDir = stateDir });

    /// <summary>The form before <see cref="SchedulerSettings"/> (kept so callers in flight still build).</summary>
    public static Func<string, IScheduler> Factory(string stateDir, Action<string>? log, int localParallelism = 0, SlurmOptions? slurm = null, string? file = null,
        CancellationToken stop = default) =>
        Factory(new SchedulerSettings { StateDir = stateDir, Log = log, LocalParallelism = localParallelism, MaxAttempts = slurm?.MaxAttempts, Stop = stop }, file);
}
