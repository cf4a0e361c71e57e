using System.Globalization;
using System.Text.RegularExpressions;

namespace SpineProd.Scheduler.Pbs;

/// <summary>One <c>qsub -J</c> range: <c>First-Last:Step</c>, the only array form PBS accepts.</summary>
public readonly record struct PbsRange(int First, int Last, int Step)
{
    public int Count => (Last - First) / Step + 1;
    public IEnumerable<int> Indices
    {
        get { for (long i = First; i <= Last; i += Step) yield return (int)i; }
    }

    /// <summary>
    /// The <c>-J</c> value. PBS wants X-Y with X &lt; Y, so one index is written <c>i-(i+1):2</c> (a
    /// one-element array): the task still sees PBS_ARRAY_INDEX and has a <c>N[i]</c> id like any other.
    /// </summary>
    public string JOption(int? throttle)
    {
        string spec = Count == 1
            ? $"{First}-{(long)First + 1}:2"
            : Step == 1 ? $"{First}-{Last}" : $"{First}-{Last}:{Step}";
        return throttle is int t && t < Count ? $"{spec}%{t}" : spec;
    }

    /// <summary>What the server reports as <c>array_indices_submitted</c> for this range.</summary>
    public string Submitted => Count == 1 ? JOption(null) : Step == 1 ? $"{First}-{Last}" : $"{First}-{Last}:{Step}";
}

/// <summary>
/// How PBS Pro / OpenPBS spells what SpineProd asks for: array ranges, resources, dependencies, job
/// ids, and what its states, exit codes and error messages mean. Pure functions; the client
/// (<see cref="PbsClient"/>) runs the commands. Facts from OpenPBS 23.06 (shared/research/pbs.md).
/// </summary>
public static partial class PbsDialect
{
    /// <summary>The variable a task reads its index from.</summary>
    public const string ArrayIndexVariable = "PBS_ARRAY_INDEX";
    /// <summary>
    /// How a submission is recognised again after a lost qsub reply. PBS has no free-text job
    /// attribute a user can set (its <c>comment</c> belongs to the scheduler, which overwrites it), so
    /// the key travels as an exported variable (<c>-v</c>): every site allows it, no admin has to
    /// create a custom resource, it does not touch accounting (<c>-A</c>, <c>-P</c>), and the server
    /// keeps it in <c>Variable_List</c>, history included.
    /// </summary>
    public const string KeyVariable = "SPINEPROD_SUBMIT_KEY";
    /// <summary>PBS_MAX_ARRAY_JOB_DFL: the subjobs per array when the server sets no max_array_size.</summary>
    public const int DefaultMaxArraySize = 10000;

    // ---------------------------------------------------------------- task sets

    /// <summary>
    /// The fewest-greedy <c>-J</c> ranges for a task set: PBS arrays are one arithmetic range each,
    /// so <c>0-9</c> is one array but <c>1,4,5,6,9</c> (a resubmission of failed tasks) is three.
    /// </summary>
    public static IReadOnlyList<PbsRange> Ranges(ArraySpec tasks)
    {
        var s = tasks.Indices;
        var ranges = new List<PbsRange>();
        for (int i = 0; i < s.Count;)
        {
            if (i + 1 == s.Count) { ranges.Add(new PbsRange(s[i], s[i], 1)); break; }
            long step = (long)s[i + 1] - s[i];
            int j = i + 1;
            while (j + 1 < s.Count && (long)s[j + 1] - s[j] == step) j++;
            // (two indices with any gap are one array: one qsub is cheaper than two)
            ranges.Add(new PbsRange(s[i], s[j], (int)step));
            i = j + 1;
        }
        return ranges;
    }

    // ---------------------------------------------------------------- resources

    /// <summary><c>HH:MM:SS</c>, hours past 24 allowed, rounded up to a whole second.</summary>
    public static string Walltime(TimeSpan t) => ResourceValues.Hms(t);

    /// <summary>A PBS size (<c>4gb</c>, <c>1536mb</c>): the largest unit that is exact, else kb rounded up.</summary>
    public static string Size(long bytes)
    {
        if (bytes < 1) bytes = 1;
        foreach (var (unit, factor) in new[] { ("tb", 1L << 40), ("gb", 1L << 30), ("mb", 1L << 20) })
            if (bytes % factor == 0) return (bytes / factor).ToString(CultureInfo.InvariantCulture) + unit;
        return ((bytes + 1023) / 1024).ToString(CultureInfo.InvariantCulture) + "kb";
    }

    /// <summary>qsub options for a resource request (they override the script's #PBS lines).</summary>
    public static List<string> ResourceOptions(ResourceRequest? r)
    {
        var o = new List<string>();
        if (r is null) return o;
        if (r.Account is { Length: > 0 } a) o.AddRange(["-A", a]);
        if (r.Queue is { Length: > 0 } q) o.AddRange(["-q", q]);
        if (r.Walltime is TimeSpan t) o.AddRange(["-l", "walltime=" + Walltime(t)]);
        if (r.Cpus is not null || r.MemoryBytes is not null || r.Gpus is > 0)
        {
            var select = "select=1:ncpus=" + (r.Cpus ?? 1).ToString(CultureInfo.InvariantCulture);
            if (r.MemoryBytes is long m) select += ":mem=" + Size(m);
            if (r.Gpus is > 0 and int g) select += ":ngpus=" + g.ToString(CultureInfo.InvariantCulture);
            o.AddRange(["-l", select]);
        }
        return o;
    }

    /// <summary>A user's <c>depend=</c> clauses (qsub(1B) -W depend): job ids with an optional server (<c>@server</c> too).</summary>
    [GeneratedRegex(@"^(((after|afterok|afternotok|afterany|before|beforeok|beforenotok|beforeany|runone)(:\d+(\[\])?(\.[A-Za-z0-9][A-Za-z0-9._-]*)?(@[A-Za-z0-9][A-Za-z0-9._-]*)?)+)|on:\d+)(,(((after|afterok|afternotok|afterany|before|beforeok|beforenotok|beforeany|runone)(:\d+(\[\])?(\.[A-Za-z0-9][A-Za-z0-9._-]*)?(@[A-Za-z0-9][A-Za-z0-9._-]*)?)+)|on:\d+))*$")]
    public static partial Regex DependencyPattern();

    /// <summary><c>depend=afterok:1[].srv:2.srv</c>; an array's id (<c>N[]</c>) waits for all its subjobs.</summary>
    public static string AfterOk(IEnumerable<string> jobIds) => "depend=afterok:" + string.Join(':', jobIds);

    // ---------------------------------------------------------------- ids and keys

    /// <summary><c>7.vm</c> or <c>6[].vm</c>: sequence number, optional <c>[]</c>, server name.</summary>
    [GeneratedRegex(@"^\d+(\[\])?\.[A-Za-z0-9][A-Za-z0-9._-]*$")]
    private static partial Regex JobIdPattern();

    /// <summary>qsub prints the id alone on stdout; anything else is not an id SpineProd can trust.</summary>
    public static bool TryParseJobId(string stdout, out string id)
    {
        id = stdout.Trim().Split('\n')[0].Trim();
        return JobIdPattern().IsMatch(id);
    }

    public static bool IsJobId(string id) => JobIdPattern().IsMatch(id);

    /// <summary><c>6[2].vm</c> → (<c>6[].vm</c>, 2); null for a parent or a plain job.</summary>
    public static (string ArrayId, int Index)? SplitSubjobId(string id)
    {
        int open = id.IndexOf('['), close = id.IndexOf(']');
        if (open < 0 || close <= open + 1) return null;
        if (!int.TryParse(id.AsSpan(open + 1, close - open - 1), NumberStyles.None, CultureInfo.InvariantCulture, out int index)) return null;
        return (id[..(open + 1)] + id[close..], index);
    }

    /// <summary>A key travels in <c>-v NAME=value</c>, where commas separate variables and quotes break qsub.</summary>
    [GeneratedRegex(@"^[A-Za-z0-9_.:+/@-]{1,200}$")]
    public static partial Regex KeyPattern();

    /// <summary>PBS job names: up to 236 characters, no white space or the characters qsub rejects.</summary>
    [GeneratedRegex(@"^[A-Za-z0-9_.+-]{1,236}$")]
    public static partial Regex JobNamePattern();

    // ---------------------------------------------------------------- errors

    /// <summary>Worth another try: the server was down, busy, or a queued-jobs limit was hit.</summary>
    public static bool IsTransient(ProcessResult r)
    {
        if (r.TimedOut) return true;
        var m = r.Message;
        return Has(m, "cannot connect to server") || Has(m, "Connection refused") || Has(m, "pbs_iff")
            || Has(m, "Unable to authenticate") || Has(m, "No free connections") || Has(m, "Resource temporarily unavailable")
            || Has(m, "System error") || Has(m, "Batch protocol error") || Has(m, "Server shutdown")
            || Has(m, "Server shutting down") || Has(m, "end of file")
            // max_queued / queued_jobs_threshold limits: room comes back as jobs finish
            || Has(m, "Maximum number of jobs") || Has(m, "would exceed")
            || IsIdCollision(r);
    }

    /// <summary>
    /// PBSE_JOBEXIST: the server's id counter ran into an id its history still holds (after the
    /// 9999999 wrap, or a counter that went back at a restart, as seen on the test server). The
    /// rejected qsub used that number up, so sending again at once gets the next one.
    /// </summary>
    public static bool IsIdCollision(ProcessResult r) => !r.TimedOut && Has(r.Message, "Job with requested ID already exists");

    /// <summary>Errors after which the job may exist although qsub printed no id (the reply was lost).</summary>
    public static bool IsAmbiguous(ProcessResult r) =>
        r.TimedOut || Has(r.Message, "Batch protocol error") || Has(r.Message, "end of file");

    /// <summary>qdel/qstat lines that mean "already gone": nothing left to cancel.</summary>
    public static bool IsGone(string line) =>
        Has(line, "Unknown Job Id") || Has(line, "Job has finished") || Has(line, "Request invalid for state of job");

    private static bool Has(string text, string what) => text.Contains(what, StringComparison.OrdinalIgnoreCase);

    // ---------------------------------------------------------------- states

    /// <summary>MOM's exit codes for a job it killed over a limit (job.h JOB_EXEC_KILL_*).</summary>
    public const int ExitWalltime = -29, ExitCput = -28, ExitMem = -27, ExitVmem = -26;
    /// <summary>Substates that say more than the state letter (server's job.h).</summary>
    public const int SubstateDependencyHold = 22, SubstateTerminated = 91, SubstateFinished = 92, SubstateFailed = 93;

    /// <summary>
    /// The neutral state of one job or subjob. <paramref name="ran"/>: it has an exec_host or a
    /// run_count (a subjob that never ran inherits its parent's Exit_status, so it is not trusted).
    /// </summary>
    public static (TaskStateKind Kind, string? Reason) Classify(string state, int? substate, int? exitStatus, bool ran, string? holdTypes = null)
    {
        switch (state.Trim().ToUpperInvariant())
        {
            case "Q" or "W" or "T" or "M":
                return (TaskStateKind.Pending, null);
            case "H":
                return (TaskStateKind.Pending, substate == SubstateDependencyHold || (holdTypes ?? "").Contains('s') ? "Dependency" : "JobHeldUser");
            case "R" or "E" or "S" or "U" or "B":
                return (TaskStateKind.Running, null);
            case "F" or "X":
                break;
            default:
                return (TaskStateKind.Unknown, null);
        }
        if (substate == SubstateTerminated) return (TaskStateKind.Cancelled, null);
        if (!ran)
            // Deleted before it ran: by PBS because an afterok job failed (substate 92, no exit
            // status), or by qdel; either way it never ran.
            return substate == SubstateFinished && exitStatus is null
                ? (TaskStateKind.Cancelled, "DependencyNeverSatisfied")
                : (TaskStateKind.Cancelled, null);
        return exitStatus switch
        {
            ExitWalltime or ExitCput => (TaskStateKind.Timeout, null),
            ExitMem or ExitVmem => (TaskStateKind.OutOfMemory, null),
            0 => (TaskStateKind.Completed, null),
            > 256 => (TaskStateKind.Failed, $"killed by signal {exitStatus - 256}"),
            < 0 => (TaskStateKind.Failed, $"PBS could not run it (Exit_status {exitStatus})"),
            null => (TaskStateKind.Failed, "no exit status"),
            _ => (TaskStateKind.Failed, null),
        };
    }
}
