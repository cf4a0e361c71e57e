using System.Globalization;
using System.Text;
using SpineProd.IO;
using SpineProd.Scheduler;

namespace SpineProd.Usage;

/// <summary>
/// <c>&lt;state dir&gt;/trace.tsv</c> (<see cref="Layout.ProductionLayout.TraceFile"/>): one row per task attempt, tab-separated with a header, as
/// Nextflow's trace file: what a person greps (<c>grep OUT_OF_MEMORY</c>) or loads into pandas
/// (<c>pd.read_csv("trace.tsv", sep="\t")</c>). Numbers are in base units (seconds, bytes), times
/// ISO 8601 with their offset; an empty cell is a value the scheduler did not give. Rewritten whole,
/// atomically, by every Status, streamed (a million rows never sit in memory).
/// </summary>
public static class TraceFile
{
    public static readonly string[] Columns =
    [
        "stage", "task", "attempt", "submission", "scheduler", "job_id", "state", "exit_code", "reason", "node",
        "start", "end", "elapsed_s", "cpu_s", "cpus", "cpu_efficiency", "peak_memory_bytes", "requested_memory_bytes",
        "memory_efficiency", "requested_time_s", "time_used", "gpus", "log_err",
    ];

    /// <summary>Writes the attempts; returns how many rows.</summary>
    public static long Write(string path, IEnumerable<TaskAttempt> attempts)
    {
        long rows = 0;
        AtomicFile.Write(path, stream =>
        {
            using var w = new StreamWriter(stream, new UTF8Encoding(false), 1 << 16, leaveOpen: true) { NewLine = "\n" };
            w.WriteLine(string.Join('\t', Columns));
            foreach (var a in attempts)
            {
                WriteRow(w, a);
                rows++;
            }
        }, durable: false);
        return rows;
    }

    private static void WriteRow(TextWriter w, TaskAttempt a)
    {
        var s = a.Scheduler;
        var u = s?.Usage;
        Cell(w, a.Stage); Tab(w);
        Number(w, a.Task); Tab(w);
        Number(w, a.Attempt); Tab(w);
        Cell(w, a.Submission.Id); Tab(w);
        Cell(w, a.Submission.Scheduler); Tab(w);
        if (a.Array.JobId is { } jobId) { Cell(w, jobId); w.Write('_'); Number(w, a.Index); } // a.JobId, without a string a row
        Tab(w);
        Cell(w, s?.RawState ?? (a.Array.State == Submission.ArraySubmissionState.Submitting ? "SUBMITTING" : "UNKNOWN")); Tab(w);
        Cell(w, s?.ExitCode); Tab(w);
        Cell(w, s?.Reason); Tab(w);
        Cell(w, u?.Node); Tab(w);
        Time(w, u?.Start); Tab(w);
        Time(w, u?.End); Tab(w);
        Number(w, u?.Elapsed?.TotalSeconds); Tab(w);
        Number(w, u?.CpuTime?.TotalSeconds); Tab(w);
        Number(w, u?.Cpus); Tab(w);
        Number(w, u?.CpuEfficiency); Tab(w);
        Number(w, u?.PeakMemoryBytes); Tab(w);
        Number(w, u?.RequestedMemoryBytes); Tab(w);
        Number(w, u?.MemoryEfficiency); Tab(w);
        Number(w, u?.RequestedTime?.TotalSeconds); Tab(w);
        Number(w, u?.TimeUsed); Tab(w);
        Number(w, u?.Gpus); Tab(w);
        Cell(w, a.LogPath(error: true));
        w.Write('\n');
    }

    private static void Tab(TextWriter w) => w.Write('\t');

    /// <summary>A tab or line break inside a value would split the row: they become spaces.</summary>
    private static void Cell(TextWriter w, string? value)
    {
        if (string.IsNullOrEmpty(value)) return;
        if (value.AsSpan().IndexOfAny('\t', '\n', '\r') < 0) { w.Write(value); return; }
        w.Write(value.Replace('\t', ' ').Replace('\n', ' ').Replace('\r', ' '));
    }

    // Numbers and times are formatted into a buffer on the stack: a million rows are fifteen million
    // values, and a string for each is most of the cost of writing them.
    private static void Time(TextWriter w, DateTimeOffset? t)
    {
        Span<char> buffer = stackalloc char[40];
        if (t is { } v && v.TryFormat(buffer, out int n, "yyyy-MM-dd'T'HH:mm:sszzz", CultureInfo.InvariantCulture)) w.Write(buffer[..n]);
    }

    private static void Number(TextWriter w, double? v)
    {
        Span<char> buffer = stackalloc char[40];
        if (v is { } d && Math.Round(d, 4).TryFormat(buffer, out int n, default, CultureInfo.InvariantCulture)) w.Write(buffer[..n]);
    }

    private static void Number(TextWriter w, long? v)
    {
        Span<char> buffer = stackalloc char[24];
        if (v is { } d && d.TryFormat(buffer, out int n, default, CultureInfo.InvariantCulture)) w.Write(buffer[..n]);
    }

    private static void Number(TextWriter w, int? v) => Number(w, (long?)v);
}
