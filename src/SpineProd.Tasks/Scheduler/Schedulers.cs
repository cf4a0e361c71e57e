using SpineProd.Diagnostics;

namespace SpineProd.Scheduler;

/// <summary>Makes the scheduler a production names (<c>Scheduler</c> property): slurm or local.</summary>
public static class Schedulers
{
    /// <param name="stop">A Submit's cancellation (Ctrl-C): the local scheduler then ends its running tasks and starts no more.</param>
    public static Func<string, IScheduler> Factory(string stateDir, Action<string>? log = null, int localParallelism = 0, SlurmOptions? slurm = null, string? file = null,
        CancellationToken stop = default)
    {
        var made = new Dictionary<string, IScheduler>();
        return name =>
        {
            var key = (name ?? "").Trim().ToLowerInvariant();
            if (made.TryGetValue(key, out var s)) return s;
            s = key switch
            {
                "slurm" or "" => new SlurmClient(log: log, options: slurm),
                "local" => new LocalScheduler(stateDir, localParallelism, stop),
                _ => throw new SpineProdException("SPN3007", $"Scheduler='{name}' is not one of slurm, local", file),
            };
            return made[key] = s;
        };
    }
}
