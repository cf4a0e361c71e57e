using System.Globalization;
using System.Text.Json;

namespace SpineProd.Scheduler.Pbs;

/// <summary>
/// A PBS job's (or subjob's) usage from its <c>qstat -f -F json</c> entry, read with the status in
/// the same one query: <c>resources_used</c> (walltime, cput, mem), <c>Resource_List</c> (walltime,
/// mem, ncpus, ngpus), <c>exec_host</c>, <c>stime</c> (start) and <c>obittime</c> (end).
/// </summary>
public static class PbsUsage
{
    public static TaskUsage? From(JsonElement job)
    {
        job.TryGetProperty("resources_used", out var used);
        job.TryGetProperty("Resource_List", out var list);
        if (used.ValueKind != JsonValueKind.Object && list.ValueKind != JsonValueKind.Object) return null;
        var host = Text(job, "exec_host");
        return new TaskUsage
        {
            Elapsed = Duration(Text(used, "walltime")),
            CpuTime = Duration(Text(used, "cput")),
            PeakMemoryBytes = Size(Text(used, "mem")),
            RequestedTime = Duration(Text(list, "walltime")),
            RequestedMemoryBytes = Size(Text(list, "mem")),
            Cpus = Int(Text(list, "ncpus")) ?? Int(Text(used, "ncpus")),
            Gpus = Int(Text(list, "ngpus")) ?? 0,
            // "vm/0" or "n1/0*2+n2/0*2": the first host
            Node = string.IsNullOrEmpty(host) ? null : host.Split('+')[0].Split('/')[0],
            Start = Time(Text(job, "stime")),
            End = Time(Text(job, "obittime")),
        };
    }

    private static string? Text(JsonElement e, string name) =>
        e.ValueKind == JsonValueKind.Object && e.TryGetProperty(name, out var v)
            ? v.ValueKind switch { JsonValueKind.String => v.GetString(), JsonValueKind.Number => v.GetRawText(), _ => null }
            : null;

    private static int? Int(string? s) => int.TryParse(s, NumberStyles.None, CultureInfo.InvariantCulture, out var n) ? n : null;

    /// <summary>PBS durations: <c>HH:MM:SS</c> (hours past 24 allowed), <c>MM:SS</c> or seconds.</summary>
    public static TimeSpan? Duration(string? s)
    {
        if (string.IsNullOrWhiteSpace(s)) return null;
        double total = 0;
        foreach (var part in s.Trim().Split(':'))
        {
            if (!double.TryParse(part, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var v)) return null;
            total = total * 60 + v;
        }
        return TimeSpan.FromSeconds(total);
    }

    /// <summary>PBS sizes: <c>123456kb</c>, <c>100mb</c>, <c>4gb</c>, <c>512b</c>, a bare number of bytes; <c>w</c> words are 8 bytes.</summary>
    public static long? Size(string? s)
    {
        if (string.IsNullOrWhiteSpace(s)) return null;
        var v = s.Trim().ToLowerInvariant();
        long unit = 1;
        if (v.EndsWith('b') || v.EndsWith('w'))
        {
            unit = v.EndsWith('w') ? 8 : 1;
            v = v[..^1];
        }
        long factor = v.Length > 0 ? v[^1] switch { 'k' => 1L << 10, 'm' => 1L << 20, 'g' => 1L << 30, 't' => 1L << 40, 'p' => 1L << 50, _ => 1 } : 1;
        if (factor != 1) v = v[..^1];
        return long.TryParse(v, NumberStyles.None, CultureInfo.InvariantCulture, out var n) ? n * factor * unit : null;
    }

    /// <summary><c>stime</c>/<c>obittime</c>: ctime's <c>Sun Nov 29 11:35:14 2026</c> in the server's local time (or seconds since 1970).</summary>
    public static DateTimeOffset? Time(string? s)
    {
        if (string.IsNullOrWhiteSpace(s)) return null;
        if (long.TryParse(s, NumberStyles.None, CultureInfo.InvariantCulture, out var epoch)) return DateTimeOffset.FromUnixTimeSeconds(epoch).ToLocalTime();
        var t = string.Join(' ', s.Split(' ', StringSplitOptions.RemoveEmptyEntries));
        return DateTime.TryParseExact(t, "ddd MMM d HH:mm:ss yyyy", CultureInfo.InvariantCulture, DateTimeStyles.AssumeLocal, out var d)
            ? new DateTimeOffset(d) : null;
    }
}
