using System.Globalization;
using SpineProd.Scheduler;

namespace SpineProd.Run;

/// <summary>
/// A SLURM partition's ceiling for a retry: <c>scontrol show partition NAME -o</c>'s MaxTime, and
/// MaxMemPerCPU (or MaxMemPerNode shared by the task's CPUs). Asked once per partition per Run; a
/// partition that cannot be asked sets no ceiling (then only RetryMaxTime and RetryMaxMemPerCpu do,
/// and sbatch rejects a request over a limit it knows, SPN3003).
/// </summary>
public static class SlurmPartitionLimits
{
    public static Func<Planning.StagePlan, PartitionLimits?> Asking(IProcessRunner runner, string scheduler)
    {
        var cache = new Dictionary<string, string?>();
        return stage =>
        {
            if (scheduler != "slurm" || string.IsNullOrEmpty(stage.Resources.Partition)) return null;
            var name = stage.Resources.Partition;
            if (!cache.TryGetValue(name, out var line))
            {
                var r = runner.Run("scontrol", ["show", "partition", name, "-o"], TimeSpan.FromSeconds(10));
                cache[name] = line = r.Succeeded ? r.Stdout : null;
            }
            return line is null ? null : Parse(line, Math.Max(1, stage.Resources.CpusPerTask));
        };
    }

    public static PartitionLimits Parse(string scontrolLine, int cpus)
    {
        var fields = scontrolLine.Split([' ', '\n', '\t'], StringSplitOptions.RemoveEmptyEntries)
            .Select(w => w.Split('=', 2)).Where(p => p.Length == 2).GroupBy(p => p[0]).ToDictionary(g => g.Key, g => g.First()[1]);
        TimeSpan? maxTime = null;
        if (fields.TryGetValue("MaxTime", out var t) && t is not ("UNLIMITED" or "INFINITE" or "NONE"))
            try { maxTime = Scheduler.Slurm.SlurmDialect.ParseTime(t); } catch (Exception e) when (e is FormatException or OverflowException) { }
        long? mem = Megabytes(fields.GetValueOrDefault("MaxMemPerCPU"));
        if (mem is null && Megabytes(fields.GetValueOrDefault("MaxMemPerNode")) is long node) mem = node / cpus;
        return new PartitionLimits(maxTime is { Ticks: > 0 } ? maxTime : null, mem);
    }

    private static long? Megabytes(string? v) =>
        long.TryParse(v, NumberStyles.None, CultureInfo.InvariantCulture, out long mb) && mb > 0 ? mb << 20 : null;
}
