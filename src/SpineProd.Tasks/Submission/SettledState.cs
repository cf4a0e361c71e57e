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
/// million rows are a few arrays of numbers, loaded in one read each (<see cref="SettledColumns"/>).
/// </summary>
public sealed class SettledState
{
    /// <summary>A job is settled this long after its last task ended: the scheduler's accounting has its last rows by then.</summary>
    public static readonly TimeSpan Grace = TimeSpan.FromMinutes(1);
    private const string Magic = "SPNSETTLED2";

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
    public SettledJob? Job(string jobId) => _jobs.GetValueOrDefault(jobId);

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
        rows.Sort((x, y) => x.ArrayIndex.CompareTo(y.ArrayIndex));
        var columns = new SettledColumns(rows.Count);
        for (int i = 0; i < rows.Count; i++) columns.Set(i, rows[i], Id);
        _jobs[arr.JobId] = new SettledJob(sub.Scheduler, arr.JobId, sub.Id, st.Stage, arr.Tasks, columns, 0, rows.Count);
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
            foreach (var job in SettledColumns.Read(r)) state._jobs[job.JobId] = job;
            int stages = r.ReadInt32();
            for (int i = 0; i < stages; i++)
                state._stages[r.ReadString()] = new SettledStage(r.ReadString(), r.ReadUInt64(), r.ReadInt64(), r.ReadInt64(), r.ReadInt32());
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or EndOfStreamException or ArgumentException or FormatException)
        {
            // Missing, unreadable or torn: everything is asked again, and the next Status writes it anew.
            return new SettledState { Changed = File.Exists(path) };
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
            SettledColumns.Write(w, _jobs.Values.ToList());
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
