using System.Runtime.InteropServices;
using SpineProd.IO;
using SpineProd.Planning;
using SpineProd.Scheduler;

namespace SpineProd.Submission;

/// <summary>
/// What no later Status needs to ask again (<c>&lt;state dir&gt;/settled.bin</c>, <see cref="Layout.ProductionLayout.SettledFile"/>):
/// <list type="bullet">
/// <item>settled jobs: jobs of the ledger whose every task reached a final scheduler state at least
/// <see cref="Grace"/> ago, with the scheduler's final row for each task (state, exit code, usage).
/// They are left out of the scheduler query (sacct is never asked about a finished job twice) and
/// their rows of <c>trace.tsv</c> are written once, then kept (<see cref="TraceLength"/>);</item>
/// <item>settled stages: stages whose every task was complete with a verified marker, under this
/// plan, with their marker folder unchanged since (same inode, modification and change time: a
/// marker added, removed or replaced changes the folder) and no submission of the stage since. Their
/// markers are not stat'ed again.</item>
/// </list>
/// An entry is trusted only while the ledger still records the same job (id, submission, tasks),
/// and only this production writes the file (its state folder). Columns are kept as arrays: a
/// million rows are a few arrays of numbers, loaded in one read each.
/// </summary>
public sealed class SettledState
{
    /// <summary>A job is settled this long after its last task ended: the scheduler's accounting has its last rows by then.</summary>
    public static readonly TimeSpan Grace = TimeSpan.FromMinutes(1);
    private const string Magic = "SPNSETTLED1";

    private readonly Dictionary<string, SettledJob> _jobs = new(StringComparer.Ordinal);
    private readonly Dictionary<string, SettledStage> _stages = new();
    private readonly List<string> _strings = new();
    private readonly Dictionary<string, int> _stringIds = new(StringComparer.Ordinal);

    /// <summary>Bytes of trace.tsv that hold its header and the rows of the settled jobs, and that file's inode.</summary>
    public long TraceLength { get; set; }
    public ulong TraceInode { get; set; }
    public bool Changed { get; private set; }

    public int JobCount => _jobs.Count;
    /// <summary>Keyed by job id alone, as the scheduler snapshot is (one production's ids do not repeat across its schedulers).</summary>
    public bool HasJob(string jobId) => _jobs.ContainsKey(jobId);

    /// <summary>The final row of a settled job's task (built on demand: it is not kept).</summary>
    public SchedulerTask? Find(string jobId, int index) =>
        _jobs.TryGetValue(jobId, out var job) && job.Row(index) is int row and >= 0 ? job.Task(row, _strings) : null;

    /// <summary>Whether the stage is settled under this plan, its marker folder and this ledger.</summary>
    public bool IsSettled(StagePlan stage, string planSha, FileIdentity? markerFolder, int ledgerArrays) =>
        markerFolder is { } f && _stages.TryGetValue(stage.Name, out var s) && s.PlanSha == planSha && s.LedgerArrays == ledgerArrays
        && s.FolderInode == f.Inode && s.FolderMtimeNs == f.MtimeNs && s.FolderCtimeNs == f.CtimeNs;

    /// <summary>Records a stage as settled; a folder changed within the racy window is not (a change in the same tick would go unseen).</summary>
    public void SettleStage(StagePlan stage, string planSha, FileIdentity? markerFolder, int ledgerArrays, DateTimeOffset now)
    {
        if (markerFolder is not { } f) return;
        long nowNs = (now.ToUnixTimeMilliseconds() - (long)MarkerIndex.RacyWindow.TotalMilliseconds) * 1_000_000;
        if (f.MtimeNs >= nowNs || f.CtimeNs >= nowNs) return;
        if (IsSettled(stage, planSha, markerFolder, ledgerArrays)) return;
        _stages[stage.Name] = new SettledStage(planSha, f.Inode, f.MtimeNs, f.CtimeNs, ledgerArrays);
        Changed = true;
    }

    /// <summary>
    /// Settles the ledger's array <paramref name="arr"/> if the snapshot (this Status's query) has a
    /// final row, ended at least <see cref="Grace"/> before <paramref name="now"/>, for each of its tasks.
    /// </summary>
    public bool TrySettle(SubmissionRecord sub, StageSubmission st, ArraySubmission arr, SchedulerSnapshot snapshot, DateTimeOffset now)
    {
        if (arr.JobId is null || arr.State == ArraySubmissionState.NotSubmitted || HasJob(arr.JobId)) return false;
        if (!ArraySpec.TryParse(arr.Tasks, out var tasks) || tasks.Indices.Count == 0) return false;
        var rows = new List<SchedulerTask>(tasks.Indices.Count);
        foreach (var task in tasks.Indices)
        {
            if (!snapshot.Tasks.TryGetValue((arr.JobId, task - arr.FirstTask), out var t)) return false;
            if (t.IsLive || t.Kind == TaskStateKind.Unknown) return false;
            // an end the scheduler reported, long enough ago (a row without one may not be final yet)
            if (t.Usage?.End is not { } end || end > now - Grace) return false;
            rows.Add(t);
        }
        var job = new SettledJob(sub.Scheduler, arr.JobId, sub.Id, st.Stage, arr.Tasks, rows.Count);
        for (int i = 0; i < rows.Count; i++) job.Set(i, rows[i], Id);
        job.Sort();
        _jobs[arr.JobId] = job;
        Changed = true;
        return true;
    }

    /// <summary>Keeps only what the ledger still records exactly as it was settled.</summary>
    private void KeepOnly(Ledger ledger)
    {
        var known = new HashSet<(string, string, string, string, string)>();
        foreach (var (sub, st, arr) in ledger.AllArrays())
            if (arr.JobId is not null) known.Add((sub.Scheduler, arr.JobId, sub.Id, st.Stage, arr.Tasks));
        foreach (var key in _jobs.Keys.ToList())
        {
            var j = _jobs[key];
            if (!known.Contains((j.Scheduler, j.JobId, j.SubmissionId, j.Stage, j.Tasks))) { _jobs.Remove(key); Changed = true; }
        }
    }

    /// <summary>Arrays of the stage the ledger records as sent (a new submission of the stage unsettles it).</summary>
    public static int LedgerArrays(Ledger ledger, string stage) =>
        ledger.AllArrays().Count(x => x.Stage.Stage == stage && x.Array.State != ArraySubmissionState.NotSubmitted);

    private int Id(string? s)
    {
        if (s is null) return -1;
        if (_stringIds.TryGetValue(s, out var id)) return id;
        _strings.Add(s);
        return _stringIds[s] = _strings.Count - 1;
    }

    /// <summary>The settled state of <paramref name="path"/> that <paramref name="ledger"/> still records; empty when there is none or it cannot be read.</summary>
    public static SettledState Load(string path, Ledger ledger)
    {
        var state = new SettledState();
        try
        {
            using var fs = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);
            using var r = new BinaryReader(fs);
            if (r.ReadString() != Magic) return new SettledState();
            state.TraceLength = r.ReadInt64();
            state.TraceInode = r.ReadUInt64();
            int strings = r.ReadInt32();
            for (int i = 0; i < strings; i++) state.Id(r.ReadString());
            int jobs = r.ReadInt32();
            for (int i = 0; i < jobs; i++)
            {
                var job = SettledJob.Read(r);
                state._jobs[job.JobId] = job;
            }
            int stages = r.ReadInt32();
            for (int i = 0; i < stages; i++)
                state._stages[r.ReadString()] = new SettledStage(r.ReadString(), r.ReadUInt64(), r.ReadInt64(), r.ReadInt64(), r.ReadInt32());
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or EndOfStreamException or ArgumentException or FormatException)
        {
            // Missing, unreadable or torn: everything is asked again, and the next Status writes it anew.
            var empty = new SettledState { Changed = File.Exists(path) };
            return empty;
        }
        state.KeepOnly(ledger);
        return state;
    }

    public void Save(string path)
    {
        AtomicFile.Write(path, stream =>
        {
            using var w = new BinaryWriter(stream, System.Text.Encoding.UTF8, leaveOpen: true);
            w.Write(Magic);
            w.Write(TraceLength);
            w.Write(TraceInode);
            w.Write(_strings.Count);
            foreach (var s in _strings) w.Write(s);
            w.Write(_jobs.Count);
            foreach (var job in _jobs.Values) job.Write(w);
            w.Write(_stages.Count);
            foreach (var (name, s) in _stages)
            {
                w.Write(name); w.Write(s.PlanSha); w.Write(s.FolderInode); w.Write(s.FolderMtimeNs); w.Write(s.FolderCtimeNs); w.Write(s.LedgerArrays);
            }
        }, durable: false);
        Changed = false;
    }

    public void MarkChanged() => Changed = true;

    private sealed record SettledStage(string PlanSha, ulong FolderInode, long FolderMtimeNs, long FolderCtimeNs, int LedgerArrays);
}

/// <summary>One settled job's final rows, as columns (null: -1, NaN or 0 ticks).</summary>
public sealed class SettledJob
{
    public string Scheduler { get; }
    public string JobId { get; }
    public string SubmissionId { get; }
    public string Stage { get; }
    /// <summary>The ledger's task set of the job (<see cref="ArraySubmission.Tasks"/>).</summary>
    public string Tasks { get; }

    private int[] _index;
    private byte[] _kind, _hasUsage;
    private int[] _rawState, _exitCode, _reason, _node, _cpus, _gpus;
    private long[] _start, _end, _peak, _requestedMemory;
    private short[] _startOffset, _endOffset;
    private double[] _elapsed, _cpuTime, _requestedTime;

    public int Count => _index.Length;
    /// <summary>Bytes of one row over all columns.</summary>
    private const int RowBytes = 4 + 1 + 1 + 4 * 6 + 8 * 4 + 2 * 2 + 8 * 3;

    internal SettledJob(string scheduler, string jobId, string submissionId, string stage, string tasks, int n)
    {
        (Scheduler, JobId, SubmissionId, Stage, Tasks) = (scheduler, jobId, submissionId, stage, tasks);
        _index = new int[n]; _kind = new byte[n]; _hasUsage = new byte[n];
        _rawState = new int[n]; _exitCode = new int[n]; _reason = new int[n]; _node = new int[n]; _cpus = new int[n]; _gpus = new int[n];
        _start = new long[n]; _end = new long[n]; _peak = new long[n]; _requestedMemory = new long[n];
        _startOffset = new short[n]; _endOffset = new short[n];
        _elapsed = new double[n]; _cpuTime = new double[n]; _requestedTime = new double[n];
    }

    /// <summary>The row of the job's array index (-1: none).</summary>
    public int Row(int index)
    {
        // Most jobs are one dense range: index i is row i - first.
        if (_index.Length > 0 && index - _index[0] is int r && r >= 0 && r < _index.Length && _index[r] == index) return r;
        int found = System.Array.BinarySearch(_index, index);
        return found >= 0 ? found : -1;
    }

    internal void Set(int row, SchedulerTask t, Func<string?, int> id)
    {
        _index[row] = t.ArrayIndex;
        _kind[row] = (byte)t.Kind;
        _rawState[row] = id(t.RawState); _exitCode[row] = id(t.ExitCode); _reason[row] = id(t.Reason);
        var u = t.Usage;
        _hasUsage[row] = (byte)(u is null ? 0 : 1);
        _node[row] = id(u?.Node);
        (_start[row], _startOffset[row]) = Time(u?.Start);
        (_end[row], _endOffset[row]) = Time(u?.End);
        _elapsed[row] = u?.Elapsed?.TotalSeconds ?? double.NaN;
        _cpuTime[row] = u?.CpuTime?.TotalSeconds ?? double.NaN;
        _requestedTime[row] = u?.RequestedTime?.TotalSeconds ?? double.NaN;
        _peak[row] = u?.PeakMemoryBytes ?? -1;
        _requestedMemory[row] = u?.RequestedMemoryBytes ?? -1;
        _cpus[row] = u?.Cpus ?? -1;
        _gpus[row] = u?.Gpus ?? -1;
    }

    /// <summary>Rows in index order (what <see cref="Row"/> searches).</summary>
    internal void Sort()
    {
        var order = Enumerable.Range(0, Count).ToArray();
        System.Array.Sort(_index.ToArray(), order);
        if (order.Select((o, i) => o == i).All(x => x)) return;
        T[] P<T>(T[] a) => order.Select(o => a[o]).ToArray();
        _index = P(_index); _kind = P(_kind); _hasUsage = P(_hasUsage); _rawState = P(_rawState); _exitCode = P(_exitCode);
        _reason = P(_reason); _node = P(_node); _cpus = P(_cpus); _gpus = P(_gpus); _start = P(_start); _end = P(_end);
        _peak = P(_peak); _requestedMemory = P(_requestedMemory); _startOffset = P(_startOffset); _endOffset = P(_endOffset);
        _elapsed = P(_elapsed); _cpuTime = P(_cpuTime); _requestedTime = P(_requestedTime);
    }

    internal SchedulerTask Task(int row, List<string> strings)
    {
        string? S(int id) => id < 0 ? null : strings[id];
        double? D(double v) => double.IsNaN(v) ? null : v;
        return new SchedulerTask(JobId, _index[row], S(_rawState[row]) ?? "", (TaskStateKind)_kind[row], S(_exitCode[row]), S(_reason[row]))
        {
            Usage = _hasUsage[row] == 0 ? null : new TaskUsage
            {
                Start = Time(_start[row], _startOffset[row]),
                End = Time(_end[row], _endOffset[row]),
                Elapsed = D(_elapsed[row]) is { } e ? TimeSpan.FromSeconds(e) : null,
                CpuTime = D(_cpuTime[row]) is { } c ? TimeSpan.FromSeconds(c) : null,
                RequestedTime = D(_requestedTime[row]) is { } rt ? TimeSpan.FromSeconds(rt) : null,
                PeakMemoryBytes = _peak[row] < 0 ? null : _peak[row],
                RequestedMemoryBytes = _requestedMemory[row] < 0 ? null : _requestedMemory[row],
                Cpus = _cpus[row] < 0 ? null : _cpus[row],
                Gpus = _gpus[row] < 0 ? null : _gpus[row],
                Node = S(_node[row]),
            },
        };
    }

    private static (long Ticks, short Offset) Time(DateTimeOffset? t) =>
        t is { } v ? (v.UtcTicks, (short)v.Offset.TotalMinutes) : (0, 0);

    private static DateTimeOffset? Time(long utcTicks, short offsetMinutes) =>
        utcTicks == 0 ? null : new DateTimeOffset(utcTicks, TimeSpan.Zero).ToOffset(TimeSpan.FromMinutes(offsetMinutes));

    internal void Write(BinaryWriter w)
    {
        w.Write(Scheduler); w.Write(JobId); w.Write(SubmissionId); w.Write(Stage); w.Write(Tasks);
        w.Write(Count);
        Column(w, _index); Column(w, _kind); Column(w, _hasUsage); Column(w, _rawState); Column(w, _exitCode); Column(w, _reason);
        Column(w, _node); Column(w, _cpus); Column(w, _gpus); Column(w, _start); Column(w, _end); Column(w, _peak);
        Column(w, _requestedMemory); Column(w, _startOffset); Column(w, _endOffset); Column(w, _elapsed); Column(w, _cpuTime); Column(w, _requestedTime);
    }

    internal static SettledJob Read(BinaryReader r)
    {
        string scheduler = r.ReadString(), jobId = r.ReadString(), submission = r.ReadString(), stage = r.ReadString(), tasks = r.ReadString();
        int n = r.ReadInt32();
        var s = r.BaseStream;
        // a torn or foreign file must not make us allocate what it claims
        if (n < 0 || (long)n * RowBytes > s.Length - s.Position) throw new FormatException($"{n} rows do not fit in what is left of the file");
        var job = new SettledJob(scheduler, jobId, submission, stage, tasks, n);
        Column(s, job._index); Column(s, job._kind); Column(s, job._hasUsage); Column(s, job._rawState); Column(s, job._exitCode); Column(s, job._reason);
        Column(s, job._node); Column(s, job._cpus); Column(s, job._gpus); Column(s, job._start); Column(s, job._end); Column(s, job._peak);
        Column(s, job._requestedMemory); Column(s, job._startOffset); Column(s, job._endOffset); Column(s, job._elapsed); Column(s, job._cpuTime); Column(s, job._requestedTime);
        return job;
    }

    private static void Column<T>(BinaryWriter w, T[] values) where T : struct => w.Write(MemoryMarshal.AsBytes(values.AsSpan()));
    private static void Column<T>(Stream s, T[] values) where T : struct => s.ReadExactly(MemoryMarshal.AsBytes(values.AsSpan()));
}
