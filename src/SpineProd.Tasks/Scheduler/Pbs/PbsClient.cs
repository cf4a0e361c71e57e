using System.Globalization;
using System.Text.Json;
using SpineProd.Diagnostics;

namespace SpineProd.Scheduler.Pbs;

public sealed record PbsOptions
{
    /// <summary>Folder of the PBS commands (e.g. /opt/pbs/bin); null: found on PATH, as at a site.</summary>
    public string? BinDir { get; init; }
    public string? Qsub { get; init; }
    public string? Qstat { get; init; }
    public string? Qdel { get; init; }
    public string? Qselect { get; init; }
    /// <summary>qsub attempts in all (the first try and the retries after transient errors).</summary>
    public int MaxAttempts { get; init; } = 6;
    public Backoff Backoff { get; init; } = Backoff.Default;
    /// <summary>How long one client command may take before it is killed.</summary>
    public TimeSpan CommandTimeout { get; init; } = TimeSpan.FromSeconds(60);
    /// <summary>Id collisions (<see cref="PbsDialect.IsIdCollision"/>) retried at once, not counted as attempts.</summary>
    public int MaxIdCollisions { get; init; } = 1000;

    internal string Command(string? given, string name) => given ?? (BinDir is null ? name : Path.Combine(BinDir, name));
}

/// <summary>
/// PBS Pro / OpenPBS through its command-line clients (qsub, qstat, qselect, qdel), every call an
/// argument list; the spelling lives in <see cref="PbsDialect"/>. Speaks scheduler-neutral values
/// (<see cref="JobRequest"/>: a task set with a throttle, upstream job ids, a resource request).
/// Submission retries transient server errors with backoff and jitter, and after an answer it could
/// not trust first looks the job up by name and key, so nothing is submitted twice. Status is one
/// qstat call for a whole production, built from the subjobs.
/// </summary>
public sealed class PbsClient
{
    private readonly IProcessRunner _runner;
    private readonly IClock _clock;
    private readonly PbsOptions _options;
    private readonly Action<string>? _log;

    public PbsClient(IProcessRunner? runner = null, IClock? clock = null, PbsOptions? options = null, Action<string>? log = null)
    {
        _runner = runner ?? ProcessRunner.Instance;
        _clock = clock ?? SystemClock.Instance;
        _options = options ?? new PbsOptions();
        _log = log;
    }

    public string Name => "pbs";
    private string Qsub => _options.Command(_options.Qsub, "qsub");
    private string Qstat => _options.Command(_options.Qstat, "qstat");
    private string Qdel => _options.Command(_options.Qdel, "qdel");
    private string Qselect => _options.Command(_options.Qselect, "qselect");

    /// <summary>Count of client commands run, per program name (tests assert on batching).</summary>
    public Dictionary<string, int> Calls { get; } = new();

    private ProcessResult Exec(string program, IReadOnlyList<string> args, string? workingDirectory = null, TimeSpan? timeout = null)
    {
        var name = Path.GetFileName(program);
        Calls[name] = Calls.GetValueOrDefault(name) + 1;
        return _runner.Run(program, args, timeout ?? _options.CommandTimeout, workingDirectory);
    }

    private SpineProdException NotInstalled(string program) =>
        new("SPN3054", $"'{program}' was not found: the PBS client commands are not installed here (or not on PATH). Install them, or use another scheduler.");

    private static string Short(ProcessResult r) => r.TimedOut ? "timed out" : r.Message.Replace('\n', ' ');

    // ------------------------------------------------------------------ submit

    /// <summary>
    /// The qsub calls a request becomes: one per <c>-J</c> range (PBS arrays are one arithmetic range
    /// each), or one plain job when it has no task set. A caller that records intents records one
    /// per part, before <see cref="SubmitPart"/>.
    /// </summary>
    public static IReadOnlyList<PbsRange?> Parts(JobRequest request) =>
        request.Tasks is null ? [null] : PbsDialect.Ranges(request.Tasks).Select(r => (PbsRange?)r).ToList();

    /// <summary>Submits every part of a request, in order; returns as soon as their job ids are known.</summary>
    public IReadOnlyList<SubmittedJob> Submit(JobRequest request)
    {
        var parts = Parts(request);
        var done = new List<SubmittedJob>();
        foreach (var part in parts)
        {
            try { done.Add(SubmitPart(request, part)); }
            catch (SpineProdException e) when (done.Count > 0)
            {
                throw new SpineProdException(e.Code, $"{e.Message} (already submitted for {request.JobName}: {string.Join(", ", done.Select(d => $"{d.JobId} for tasks {d.Tasks}"))})");
            }
        }
        return done;
    }

    public static List<string> BuildQsubArgs(JobRequest request, PbsRange? range)
    {
        if (!PbsDialect.JobNamePattern().IsMatch(request.JobName))
            throw new SpineProdException("SPN3057", $"The job name '{request.JobName}' cannot be given to PBS: use at most 236 letters, digits and _ . + -");
        if (!PbsDialect.KeyPattern().IsMatch(request.Key))
            throw new SpineProdException("SPN3057", $"The submission key '{request.Key}' cannot travel in qsub -v (letters, digits and _ . : + / @ - only)");
        var bad = request.AfterOk.FirstOrDefault(id => !PbsDialect.IsJobId(id));
        if (bad is not null)
            throw new SpineProdException("SPN3058", $"'{bad}' is not a PBS job id (N.server or N[].server), so {request.JobName} cannot wait for it");
        var args = new List<string> { "-N", request.JobName };
        if (range is PbsRange r) args.AddRange(["-J", r.JOption(request.Tasks?.Throttle)]);
        if (request.AfterOk.Count > 0) args.AddRange(["-W", PbsDialect.AfterOk(request.AfterOk)]);
        args.AddRange(["-v", $"{PbsDialect.KeyVariable}={request.Key}"]);
        args.AddRange(PbsDialect.ResourceOptions(request.Resources));
        if (request.ExtraOptions is not null) args.AddRange(request.ExtraOptions);
        args.Add(request.Script);
        return args;
    }

    /// <summary>One qsub (one range of the task set, or the whole job), with retries and reconciliation.</summary>
    public SubmittedJob SubmitPart(JobRequest request, PbsRange? range)
    {
        var args = BuildQsubArgs(request, range);
        var argv = new List<string> { Qsub };
        argv.AddRange(args);
        var tasks = range is PbsRange r ? new ArraySpec(r.Indices, request.Tasks?.Throttle) : null;
        string what = range is PbsRange rr ? $"{request.JobName} (-J {rr.JOption(null)})" : request.JobName;
        bool mustReconcile = false;
        ProcessResult? last = null;
        for (int attempt = 1; attempt <= _options.MaxAttempts; attempt++)
        {
            if (attempt > 1)
            {
                var delay = _options.Backoff.Delay(attempt - 1, _clock);
                _log?.Invoke($"qsub {what}: attempt {attempt - 1} failed ({Short(last!)}); retrying in {delay.TotalSeconds:0.#} s");
                _clock.Sleep(delay);
            }
            if (mustReconcile)
            {
                var (answered, jobId) = FindSubmitted(request.JobName, request.Key, range);
                if (jobId is not null)
                {
                    _log?.Invoke($"qsub {what}: the earlier attempt was accepted after all as job {jobId}; not submitting again");
                    return new SubmittedJob(jobId, tasks, argv, attempt - 1, Reconciled: true);
                }
                if (!answered) { last = new ProcessResult(1, "", "qselect/qstat did not answer, so an earlier attempt cannot be ruled out"); continue; }
                mustReconcile = false;
            }
            var res = Exec(Qsub, args, request.WorkingDirectory);
            for (int c = 0; PbsDialect.IsIdCollision(res) && c < _options.MaxIdCollisions; c++)
                res = Exec(Qsub, args, request.WorkingDirectory);
            last = res;
            if (res.NotFound) throw NotInstalled(Qsub);
            if (res.Succeeded)
            {
                if (!PbsDialect.TryParseJobId(res.Stdout, out var id))
                    throw new SpineProdException("SPN3053", $"qsub accepted {what} but printed no job id ('{res.Stdout.Trim()}'); check the server with qselect -x -N {request.JobName} before submitting again.");
                return new SubmittedJob(id, tasks, argv, attempt, Reconciled: false);
            }
            if (!PbsDialect.IsTransient(res))
                throw new SpineProdException("SPN3050", $"qsub rejected {what}: {Short(res)}");
            mustReconcile |= PbsDialect.IsAmbiguous(res);
        }
        if (mustReconcile)
            throw new SpineProdException("SPN3052",
                $"qsub for {what} got no answer and the server could not be asked whether it accepted the job ({Short(last!)}). Run Submit again when the server answers: it checks first, and submits only if the job is not there.");
        throw new SpineProdException("SPN3051",
            $"qsub could not submit {what} after {_options.MaxAttempts} attempts: {Short(last!)}. Nothing more was submitted; run Submit again when the server answers.");
    }

    /// <summary>
    /// Looks for a job submitted with this name and key (and, for an array, this range), finished
    /// ones included. Returns (whether the server answered, its job id if found).
    /// </summary>
    public (bool Answered, string? JobId) FindSubmitted(string jobName, string key, PbsRange? range = null)
    {
        var sel = Exec(Qselect, ["-x", "-N", jobName]);
        if (sel.NotFound) throw NotInstalled(Qselect);
        if (!sel.Succeeded) return (false, null);
        var candidates = Lines(sel.Stdout).Select(l => l.Trim()).Where(PbsDialect.IsJobId).ToList();
        if (candidates.Count == 0) return (true, null);
        var st = Exec(Qstat, ["-E", "-x", "-f", "-F", "json", .. candidates]);
        List<PbsJobStatus> jobs;
        try { jobs = PbsJobStatus.ParseJson(st.Stdout); }
        catch (JsonException) { return (false, null); }
        if (jobs.Count == 0 && !st.Succeeded) return (false, null);
        var match = jobs.FirstOrDefault(j => j.Key == key && j.JobName == jobName &&
            (range is PbsRange r ? j.IsArrayParent && j.ArrayIndicesSubmitted == r.Submitted : !j.IsArrayParent));
        return (true, match?.Id);
    }

    // ------------------------------------------------------------------ query

    /// <summary>
    /// Every task of the given jobs (array ids <c>N[]</c> or plain ids) in one call:
    /// <c>qstat -E -x -f -F json -t</c>. <c>-E</c> sends all ids in one request, which also avoids
    /// qstat's JSON bug where a second id is silently dropped. Arrays are built from their subjobs
    /// (the parent's Exit_status is whichever subjob ended last); a plain job is task 0 of itself.
    /// </summary>
    public SchedulerSnapshot Query(IReadOnlyCollection<string> jobIds)
    {
        var snap = new SchedulerSnapshot();
        var ids = jobIds.Distinct().ToList();
        if (ids.Count == 0) return snap;
        var r = Exec(Qstat, ["-E", "-x", "-f", "-F", "json", "-t", .. ids]);
        if (r.NotFound) throw NotInstalled(Qstat);
        List<PbsJobStatus> jobs;
        try { jobs = PbsJobStatus.ParseJson(r.Stdout); }
        catch (JsonException e) { throw new SpineProdException("SPN3055", $"qstat printed JSON SpineProd cannot read ({e.Message})"); }
        // Unknown ids (history purged) are reported on stderr and the others still listed; anything
        // else without a single job listed means the server did not answer.
        if (!r.Succeeded && jobs.Count == 0 && !Lines(r.Stderr).All(PbsDialect.IsGone))
            throw new SpineProdException("SPN3055", $"the PBS server did not answer the status query: {Short(r)}");
        snap.Sources.Add("qstat");
        var wanted = new HashSet<string>(ids, StringComparer.Ordinal);
        // A subjob may not repeat its array's name and key: they come from the parent (JobVerification needs both).
        var parents = jobs.Where(j => j.IsArrayParent).ToDictionary(j => j.Id, StringComparer.Ordinal);
        foreach (var j in jobs)
        {
            if (j.IsArrayParent) continue;
            string jobId = j.ArrayId ?? j.Id;
            if (!wanted.Contains(jobId)) continue;
            int index = j.ArrayId is null ? 0 : j.ArrayIndex ?? 0;
            var (kind, reason) = PbsDialect.Classify(j.State, j.Substate, j.ExitStatus, j.Ran, j.HoldTypes);
            string raw = j.Substate is int s ? $"{j.State}({s.ToString(CultureInfo.InvariantCulture)})" : j.State;
            string? exit = j.Ran && j.ExitStatus is int x ? x.ToString(CultureInfo.InvariantCulture) : null;
            var parent = j.ArrayId is null ? null : parents.GetValueOrDefault(j.ArrayId);
            snap.Tasks[(jobId, index)] = new SchedulerTask(jobId, index, raw, kind, exit, reason, j.Id,
                j.JobName ?? parent?.JobName, j.Key ?? parent?.Key ?? "") { Usage = j.Usage };
        }
        return snap;
    }

    // ------------------------------------------------------------------ cancel, limits

    /// <summary>Deletes the given jobs (whole arrays <c>N[]</c>, subjobs <c>N[i]</c>, plain jobs) in one qdel.</summary>
    public void Cancel(IReadOnlyCollection<string> jobIds)
    {
        if (jobIds.Count == 0) return;
        var r = Exec(Qdel, jobIds.Distinct().ToList());
        if (r.NotFound) throw NotInstalled(Qdel);
        if (r.Succeeded) return;
        // qdel goes on past ids it cannot delete; one that has finished or is unknown is already gone
        var real = Lines(r.Stderr).Where(l => !PbsDialect.IsGone(l)).ToList();
        if (r.TimedOut || real.Count > 0 || Lines(r.Stderr).Count() == 0)
            throw new SpineProdException("SPN3056", $"qdel failed: {(r.TimedOut ? "timed out" : string.Join("; ", real.DefaultIfEmpty(r.Message)))}");
    }

    /// <summary>
    /// The server's max_array_size (subjobs per array; PBS's default 10000 when it sets none), or
    /// null when no server answers within <paramref name="timeout"/>.
    /// </summary>
    public int? QueryMaxArraySize(TimeSpan timeout, out string? why)
    {
        var r = Exec(Qstat, ["-B", "-f", "-F", "json"], timeout: timeout);
        if (!r.Succeeded)
        {
            why = r.NotFound ? "no qstat here" : r.TimedOut ? "qstat -B timed out" : Short(r);
            return null;
        }
        try
        {
            var n = ParseMaxArraySize(r.Stdout);
            why = n is null ? $"no max_array_size set: PBS's default {PbsDialect.DefaultMaxArraySize}" : null;
            return n ?? PbsDialect.DefaultMaxArraySize;
        }
        catch (JsonException e)
        {
            why = $"qstat -B printed JSON SpineProd cannot read ({e.Message})";
            return null;
        }
    }

    /// <summary><c>{"Server": {"name": {..., "max_array_size": 1001}}}</c> from <c>qstat -B -f -F json</c>.</summary>
    public static int? ParseMaxArraySize(string json)
    {
        using var doc = JsonDocument.Parse(json);
        if (!doc.RootElement.TryGetProperty("Server", out var servers) || servers.ValueKind != JsonValueKind.Object) return null;
        foreach (var server in servers.EnumerateObject())
            if (server.Value.TryGetProperty("max_array_size", out var v))
            {
                if (v.ValueKind == JsonValueKind.Number && v.TryGetInt32(out int n) && n > 0) return n;
                if (v.ValueKind == JsonValueKind.String && int.TryParse(v.GetString(), NumberStyles.None, CultureInfo.InvariantCulture, out n) && n > 0) return n;
            }
        return null;
    }

    private static IEnumerable<string> Lines(string text) =>
        text.Split('\n').Select(l => l.TrimEnd('\r')).Where(l => l.Trim().Length > 0);
}
