using System.Globalization;
using SpineProd.Options;
using SpineProd.Scheduler.Slurm;

namespace SpineProd.Scheduler.Local;

/// <summary>
/// What one local job may use and where it says it runs, from its options. The local scheduler's
/// scripts carry no directives: a job's options are the plan's resources (<see cref="Options"/>,
/// from the <see cref="JobRequest"/>) followed by a <c>-t:Run</c> retry's raised limits
/// (<see cref="LocalDialect.RaisedLimitOptions"/>). Both are spelled as sbatch spells them, and as
/// with sbatch the later option wins. The job's recorded command line shows them all.
/// </summary>
public sealed record LocalLimits
{
    /// <summary>The task is ended (TIMEOUT) after this long; null: never.</summary>
    public TimeSpan? Time { get; init; }
    /// <summary>Memory of the whole task, in bytes (recorded as asked for; not enforced on this machine).</summary>
    public long? MemoryBytes { get; init; }
    public int Cpus { get; init; } = 1;
    public int? Gpus { get; init; }
    public string? Partition { get; init; }
    public string? Account { get; init; }

    /// <summary>A request's options: its resources (the plan's), then its own options (a retry's raised limits), which win.</summary>
    public static List<string> Options(JobRequest request) => [.. Options(request.Resources), .. request.ExtraOptions ?? []];

    /// <summary>Resources as the local scheduler's options, spelled as sbatch spells them.</summary>
    public static List<string> Options(ResourceRequest? r)
    {
        var o = new List<string>();
        if (r is null) return o;
        var c = CultureInfo.InvariantCulture;
        if (r.Walltime is TimeSpan t) o.Add("--time=" + SlurmDialect.Time(t));
        if (r.Cpus is int cpus) o.Add("--cpus-per-task=" + cpus.ToString(c));
        if (r.MemoryBytes is long m) o.Add("--mem=" + SlurmDialect.Memory(m));
        if (r.Gpus is int g) o.Add("--gpus=" + g.ToString(c));
        if (!string.IsNullOrWhiteSpace(r.Queue)) o.Add("--partition=" + r.Queue);
        if (!string.IsNullOrWhiteSpace(r.Account)) o.Add("--account=" + r.Account);
        return o;
    }

    /// <summary>The limits the <paramref name="options"/> give, in order (later wins); words it does not know are left alone.</summary>
    public static LocalLimits Read(IEnumerable<string> options)
    {
        TimeSpan? time = null;
        long? whole = null, perCpu = null;
        int cpus = 1;
        int? gpus = null;
        string? partition = null, account = null;
        foreach (var word in options)
        {
            int eq = word.IndexOf('=');
            if (!word.StartsWith("--", StringComparison.Ordinal) || eq < 0) continue;
            var value = word[(eq + 1)..];
            switch (word[2..eq])
            {
                // written by SpineProd itself (the plan's values, validated at build: SPN1021); an unreadable one means no limit
                case "time":
                    try { time = SlurmDialect.ParseTime(value); }
                    catch (Exception e) when (e is FormatException or OverflowException) { time = null; }
                    break;
                case "mem": (whole, perCpu) = (SettingValues.ParseMemory(value), null); break;
                case "mem-per-cpu": (perCpu, whole) = (SettingValues.ParseMemory(value), null); break;
                case "cpus-per-task" when int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n > 0: cpus = n; break;
                case "gpus" when int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var n): gpus = n; break;
                case "partition": partition = value; break;
                case "account": account = value; break;
            }
        }
        return new LocalLimits
        {
            Time = time, Cpus = cpus, Gpus = gpus, Partition = partition, Account = account,
            MemoryBytes = whole ?? perCpu * cpus,
        };
    }
}
