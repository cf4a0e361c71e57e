using System.Globalization;

namespace SpineProd.Report;

/// <summary>
/// One attempt of one task as the scheduler measured it: what the report's distributions, timeline
/// and efficiencies are drawn from. Every measurement may be missing (a task still pending, a
/// scheduler without accounting).
/// </summary>
public sealed record TaskUsage
{
    public string Stage { get; init; } = "";
    public int Task { get; init; }
    public int Attempt { get; init; } = 1;
    public string? JobId { get; init; }
    public string State { get; init; } = "";
    public string? ExitCode { get; init; }
    public DateTimeOffset? Start { get; init; }
    public DateTimeOffset? End { get; init; }
    public double? ElapsedSeconds { get; init; }
    public double? CpuSeconds { get; init; }
    public long? PeakMemoryBytes { get; init; }
    public long? RequestedMemoryBytes { get; init; }
    public double? RequestedSeconds { get; init; }
    public int? Cpus { get; init; }
    public int? Gpus { get; init; }
    public string? Node { get; init; }

    public double? Elapsed => ElapsedSeconds ?? (Start is { } s && End is { } e ? (e - s).TotalSeconds : null);
}

/// <summary>
/// Reads the trace file Status writes beside status.json (<c>trace.tsv</c>: a header line, then one
/// tab-separated row per task attempt), by column name, as a stream: a million rows never sit in
/// memory as text. Columns it does not know are ignored and a missing column is a missing value,
/// so the file may grow columns without breaking the report. Several spellings of a column are
/// accepted (the first that the header has wins).
/// </summary>
public static class UsageTrace
{
    public const string FileName = "trace.tsv";

    public static string PathIn(string stateDir) => System.IO.Path.Combine(stateDir, FileName);

    private static readonly Dictionary<string, string[]> Columns = new()
    {
        ["stage"] = ["stage"],
        ["task"] = ["task", "task_id"],
        ["attempt"] = ["attempt"],
        ["job"] = ["job_id", "job", "native_id"],
        ["state"] = ["state", "status"],
        ["exit"] = ["exit_code", "exit"],
        ["start"] = ["start", "started"],
        ["end"] = ["end", "ended", "complete"],
        ["elapsed"] = ["elapsed_s", "elapsed_seconds", "realtime_s"],
        ["cpu"] = ["cpu_time_s", "cpu_s", "cpu_seconds", "total_cpu_s"],
        ["rss"] = ["max_rss_bytes", "peak_memory_bytes", "peak_rss_bytes"],
        ["req_mem"] = ["req_mem_bytes", "requested_memory_bytes", "memory_bytes"],
        ["req_time"] = ["req_time_s", "requested_time_s", "time_limit_s", "timelimit_s"],
        ["cpus"] = ["cpus", "ncpus", "alloc_cpus"],
        ["gpus"] = ["gpus", "ngpus", "alloc_gpus"],
        ["node"] = ["node", "nodelist", "exec_host"],
    };

    /// <summary>The rows of the file; none when there is no file.</summary>
    public static IEnumerable<TaskUsage> Read(string path)
    {
        if (!File.Exists(path)) yield break;
        using var reader = new StreamReader(path);
        var header = reader.ReadLine();
        if (header is null) yield break;
        var names = header.TrimEnd('\r').Split('\t');
        var at = Columns.ToDictionary(c => c.Key, c => c.Value.Select(n => Array.IndexOf(names, n)).FirstOrDefault(i => i >= 0, -1));
        string? line;
        while ((line = reader.ReadLine()) is not null)
        {
            if (line.Length == 0) continue;
            var f = line.TrimEnd('\r').Split('\t');
            string? S(string key) => at[key] is int i and >= 0 && i < f.Length && f[i].Length > 0 && f[i] != "-" ? f[i] : null;
            if (S("task") is not string task || !int.TryParse(task, NumberStyles.Integer, CultureInfo.InvariantCulture, out int t)) continue;
            yield return new TaskUsage
            {
                Stage = S("stage") ?? "",
                Task = t,
                Attempt = Int(S("attempt")) ?? 1,
                JobId = S("job"),
                State = S("state") ?? "",
                ExitCode = S("exit"),
                Start = Time(S("start")),
                End = Time(S("end")),
                ElapsedSeconds = Number(S("elapsed")),
                CpuSeconds = Number(S("cpu")),
                PeakMemoryBytes = Long(S("rss")),
                RequestedMemoryBytes = Long(S("req_mem")),
                RequestedSeconds = Number(S("req_time")),
                Cpus = Int(S("cpus")),
                Gpus = Int(S("gpus")),
                Node = S("node"),
            };
        }
    }

    private static int? Int(string? s) => int.TryParse(s, NumberStyles.Integer, CultureInfo.InvariantCulture, out var v) ? v : null;
    private static long? Long(string? s) => double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out var v) ? (long)v : null;
    private static double? Number(string? s) => double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out var v) ? v : null;
    private static DateTimeOffset? Time(string? s) =>
        s is null ? null
        : DateTimeOffset.TryParse(s, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var v) ? v
        : long.TryParse(s, NumberStyles.Integer, CultureInfo.InvariantCulture, out var epoch) ? DateTimeOffset.FromUnixTimeSeconds(epoch) : null;
}
