using System.Runtime.InteropServices;
using SpineProd.Scheduler;

namespace SpineProd.Submission;

/// <summary>
/// Final scheduler rows as columns, one array per field (null: -1, NaN or 0 ticks). In settled.bin
/// every column of every job is one block, so a million rows load in eighteen reads into eighteen
/// large arrays: no small object per row, nothing for the garbage collector to copy.
/// </summary>
internal sealed class SettledColumns
{
    internal int[] Index, RawState, ExitCode, Reason, Node, Cpus, Gpus;
    internal byte[] Kind, HasUsage;
    internal long[] Start, End, Peak, RequestedMemory;
    internal short[] StartOffset, EndOffset;
    internal double[] Elapsed, CpuTime, RequestedTime;

    /// <summary>Bytes of one row over all columns (what a file must hold for the rows it claims).</summary>
    internal const int RowBytes = 4 * 7 + 1 * 2 + 8 * 4 + 2 * 2 + 8 * 3;

    internal SettledColumns(int n)
    {
        Index = new int[n]; RawState = new int[n]; ExitCode = new int[n]; Reason = new int[n]; Node = new int[n]; Cpus = new int[n]; Gpus = new int[n];
        Kind = new byte[n]; HasUsage = new byte[n];
        Start = new long[n]; End = new long[n]; Peak = new long[n]; RequestedMemory = new long[n];
        StartOffset = new short[n]; EndOffset = new short[n];
        Elapsed = new double[n]; CpuTime = new double[n]; RequestedTime = new double[n];
    }

    internal void Set(int row, SchedulerTask t, Func<string?, int> id)
    {
        Index[row] = t.ArrayIndex;
        Kind[row] = (byte)t.Kind;
        RawState[row] = id(t.RawState); ExitCode[row] = id(t.ExitCode); Reason[row] = id(t.Reason);
        var u = t.Usage;
        HasUsage[row] = (byte)(u is null ? 0 : 1);
        Node[row] = id(u?.Node);
        (Start[row], StartOffset[row]) = Time(u?.Start);
        (End[row], EndOffset[row]) = Time(u?.End);
        Elapsed[row] = u?.Elapsed?.TotalSeconds ?? double.NaN;
        CpuTime[row] = u?.CpuTime?.TotalSeconds ?? double.NaN;
        RequestedTime[row] = u?.RequestedTime?.TotalSeconds ?? double.NaN;
        Peak[row] = u?.PeakMemoryBytes ?? -1;
        RequestedMemory[row] = u?.RequestedMemoryBytes ?? -1;
        Cpus[row] = u?.Cpus ?? -1;
        Gpus[row] = u?.Gpus ?? -1;
    }

    internal SchedulerTask Task(string jobId, int row, List<string> strings)
    {
        string? S(int id) => id < 0 ? null : strings[id];
        static TimeSpan? Seconds(double v) => double.IsNaN(v) ? null : TimeSpan.FromSeconds(v);
        return new SchedulerTask(jobId, Index[row], S(RawState[row]) ?? "", (TaskStateKind)Kind[row], S(ExitCode[row]), S(Reason[row]))
        {
            Usage = HasUsage[row] == 0 ? null : new TaskUsage
            {
                Start = Time(Start[row], StartOffset[row]),
                End = Time(End[row], EndOffset[row]),
                Elapsed = Seconds(Elapsed[row]),
                CpuTime = Seconds(CpuTime[row]),
                RequestedTime = Seconds(RequestedTime[row]),
                PeakMemoryBytes = Peak[row] < 0 ? null : Peak[row],
                RequestedMemoryBytes = RequestedMemory[row] < 0 ? null : RequestedMemory[row],
                Cpus = Cpus[row] < 0 ? null : Cpus[row],
                Gpus = Gpus[row] < 0 ? null : Gpus[row],
                Node = S(Node[row]),
            },
        };
    }

    private static (long Ticks, short Offset) Time(DateTimeOffset? t) =>
        t is { } v ? (v.UtcTicks, (short)v.Offset.TotalMinutes) : (0, 0);

    internal static DateTimeOffset? Time(long utcTicks, short offsetMinutes) =>
        utcTicks == 0 ? null : new DateTimeOffset(utcTicks + offsetMinutes * TimeSpan.TicksPerMinute, TimeSpan.FromMinutes(offsetMinutes));

    /// <summary>The jobs' names and row counts, then each column of all their rows as one block.</summary>
    internal static void Write(BinaryWriter w, IReadOnlyList<SettledJob> jobs)
    {
        w.Write(jobs.Count);
        foreach (var j in jobs)
        {
            w.Write(j.Scheduler); w.Write(j.JobId); w.Write(j.SubmissionId); w.Write(j.Stage); w.Write(j.Tasks);
            w.Write(j.Count);
        }
        void Column<T>(Func<SettledColumns, T[]> column) where T : struct
        {
            foreach (var j in jobs) w.Write(MemoryMarshal.AsBytes(column(j.Columns).AsSpan(j.Offset, j.Count)));
        }
        Column(c => c.Index); Column(c => c.RawState); Column(c => c.ExitCode); Column(c => c.Reason); Column(c => c.Node); Column(c => c.Cpus); Column(c => c.Gpus);
        Column(c => c.Kind); Column(c => c.HasUsage);
        Column(c => c.Start); Column(c => c.End); Column(c => c.Peak); Column(c => c.RequestedMemory);
        Column(c => c.StartOffset); Column(c => c.EndOffset);
        Column(c => c.Elapsed); Column(c => c.CpuTime); Column(c => c.RequestedTime);
    }

    internal static List<SettledJob> Read(BinaryReader r)
    {
        int count = r.ReadInt32();
        var s = r.BaseStream;
        var heads = new List<(string Scheduler, string JobId, string Submission, string Stage, string Tasks, int Rows)>();
        long total = 0;
        for (int i = 0; i < count; i++)
        {
            var head = (r.ReadString(), r.ReadString(), r.ReadString(), r.ReadString(), r.ReadString(), r.ReadInt32());
            if (head.Item6 < 0) throw new FormatException("a job with fewer than no rows");
            heads.Add(head);
            total += head.Item6;
        }
        // a torn or foreign file must not make us allocate what it claims
        if (total * RowBytes > s.Length - s.Position) throw new FormatException($"{total} rows do not fit in what is left of the file");
        var c = new SettledColumns((int)total);
        void Column<T>(T[] column) where T : struct => s.ReadExactly(MemoryMarshal.AsBytes(column.AsSpan()));
        Column(c.Index); Column(c.RawState); Column(c.ExitCode); Column(c.Reason); Column(c.Node); Column(c.Cpus); Column(c.Gpus);
        Column(c.Kind); Column(c.HasUsage);
        Column(c.Start); Column(c.End); Column(c.Peak); Column(c.RequestedMemory);
        Column(c.StartOffset); Column(c.EndOffset);
        Column(c.Elapsed); Column(c.CpuTime); Column(c.RequestedTime);
        var jobs = new List<SettledJob>(count);
        int offset = 0;
        foreach (var h in heads)
        {
            jobs.Add(new SettledJob(h.Scheduler, h.JobId, h.Submission, h.Stage, h.Tasks, c, offset, h.Rows));
            offset += h.Rows;
        }
        return jobs;
    }
}

/// <summary>One settled job: who it is in the ledger, and where its rows are (sorted by array index) in the columns.</summary>
public sealed class SettledJob
{
    public string Scheduler { get; }
    public string JobId { get; }
    public string SubmissionId { get; }
    public string Stage { get; }
    /// <summary>The ledger's task set of the job (<see cref="ArraySubmission.Tasks"/>).</summary>
    public string Tasks { get; }
    public int Count { get; }
    internal SettledColumns Columns { get; }
    internal int Offset { get; }

    internal SettledJob(string scheduler, string jobId, string submissionId, string stage, string tasks, SettledColumns columns, int offset, int count)
    {
        (Scheduler, JobId, SubmissionId, Stage, Tasks) = (scheduler, jobId, submissionId, stage, tasks);
        (Columns, Offset, Count) = (columns, offset, count);
    }

    /// <summary>The row of the job's array index (-1: none).</summary>
    public int Row(int index)
    {
        var rows = Columns.Index.AsSpan(Offset, Count);
        // Most jobs are one dense range: index i is row i - first.
        if (rows.Length > 0 && index - rows[0] is int r && r >= 0 && r < rows.Length && rows[r] == index) return r;
        int found = rows.BinarySearch(index);
        return found >= 0 ? found : -1;
    }

    internal SchedulerTask Task(int row, List<string> strings) => Columns.Task(JobId, Offset + row, strings);

    // A row's values, read from the columns without building its SchedulerTask (a million rows are
    // summed for usage and charts without a million objects): null where the scheduler gave none.
    public int Index(int row) => Columns.Index[Offset + row];
    public TaskStateKind Kind(int row) => (TaskStateKind)Columns.Kind[Offset + row];
    public bool HasUsage(int row) => Columns.HasUsage[Offset + row] != 0;
    public DateTimeOffset? Start(int row) => SettledColumns.Time(Columns.Start[Offset + row], Columns.StartOffset[Offset + row]);
    public DateTimeOffset? End(int row) => SettledColumns.Time(Columns.End[Offset + row], Columns.EndOffset[Offset + row]);
    public double? ElapsedSeconds(int row) => Number(Columns.Elapsed[Offset + row]);
    public double? CpuSeconds(int row) => Number(Columns.CpuTime[Offset + row]);
    public double? RequestedTimeSeconds(int row) => Number(Columns.RequestedTime[Offset + row]);
    public long? PeakMemoryBytes(int row) => Columns.Peak[Offset + row] is var v and >= 0 ? v : null;
    public long? RequestedMemoryBytes(int row) => Columns.RequestedMemory[Offset + row] is var v and >= 0 ? v : null;
    public int? Cpus(int row) => Columns.Cpus[Offset + row] is var v and >= 0 ? v : null;
    public int? Gpus(int row) => Columns.Gpus[Offset + row] is var v and >= 0 ? v : null;

    private static double? Number(double v) => double.IsNaN(v) ? null : v;

}
