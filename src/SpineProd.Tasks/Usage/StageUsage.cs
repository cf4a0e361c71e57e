using System.Globalization;
using System.Text.Json.Nodes;
using SpineProd.Scheduler;
using SpineProd.Submission;

namespace SpineProd.Usage;

/// <summary>A change of one property that would have fitted the tasks better, and why.</summary>
public sealed record Advice(string Property, string Value, string Why);

/// <summary>
/// What a stage's tasks used against what they asked for, over every attempt that ran (what
/// <c>seff</c> says of one job, for the whole stage): elapsed and CPU time, CPU efficiency, peak
/// memory and time against the request (median, 99th percentile, largest, of the completed
/// attempts), GPU-hours, and the request that would have fitted (<see cref="Advise"/>).
/// </summary>
public sealed class StageUsage
{
    public int Attempts { get; private set; }
    /// <summary>Attempts that ran to an end with their elapsed time known.</summary>
    public int Measured { get; private set; }
    public double ElapsedSeconds { get; private set; }
    public double CpuSeconds { get; private set; }
    /// <summary>Elapsed × CPUs of the attempts whose CPU time is known: what CPU efficiency divides by.</summary>
    public double CpuAllocatedSeconds { get; private set; }
    public double GpuHoursUsed { get; private set; }
    public double GpuHoursRequested { get; private set; }
    public long? RequestedMemoryBytes { get; private set; }
    public TimeSpan? RequestedTime { get; private set; }
    public int? Cpus { get; private set; }
    public int? Gpus { get; private set; }

    private readonly List<long> _peaks = new();
    private readonly List<double> _elapsed = new();
    private readonly List<double> _memoryRatios = new();

    public double? CpuEfficiency => CpuAllocatedSeconds > 0 ? CpuSeconds / CpuAllocatedSeconds : null;

    /// <summary>Completed attempts' peak memory, sorted (for percentiles).</summary>
    public IReadOnlyList<long> CompletedPeaks => _peaks;
    public IReadOnlyList<double> CompletedElapsed => _elapsed;

    public void Add(TaskAttempt a)
    {
        Attempts++;
        if (a.Scheduler is { Usage: { } u } s)
            Measure(s.Kind, s.IsLive, u.Elapsed?.TotalSeconds, u.Start is not null, u.CpuTime?.TotalSeconds, u.Cpus, u.Gpus,
                u.RequestedTime?.TotalSeconds, u.RequestedMemoryBytes, u.PeakMemoryBytes);
    }

    /// <summary>A settled job's attempts, read from its columns (the same sums as one <see cref="Add(TaskAttempt)"/> each).</summary>
    public void Add(SettledJob job)
    {
        for (int row = 0; row < job.Count; row++)
        {
            Attempts++;
            if (job.HasUsage(row))
                Measure(job.Kind(row), false, job.ElapsedSeconds(row), job.Start(row) is not null, job.CpuSeconds(row), job.Cpus(row), job.Gpus(row),
                    job.RequestedTimeSeconds(row), job.RequestedMemoryBytes(row), job.PeakMemoryBytes(row));
        }
    }

    /// <summary>One attempt's usage: counted when it ran to an end with its run time known.</summary>
    private void Measure(TaskStateKind kind, bool live, double? elapsed, bool started, double? cpu, int? cpus, int? gpus,
        double? requestedTime, long? requestedMemory, long? peak)
    {
        if (live || elapsed is not { } e || !started) return;
        Measured++;
        ElapsedSeconds += e;
        if (cpu is { } c)
        {
            CpuSeconds += c;
            CpuAllocatedSeconds += e * Math.Max(1, cpus ?? 1);
        }
        if (gpus is > 0 and var g)
        {
            GpuHoursUsed += e * g / 3600;
            if (requestedTime is { } limit) GpuHoursRequested += limit * g / 3600;
        }
        // the latest request the scheduler reported (a resubmission may have raised it)
        RequestedMemoryBytes = requestedMemory ?? RequestedMemoryBytes;
        RequestedTime = requestedTime is { } rt ? TimeSpan.FromSeconds(rt) : RequestedTime;
        Cpus = cpus ?? Cpus;
        Gpus = gpus ?? Gpus;
        if (kind != TaskStateKind.Completed) return;
        _elapsed.Add(e);
        if (peak is { } p)
        {
            _peaks.Add(p);
            if (requestedMemory is { } r && r > 0) _memoryRatios.Add((double)p / r);
        }
    }

    /// <summary>Sorts what percentiles need; call once all attempts are in.</summary>
    public StageUsage Complete()
    {
        _peaks.Sort();
        _elapsed.Sort();
        _memoryRatios.Sort();
        return this;
    }

    public static T? Percentile<T>(IReadOnlyList<T> sorted, double p) where T : struct =>
        sorted.Count == 0 ? null : sorted[Math.Clamp((int)Math.Ceiling(p * sorted.Count) - 1, 0, sorted.Count - 1)];

    /// <summary>
    /// The properties that would have fitted, against the stage's current request
    /// (<paramref name="request"/>: the plan's): more memory or time when tasks ran out of it, less
    /// when every completed attempt used far less (a smaller request is scheduled sooner and costs
    /// the allocation less). Memory is sized to the largest completed peak + 20 %, time to the longest
    /// completed run + 50 %.
    /// </summary>
    public List<Advice> Advise(ResourceRequest request, int outOfMemory, int timedOut, Func<string, string, string>? spell = null)
    {
        // one stage: a -p: on the command line; several: the stage's own metadata
        spell ??= (property, value) => $"-p:{property}={value}";
        var advice = new List<Advice>();
        int cpus = Math.Max(1, request.Cpus ?? 1);
        long? maxPeak = _peaks.Count == 0 ? null : _peaks[^1];
        if (request.MemoryBytes is long mem)
        {
            long perCpu = mem / cpus;
            if (outOfMemory > 0)
            {
                long need = Math.Max(perCpu * 2, (long)((maxPeak ?? 0) * 1.2 / cpus));
                var v = MemPerCpu(need);
                advice.Add(new Advice("MemPerCpu", v, $"{outOfMemory} task(s) ran out of memory at {Bytes(mem)}: {spell("MemPerCpu", v)} gives {Bytes(ParseMem(v) * cpus)} a task"));
            }
            else if (maxPeak is long peak)
            {
                var v = MemPerCpu((long)(peak * 1.2 / cpus));
                if (peak > mem)
                    // only where memory is not enforced (no cgroup, the local scheduler): elsewhere they would have been killed
                    advice.Add(new Advice("MemPerCpu", v,
                        $"completed tasks held up to {Bytes(peak)}, more than the {Bytes(mem)} requested (a cluster that enforces memory would kill them): {spell("MemPerCpu", v)}"));
                else if (ParseMem(v) < perCpu * 3 / 4)
                    advice.Add(new Advice("MemPerCpu", v,
                        $"peak {Bytes(Percentile(_peaks, 0.99) ?? peak)} for 99% of tasks ({Bytes(peak)} at most) of {Bytes(mem)} requested: {spell("MemPerCpu", v)} would fit every completed task"));
            }
        }
        if (request.Walltime is TimeSpan limit)
        {
            if (timedOut > 0)
            {
                var v = Duration(limit * 2);
                advice.Add(new Advice("Time", v, $"{timedOut} task(s) hit the {ResourceValues.Hms(limit)} time limit: {spell("Time", v)}"));
            }
            else if (_elapsed.Count > 0)
            {
                var longest = TimeSpan.FromSeconds(_elapsed[^1]);
                var v = Duration(longest * 1.5);
                if (RoundUp(longest * 1.5) < limit / 2)
                    advice.Add(new Advice("Time", v,
                        $"run time {ResourceValues.Hms(TimeSpan.FromSeconds(Percentile(_elapsed, 0.99) ?? 0))} for 99% of tasks ({ResourceValues.Hms(longest)} at most) of {ResourceValues.Hms(limit)} requested: {spell("Time", v)} would fit (shorter limits start sooner)"));
            }
        }
        if (CpuEfficiency is double eff && eff < 0.5 && cpus > 1 && Measured > 0)
            advice.Add(new Advice("CpusPerTask", Math.Max(1, (int)Math.Ceiling(cpus * eff * 1.25)).ToString(CultureInfo.InvariantCulture),
                $"the tasks used {StageUsage.Percent(eff)} of their {cpus} CPUs: fewer would do (raise MemPerCpu to keep the memory per task)"));
        return advice;
    }

    /// <summary>A SLURM memory per CPU at or above <paramref name="bytes"/>: 256 MB steps up to 1 GB, whole GB above.</summary>
    public static string MemPerCpu(long bytes)
    {
        const long mb = 1L << 20, gb = 1L << 30;
        if (bytes <= gb) return $"{Math.Max(1, (bytes + 256 * mb - 1) / (256 * mb)) * 256}M";
        return $"{(bytes + gb - 1) / gb}g";
    }

    private static long ParseMem(string v) => Options.SettingValues.ParseMemory(v) ?? 0;

    /// <summary>A SLURM time at or above <paramref name="t"/>: whole 5 minutes up to an hour, 15 minutes up to 6 hours, whole hours above.</summary>
    public static string Duration(TimeSpan t) => ResourceValues.Hms(RoundUp(t));

    private static TimeSpan RoundUp(TimeSpan t)
    {
        double step = t <= TimeSpan.FromHours(1) ? 5 : t <= TimeSpan.FromHours(6) ? 15 : 60;
        return TimeSpan.FromMinutes(Math.Max(step, Math.Ceiling(t.TotalMinutes / step) * step));
    }

    /// <summary>One run in a line: "0:12:03 of 1:00:00 on vm, CPU 3.2 s (27% of 1 CPU), peak 1.2 GB of 4 GB".</summary>
    public static string Describe(TaskUsage u)
    {
        var parts = new List<string>();
        if (u.Elapsed is { } e)
            parts.Add(ResourceValues.Hms(e) + (u.RequestedTime is { } rt ? $" of {ResourceValues.Hms(rt)}" : "") + (u.Node is null ? "" : $" on {u.Node}"));
        if (u.CpuTime is { } c)
            parts.Add($"CPU {c.TotalSeconds.ToString("0.##", CultureInfo.InvariantCulture)} s" +
                      (u.CpuEfficiency is { } ce ? $" ({Percent(ce)} of {Math.Max(1, u.Cpus ?? 1)} CPU)" : ""));
        if (u.PeakMemoryBytes is not null || u.RequestedMemoryBytes is not null)
            parts.Add($"peak {Bytes(u.PeakMemoryBytes)}" + (u.RequestedMemoryBytes is null ? "" : $" of {Bytes(u.RequestedMemoryBytes)}"));
        if (u.Gpus is > 0) parts.Add($"{u.Gpus} GPU");
        return string.Join(", ", parts);
    }

    public static JsonObject ToJson(TaskUsage u) => new()
    {
        ["start"] = u.Start?.ToString("yyyy-MM-dd'T'HH:mm:sszzz", CultureInfo.InvariantCulture),
        ["end"] = u.End?.ToString("yyyy-MM-dd'T'HH:mm:sszzz", CultureInfo.InvariantCulture),
        ["elapsed_s"] = u.Elapsed?.TotalSeconds,
        ["cpu_s"] = Round(u.CpuTime?.TotalSeconds),
        ["cpus"] = u.Cpus,
        ["cpu_efficiency"] = Round(u.CpuEfficiency),
        ["peak_memory_bytes"] = u.PeakMemoryBytes,
        ["requested_memory_bytes"] = u.RequestedMemoryBytes,
        ["memory_efficiency"] = Round(u.MemoryEfficiency),
        ["requested_time_s"] = u.RequestedTime?.TotalSeconds,
        ["time_used"] = Round(u.TimeUsed),
        ["gpus"] = u.Gpus,
        ["node"] = u.Node,
    };

    /// <summary>"27%".</summary>
    public static string Percent(double fraction) => (fraction * 100).ToString("0", CultureInfo.InvariantCulture) + "%";

    /// <summary>"3.1 GB" (SLURM's units: 1 GB = 1024 MB).</summary>
    public static string Bytes(long? b) => b switch
    {
        null => "?",
        >= 1L << 30 => string.Create(CultureInfo.InvariantCulture, $"{b.Value / (double)(1L << 30):0.#} GB"),
        >= 1L << 20 => string.Create(CultureInfo.InvariantCulture, $"{b.Value / (double)(1L << 20):0.#} MB"),
        >= 1L << 10 => string.Create(CultureInfo.InvariantCulture, $"{b.Value / (double)(1L << 10):0.#} KB"),
        _ => string.Create(CultureInfo.InvariantCulture, $"{b} B"),
    };

    public JsonObject ToJson(IEnumerable<Advice> advice) => new()
    {
        ["attempts"] = Attempts,
        ["measured"] = Measured,
        ["completed_measured"] = _elapsed.Count,
        ["elapsed_s"] = Stats(_elapsed.Select(x => x).ToList(), ElapsedSeconds),
        ["cpu_s"] = Round(CpuSeconds),
        ["cpu_efficiency"] = Round(CpuEfficiency),
        ["peak_memory_bytes"] = Stats(_peaks.Select(x => (double)x).ToList(), null),
        ["memory_efficiency_median"] = Round(Percentile(_memoryRatios, 0.5)),
        ["requested_memory_bytes"] = RequestedMemoryBytes,
        ["requested_time_s"] = RequestedTime?.TotalSeconds,
        ["time_used_max"] = RequestedTime is { } rt && rt > TimeSpan.Zero && _elapsed.Count > 0 ? Round(_elapsed[^1] / rt.TotalSeconds) : null,
        ["cpus"] = Cpus,
        ["gpus"] = Gpus,
        ["gpu_hours_used"] = Round(GpuHoursUsed),
        ["gpu_hours_requested"] = Round(GpuHoursRequested),
        ["advice"] = new JsonArray(advice.Select(a => (JsonNode?)new JsonObject { ["property"] = a.Property, ["value"] = a.Value, ["why"] = a.Why }).ToArray()),
    };

    private static JsonObject Stats(List<double> sorted, double? total) => new()
    {
        ["total"] = total is null ? null : Round(total),
        ["median"] = Round(Percentile(sorted, 0.5)),
        ["p99"] = Round(Percentile(sorted, 0.99)),
        ["max"] = Round(sorted.Count == 0 ? null : sorted[^1]),
    };

    private static double? Round(double? v) => v is { } d ? Math.Round(d, 4) : null;
}
