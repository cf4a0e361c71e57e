using System.Globalization;

namespace SpineProd.Scheduler.Local;

/// <summary>
/// Measures a local task's peak memory as SLURM's jobacct_gather does, by sampling: at each sample
/// the resident memory of every process of the task's process group is summed (a job's memory is
/// all of its processes'); the peak is the largest sum. A process's own high-water mark
/// (<c>VmHWM</c>) stands in for its current size, so a spike between two samples of a process
/// still alive is not missed. Samples come every 100 ms for the first seconds, then every second,
/// then every 5 s (a long task costs a scan of /proc every few seconds, no more).
/// </summary>
public sealed class LocalTaskMeter(int group)
{
    private readonly DateTime _started = DateTime.UtcNow;
    private readonly string _group = group.ToString(CultureInfo.InvariantCulture);

    public long? PeakBytes { get; private set; }

    public TimeSpan NextInterval
    {
        get
        {
            var age = DateTime.UtcNow - _started;
            return age < TimeSpan.FromSeconds(5) ? TimeSpan.FromMilliseconds(100) : age < TimeSpan.FromMinutes(2) ? TimeSpan.FromSeconds(1) : TimeSpan.FromSeconds(5);
        }
    }

    public void Sample()
    {
        if (!Directory.Exists("/proc/self")) return;
        long sum = 0;
        bool any = false;
        try
        {
            foreach (var dir in Directory.EnumerateDirectories("/proc"))
            {
                var name = Path.GetFileName(dir.AsSpan());
                if (name.IsEmpty || !char.IsAsciiDigit(name[0])) continue;
                if (ProcessGroup(dir) != _group) continue;
                if (HighWaterMark(dir) is long kb) { sum += kb * 1024; any = true; }
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }
        if (any && sum > (PeakBytes ?? 0)) PeakBytes = sum;
    }

    private static string? ProcessGroup(string procDir)
    {
        try
        {
            var stat = File.ReadAllText(Path.Combine(procDir, "stat"));
            int close = stat.LastIndexOf(')');
            if (close < 0) return null;
            // after "pid (comm)": state ppid pgrp
            var f = stat.AsSpan(close + 1).Trim();
            Span<Range> parts = stackalloc Range[4];
            return f.Split(parts, ' ') >= 3 ? f[parts[2]].ToString() : null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return null; }
    }

    /// <summary>VmHWM (else VmRSS) of /proc/pid/status, in kB; null for a zombie or a process gone.</summary>
    private static long? HighWaterMark(string procDir)
    {
        try
        {
            long? rss = null;
            foreach (var line in File.ReadLines(Path.Combine(procDir, "status")))
            {
                bool hwm = line.StartsWith("VmHWM:", StringComparison.Ordinal);
                if (!hwm && !line.StartsWith("VmRSS:", StringComparison.Ordinal)) continue;
                var v = line.AsSpan(6).Trim();
                if (v.EndsWith("kB")) v = v[..^2].Trim();
                if (!long.TryParse(v, NumberStyles.None, CultureInfo.InvariantCulture, out var kb)) continue;
                if (hwm) return kb;
                rss = kb;
            }
            return rss;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return null; }
    }

    /// <summary>The children's line of bash's <c>times</c> (<c>0m1.200s 0m0.050s</c>, the second line): user + system.</summary>
    public static TimeSpan? ChildrenCpuTime(string timesOutput)
    {
        var lines = timesOutput.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (lines.Length < 2) return null;
        double total = 0;
        // a locale may write the decimal point as a comma
        foreach (var word in lines[^1].Replace(',', '.').Split(' ', StringSplitOptions.RemoveEmptyEntries))
        {
            int m = word.IndexOf('m');
            if (m < 0 || !word.EndsWith('s')) return null;
            if (!int.TryParse(word.AsSpan(0, m), NumberStyles.None, CultureInfo.InvariantCulture, out var minutes)) return null;
            if (!double.TryParse(word.AsSpan(m + 1, word.Length - m - 2), NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var seconds)) return null;
            total += minutes * 60 + seconds;
        }
        return TimeSpan.FromSeconds(total);
    }
}
