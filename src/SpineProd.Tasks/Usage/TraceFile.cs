using System.Globalization;
using System.Text;
using SpineProd.IO;
using SpineProd.Scheduler;
using SpineProd.Submission;

namespace SpineProd.Usage;

/// <summary>
/// <c>&lt;state dir&gt;/trace.tsv</c> (<see cref="Layout.ProductionLayout.TraceFile"/>): one row per task attempt, tab-separated with a header, as
/// Nextflow's trace file: what a person greps (<c>grep OUT_OF_MEMORY</c>) or loads into pandas
/// (<c>pd.read_csv("trace.tsv", sep="\t")</c>). Numbers are in base units (seconds, bytes), times
/// ISO 8601 with their offset; an empty cell is a value the scheduler did not give. Streamed (a
/// million rows never sit in memory). The rows of settled jobs (<see cref="SettledState"/>: every task
/// ended, its usage final) come first and are written once, appended as jobs settle, as Nextflow
/// appends a finished task's row; the rows of the other attempts follow and are rewritten by every
/// Status (<see cref="Update"/>).
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
            using var w = Writer(stream);
            w.WriteLine(string.Join('\t', Columns));
            foreach (var a in attempts)
            {
                WriteRow(w, a);
                rows++;
            }
        }, durable: false);
        return rows;
    }

    /// <summary>
    /// Brings the file up to date: when it is the one <paramref name="settled"/> describes, its settled
    /// part is kept, the rows of the jobs settled now (<paramref name="newlySettled"/>) are appended to it
    /// and the other rows written after; otherwise (no file, another file, a shorter one) it is written
    /// whole, atomically. The file is locked while it changes (a second Status at the same time fails
    /// to write it and says so). <paramref name="attempts"/> gives the attempts of the arrays a filter takes.
    /// </summary>
    public static void Update(string path, SettledState settled, IReadOnlySet<string> newlySettled, Func<Func<ArraySubmission, bool>, IEnumerable<TaskAttempt>> attempts)
    {
        bool Unsettled(ArraySubmission a) => a.JobId is null || !settled.HasJob(a.JobId);
        var file = SafeFile.Identify(path);
        if (settled.TraceLength > 0 && file is { } f && f.Inode == settled.TraceInode && f.Size >= settled.TraceLength)
        {
            if (newlySettled.Count == 0 && f.Size == settled.TraceLength && !attempts(Unsettled).Any()) return;
            using var fs = new FileStream(path, FileMode.Open, FileAccess.ReadWrite, FileShare.None, 1 << 16);
            fs.SetLength(settled.TraceLength);
            fs.Position = settled.TraceLength;
            using var w = Writer(fs);
            foreach (var a in attempts(a => a.JobId is not null && newlySettled.Contains(a.JobId))) WriteRow(w, a);
            w.Flush();
            long settledEnd = fs.Position;
            foreach (var a in attempts(Unsettled)) WriteRow(w, a);
            w.Flush();
            if (settledEnd != settled.TraceLength) { settled.TraceLength = settledEnd; settled.MarkChanged(); }
            return;
        }
        long end = 0;
        AtomicFile.Write(path, stream =>
        {
            using var w = Writer(stream);
            w.WriteLine(string.Join('\t', Columns));
            foreach (var a in attempts(a => !Unsettled(a))) WriteRow(w, a);
            w.Flush();
            end = stream.Position;
            foreach (var a in attempts(Unsettled)) WriteRow(w, a);
        }, durable: false);
        settled.TraceLength = end;
        settled.TraceInode = SafeFile.Identify(path)?.Inode ?? 0;
        settled.MarkChanged();
    }

    private static StreamWriter Writer(Stream stream) => new(stream, new UTF8Encoding(false), 1 << 16, leaveOpen: true) { NewLine = "\n" };

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
