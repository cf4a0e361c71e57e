using System.Globalization;
using SpineProd.Diagnostics;

namespace SpineProd.Scheduler.Slurm;

public sealed record SlurmOptions
{
    public string Sbatch { get; init; } = "sbatch";
    public string Squeue { get; init; } = "squeue";
    public string Sacct { get; init; } = "sacct";
    public string Scancel { get; init; } = "scancel";
    public string Scontrol { get; init; } = "scontrol";
    /// <summary>sbatch attempts in all (the first try and the retries after transient errors).</summary>
    public int MaxAttempts { get; init; } = 6;
    public Backoff Backoff { get; init; } = Backoff.Default;
    /// <summary>How long one client command may take before it is killed (SLURM's own connect timeout is ~10 s).</summary>
    public TimeSpan CommandTimeout { get; init; } = TimeSpan.FromSeconds(60);
}

/// <summary>
/// SLURM through its command-line clients (sbatch, squeue, sacct, scancel, scontrol), every call an
/// argument list. Submission retries transient controller errors with backoff and jitter, and after an
/// answer it could not trust (a timeout) first asks squeue whether the array was accepted after all,
/// so an array is never submitted twice. Status is one squeue and one sacct call for a whole production.
/// The spelling of everything lives in <see cref="SlurmDialect"/>.
/// </summary>
public sealed class SlurmClient : IScheduler
{
    private readonly IProcessRunner _runner;
    private readonly IClock _clock;
    private readonly SlurmOptions _options;
    private readonly Action<string>? _log;

    public SlurmClient(IProcessRunner? runner = null, IClock? clock = null, SlurmOptions? options = null, Action<string>? log = null)
    {
        _runner = runner ?? ProcessRunner.Instance;
        _clock = clock ?? SystemClock.Instance;
        _options = options ?? new SlurmOptions();
        _log = log;
    }

    public ISchedulerDialect Dialect => SlurmDialect.Instance;
    public string Name => "slurm";

    /// <summary>Count of client commands run, per program (tests assert on batching).</summary>
    public Dictionary<string, int> Calls { get; } = new();

    private ProcessResult Exec(string program, IReadOnlyList<string> args, TimeSpan? timeout = null)
    {
        Calls[program] = Calls.GetValueOrDefault(program) + 1;
        return _runner.Run(program, args, timeout ?? _options.CommandTimeout);
    }

    // ------------------------------------------------------------------ submit

    public SubmittedJob Submit(JobRequest request)
    {
        var args = SlurmDialect.SbatchArgs(request);
        var argv = new List<string> { _options.Sbatch };
        argv.AddRange(args);
        bool mustReconcile = false;
        ProcessResult? last = null;
        for (int attempt = 1; attempt <= _options.MaxAttempts; attempt++)
        {
            if (attempt > 1)
            {
                var delay = _options.Backoff.Delay(attempt - 1, _clock);
                _log?.Invoke($"sbatch {request.JobName}: attempt {attempt - 1} failed ({Short(last!)}); retrying in {delay.TotalSeconds:0.#} s");
                _clock.Sleep(delay);
            }
            if (mustReconcile)
            {
                var (answered, jobId) = FindSubmitted(request.JobName, request.Key, request.Tasks);
                if (jobId is not null)
                {
                    _log?.Invoke($"sbatch {request.JobName}: the earlier attempt was accepted after all as job {jobId}; not submitting again");
                    return new SubmittedJob(jobId, request.Tasks, argv, attempt - 1, Reconciled: true);
                }
                if (!answered) { last = new ProcessResult(1, "", "squeue did not answer, so an earlier attempt cannot be ruled out"); continue; }
                mustReconcile = false;
            }
            var r = Exec(_options.Sbatch, args);
            last = r;
            if (r.NotFound)
                throw new SpineProdException("SPN3014", $"'{_options.Sbatch}' was not found: SLURM's client commands are not installed here. Install them, or submit with -p:Scheduler=local.");
            if (r.Succeeded)
            {
                if (SlurmDialect.ParseJobId(r.Stdout) is string id) return new SubmittedJob(id, request.Tasks, argv, attempt, Reconciled: false);
                // Accepted, but the output (a site wrapper's banner?) names no single job id: ask by comment.
                var (answered, found) = FindSubmitted(request.JobName, request.Key, request.Tasks);
                if (found is not null)
                {
                    _log?.Invoke($"sbatch {request.JobName}: its output names no single job id ('{OneLine(r.Stdout)}'); found it by its comment as job {found}");
                    return new SubmittedJob(found, request.Tasks, argv, attempt, Reconciled: true);
                }
                throw new SpineProdException("SPN3011",
                    $"sbatch succeeded for {request.JobName} but its output names no job id ('{OneLine(r.Stdout)}'), and {(answered ? "squeue does not list it by its comment yet" : "squeue did not answer")}. " +
                    "The array may be queued: it is recorded as possibly submitted, and the next Submit or Cancel looks it up by its comment before anything is sent again.");
            }
            if (SlurmDialect.KilledBySignal(r))
            {
                var (answered, found) = FindSubmitted(request.JobName, request.Key, request.Tasks);
                if (found is not null)
                {
                    _log?.Invoke($"sbatch {request.JobName} was interrupted (exit {r.ExitCode}) after the controller accepted it as job {found}");
                    return new SubmittedJob(found, request.Tasks, argv, attempt, Reconciled: true);
                }
                throw new SpineProdException("SPN3030",
                    $"sbatch for {request.JobName} was interrupted by a signal (exit {r.ExitCode}, e.g. Ctrl-C) before it said whether the controller accepted the array{(answered ? "" : ", and squeue did not answer")}. " +
                    "It is recorded as possibly submitted: the next Submit or Cancel looks it up by its comment before anything is sent again.");
            }
            if (!SlurmDialect.IsTransient(r))
                throw new SpineProdException("SPN3003", $"sbatch rejected {request.JobName}: {OneLine(r.Message)}");
            mustReconcile |= SlurmDialect.IsAmbiguous(r);
        }
        if (mustReconcile)
            // An attempt may have been accepted and nobody could check: the caller must keep its
            // intent record, so the next Submit looks the array up before sending it again.
            throw new SpineProdException("SPN3020",
                $"sbatch for {request.JobName} timed out and the controller could not be asked whether it accepted the array ({Short(last!)}). Run Submit again when the cluster answers: it checks first, and submits the array only if it is not there.");
        throw new SpineProdException("SPN3002",
            $"sbatch could not submit {request.JobName} after {_options.MaxAttempts} attempts: {Short(last!)}. Nothing more was submitted; run Submit again when the cluster answers.");
    }

    private static string OneLine(string text)
    {
        var s = string.Join(" | ", Lines(text).Select(l => l.Trim()));
        return s.Length > 300 ? s[..300] + "..." : s;
    }

    /// <summary>Looks for a job with this name and comment (one array takes any task set). Returns (whether squeue answered, its array job id).</summary>
    public (bool Answered, string? JobId) FindSubmitted(string jobName, string comment, ArraySpec? tasks = null)
    {
        var r = Exec(_options.Squeue, ["-h", "-t", "all", "--name=" + jobName, "-o", "%F|%k"]);
        if (!r.Succeeded) return (false, null);
        foreach (var line in Lines(r.Stdout))
        {
            var f = line.Split('|', 2);
            if (f.Length == 2 && f[1].Trim() == comment) return (true, f[0].Trim());
        }
        // squeue forgets finished jobs after MinJobAge (300 s by default); accounting keeps them, with
        // their comment where the site stores it (AccountingStoreFlags=job_comment).
        var sa = Exec(_options.Sacct, ["-X", "-P", "-n", "--name=" + jobName, "-S", "now-7days", "--format=JobID,Comment"]);
        if (sa.Succeeded)
            foreach (var line in Lines(sa.Stdout))
            {
                var f = line.Split('|', 2);
                if (f.Length == 2 && f[1].Trim() == comment) return (true, f[0].Split('_')[0].Trim());
            }
        return (true, null);
    }

    /// <summary>One <c>squeue --me</c> for every pending or running job of the user; array tasks collapse to their array job.</summary>
    public IReadOnlyList<LiveJob>? ListLiveJobs(string keyPrefix)
    {
        var r = Exec(_options.Squeue, ["--me", "-h", "-o", "%F|%j|%k|%Z"]);
        if (r.NotFound) return [];
        if (!r.Succeeded) return null;
        return ParseLiveJobs(r.Stdout, keyPrefix);
    }

    public static List<LiveJob> ParseLiveJobs(string stdout, string commentPrefix)
    {
        var jobs = new Dictionary<string, LiveJob>();
        foreach (var line in Lines(stdout))
        {
            // the working directory is last: it is the only field that may hold a '|'
            var f = line.Split('|', 4);
            if (f.Length < 4 || !f[2].StartsWith(commentPrefix, StringComparison.Ordinal)) continue;
            jobs.TryAdd(f[0].Trim(), new LiveJob(f[0].Trim(), f[1].Trim(), f[2].Trim(), f[3].Trim()));
        }
        return jobs.Values.ToList();
    }

    private static string Short(ProcessResult r) => r.TimedOut ? "timed out" : r.Message.Replace('\n', ' ');

    // ------------------------------------------------------------------ query

    public SchedulerSnapshot Query(IReadOnlyCollection<string> jobIds, DateTimeOffset? submittedAfter = null, IReadOnlyDictionary<string, int>? expectedTasks = null)
    {
        var snap = new SchedulerSnapshot();
        if (jobIds.Count == 0) return snap;
        var distinct = jobIds.Distinct().ToList();
        var ids = string.Join(',', distinct);

        // sacct first: it knows finished jobs for good, with exit codes, and for a production that has
        // finished it is the only call. Absent when accounting is off.
        // Steps included (no -X): their rows carry each task's peak memory. Read as a stream: a
        // million tasks are three million rows.
        var args = new List<string> { "-P", "-n", "-j", ids, "--format=" + SacctRows.Format };
        if (submittedAfter is DateTimeOffset after)
            args.AddRange(["-S", after.ToLocalTime().AddMinutes(-5).ToString("yyyy-MM-ddTHH:mm:ss", CultureInfo.InvariantCulture)]);
        var rows = new SacctRows(expectedTasks?.Values.Sum() ?? 0);
        Calls[_options.Sacct] = Calls.GetValueOrDefault(_options.Sacct) + 1;
        var sa = _runner.RunLines(_options.Sacct, args, _options.CommandTimeout, rows.Add);
        if (sa.Succeeded)
        {
            snap.Sources.Add("sacct");
            snap.Tasks.EnsureCapacity(rows.Count);
            foreach (var t in rows.Tasks()) snap.Tasks[(t.ArrayJobId, t.ArrayIndex)] = t;
        }

        // squeue when accounting is off, or when something is still pending or running (or not in
        // sacct yet): its states are fresher (sacct lags a second or two) and only its reasons say
        // DependencyNeverSatisfied.
        // (sacct also lags on new rows: a task it does not list yet is asked of squeue too)
        var listed = snap.Tasks.Keys.GroupBy(k => k.JobId).ToDictionary(g => g.Key, g => g.Count());
        bool needLive = !sa.Succeeded || snap.Tasks.Values.Any(t => t.IsLive)
            || distinct.Any(id => listed.GetValueOrDefault(id) < Math.Max(1, expectedTasks?.GetValueOrDefault(id) ?? 1));
        if (!needLive) return snap;
        var sq = Exec(_options.Squeue, ["-h", "-r", "-t", "all", "-j", ids, "-o", "%F|%K|%T|%r|%A|%j|%k"]);
        if (sq.NotFound && !sa.Succeeded)
            throw new SpineProdException("SPN3014", $"'{_options.Squeue}' was not found: SLURM's client commands are not installed here.");
        bool squeueOk = sq.Succeeded || sq.Message.Contains("Invalid job id", StringComparison.OrdinalIgnoreCase);
        if (!squeueOk && !sa.Succeeded)
            throw new SpineProdException("SPN3009", $"the cluster did not answer the status query: {Short(sq)}");
        if (sq.Succeeded)
        {
            snap.Sources.Add("squeue");
            foreach (var t in ParseSqueue(sq.Stdout))
            {
                var key = (t.ArrayJobId, t.ArrayIndex);
                // squeue's state and reason win; sacct's exit code stays, but only when both say the
                // same state (a stale RUNNING row's 0:0 is no exit code)
                // (and sacct's usage: what it measured so far)
                snap.Tasks[key] = !snap.Tasks.TryGetValue(key, out var acct) ? t
                    : acct.ExitCode is not null && t.Kind == acct.Kind ? t with { ExitCode = acct.ExitCode, Usage = acct.Usage }
                    : t with { Usage = acct.Usage };
            }
        }
        return snap;
    }

    public static IEnumerable<SchedulerTask> ParseSqueue(string stdout)
    {
        foreach (var line in Lines(stdout))
        {
            var f = line.Split('|');
            if (f.Length < 4) continue;
            // A job that is not an array (a cleanup job) is task 0 of itself, as the local scheduler has it.
            int index = 0;
            if (f[1].Trim() != "N/A" && !int.TryParse(f[1], NumberStyles.None, CultureInfo.InvariantCulture, out index)) continue;
            yield return SlurmDialect.Task(f[0].Trim(), index, f[2].Trim(), null,
                f[3].Trim() is "None" or "" ? null : f[3].Trim(), f.Length > 4 ? f[4].Trim() : null, NameField(f, 5), CommentField(f, 6));
        }
    }

    /// <summary>The job name at field <paramref name="i"/> (null when the row has none).</summary>
    private static string? NameField(string[] f, int i) => f.Length > i ? f[i] : null;

    /// <summary>The comment: the last field, which may itself hold '|' (a foreign job's). "(null)" is how squeue shows none.</summary>
    private static string? CommentField(string[] f, int i)
    {
        if (f.Length <= i) return null;
        var comment = string.Join('|', f[i..]);
        return comment == "(null)" ? "" : comment;
    }

    /// <summary>sacct -P rows in <see cref="SacctRows.Format"/>, steps included; a pending array shows as <c>12_[3-9%2]</c>.</summary>
    public static IEnumerable<SchedulerTask> ParseSacct(string stdout)
    {
        var rows = new SacctRows();
        foreach (var line in Lines(stdout)) rows.Add(line);
        return rows.Tasks();
    }

    // ------------------------------------------------------------------ cancel, limits

    public void Cancel(IReadOnlyCollection<string> ids)
    {
        if (ids.Count == 0) return;
        var r = Exec(_options.Scancel, ids.Distinct().ToList());
        if (r.NotFound)
            throw new SpineProdException("SPN3014", $"'{_options.Scancel}' was not found: SLURM's client commands are not installed here.");
        if (!r.Succeeded)
            throw new SpineProdException("SPN3010", $"scancel failed: {Short(r)}");
    }

    public SchedulerLimits? QueryLimits(TimeSpan timeout, out string? why) =>
        QueryMaxArraySize(timeout, out why) is int n ? new SchedulerLimits(n, "scontrol show config") : null;

    /// <summary>
    /// The cluster's MaxArraySize (value N allows array indices 0..N-1), or null when there is no
    /// scontrol or no controller answering within <paramref name="timeout"/>.
    /// </summary>
    public int? QueryMaxArraySize(TimeSpan timeout, out string? why)
    {
        // `scontrol ping` fails in milliseconds when no controller answers, where `show config`
        // takes ~9 s of retries: ask it first so a build with SLURM installed but down stays fast.
        var ping = Exec(_options.Scontrol, ["ping"], timeout);
        if (!ping.Succeeded || !ping.Stdout.Contains("is UP", StringComparison.Ordinal))
        {
            why = ping.NotFound ? "no scontrol here" : ping.TimedOut ? "scontrol ping timed out" : "no SLURM controller answers (scontrol ping)";
            return null;
        }
        var r = Exec(_options.Scontrol, ["show", "config"], timeout);
        if (!r.Succeeded) { why = r.NotFound ? "no scontrol here" : r.TimedOut ? "scontrol timed out" : r.Message; return null; }
        var n = ParseMaxArraySize(r.Stdout);
        why = n is null ? "no MaxArraySize in scontrol show config" : null;
        return n;
    }

    public static int? ParseMaxArraySize(string showConfig)
    {
        foreach (var line in Lines(showConfig))
        {
            int eq = line.IndexOf('=');
            if (eq < 0 || line[..eq].Trim() != "MaxArraySize") continue;
            return int.TryParse(line[(eq + 1)..].Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out int n) && n > 0 ? n : null;
        }
        return null;
    }

    private static IEnumerable<string> Lines(string text) =>
        text.Split('\n').Select(l => l.TrimEnd('\r')).Where(l => l.Trim().Length > 0);
}
