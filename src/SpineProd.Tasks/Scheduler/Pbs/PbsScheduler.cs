using System.Globalization;
using System.Text.Json;
using SpineProd.Diagnostics;

namespace SpineProd.Scheduler.Pbs;

/// <summary>How PBS names what the neutral core records: task ids, dependencies, the qsub line, log files.</summary>
public sealed class PbsSchedulerDialect : ISchedulerDialect
{
    public static readonly PbsSchedulerDialect Instance = new();

    public string Name => "pbs";
    public string SubmitCommand => "qsub";
    public string CancelCommand => "qdel";
    public string ScriptExtension => "pbs";
    public string ArrayIndexVariable => PbsDialect.ArrayIndexVariable;

    /// <summary><c>12[].srv</c>, 3 → <c>12[3].srv</c>; a plain job (a cleanup job) is task 0 of itself.</summary>
    public string TaskId(string jobId, int index)
    {
        int open = jobId.IndexOf("[]", StringComparison.Ordinal);
        return open < 0 ? jobId : jobId[..(open + 1)] + index.ToString(CultureInfo.InvariantCulture) + jobId[(open + 1)..];
    }

    /// <summary>
    /// <c>-W depend=</c>'s value without <c>depend=</c>: <c>type:id[:id...]</c> joined by <c>,</c>, the types
    /// of qsub(1B), job ids as qsub prints them (a whole array <c>N[]</c>, never one subjob); <c>on:N</c>.
    /// </summary>
    public DependencyProblem? CheckDependency(string dependency, bool alsoAfterOk) =>
        PbsDialect.DependencyPattern().IsMatch(dependency) ? null
            : new("SPN1024", $"Dependency '{dependency}' is not PBS dependency syntax (e.g. afterok:1234.server or afterok:12[].server:13.server,afterany:14.server; a whole array, never one subjob)");

    public string? DirectivePrefix => "#PBS";
    public (string? Long, string Short) LogOption(bool error) => (null, error ? "-e" : "-o");
    /// <summary>PBS names the files itself (<c>&lt;job id&gt;.OU</c>, <see cref="LogFile"/>): the directive names the folder, logs/.</summary>
    public bool LogDirectiveFindsLogs(string value, string? jobName, bool error) => value.StartsWith(Layout.ProductionLayout.Job.Logs + "/", StringComparison.Ordinal);
    public string LogDirectiveExample(string? jobName, bool error) => $"#PBS {LogOption(error).Short} {Layout.ProductionLayout.Job.Logs}/";

    public string Time(TimeSpan limit) => PbsDialect.Walltime(limit);
    public string Memory(long bytes) => PbsDialect.Size(bytes);

    /// <summary>The <c>depend=</c> value: the user's own clauses and afterok on every upstream job.</summary>
    public string? Dependency(JobRequest request)
    {
        var user = string.IsNullOrWhiteSpace(request.NativeDependency) ? null : request.NativeDependency.Trim();
        if (request.AfterOk.Count == 0) return user is null ? null : "depend=" + user;
        var chain = PbsDialect.AfterOk(request.AfterOk);
        return user is null ? chain : chain + "," + user;
    }

    /// <summary><c>logs/12[3].srv.OU</c> (and <c>.ER</c>): PBS's names under the job template's <c>-o logs/ -e logs/</c>.</summary>
    public string LogFile(string jobName, string jobId, int index, bool error) => Path.Combine(Layout.ProductionLayout.Job.Logs, TaskId(jobId, index) + (error ? ".ER" : ".OU"));

    /// <summary>qsub's argument list for one part (its task set one <c>-J</c> range).</summary>
    public IReadOnlyList<string> CommandLine(JobRequest request) => ["qsub", .. PbsScheduler.QsubArgs(request)];

    /// <summary>
    /// <c>-l walltime</c>, and memory as the whole <c>-l select</c> chunk (CPUs, memory, GPUs): a
    /// command-line select replaces the script's.
    /// </summary>
    public IReadOnlyList<string> RaisedLimitOptions(ResourceRequest raised) => PbsDialect.ResourceOptions(raised with { Account = null, Queue = null });
}

/// <summary>
/// PBS Pro / OpenPBS behind the neutral <see cref="IScheduler"/>: a request is cut into one array
/// per arithmetic range (<see cref="PbsDialect.Ranges"/>), each submitted, looked up and recorded on
/// its own; status is <see cref="PbsClient.Query"/>'s one batched qstat; cancel one qdel.
/// </summary>
public sealed class PbsScheduler : IScheduler
{
    private readonly PbsClient _client;
    private readonly IProcessRunner _runner;
    private readonly PbsOptions _options;

    public PbsScheduler(IProcessRunner? runner = null, IClock? clock = null, PbsOptions? options = null, Action<string>? log = null)
    {
        _runner = runner ?? ProcessRunner.Instance;
        _options = options ?? new PbsOptions();
        _client = new PbsClient(_runner, clock, _options, log);
    }

    public ISchedulerDialect Dialect => PbsSchedulerDialect.Instance;
    public PbsClient Client => _client;

    public IReadOnlyList<JobRequest> Split(JobRequest request) =>
        request.Tasks is null ? [request]
            : PbsDialect.Ranges(request.Tasks).Select(r => request with { Tasks = new ArraySpec(r.Indices, request.Tasks.Throttle) }).ToList();

    private static PbsRange? RangeOf(ArraySpec? tasks) =>
        tasks is null ? null : PbsDialect.Ranges(tasks) is [var only] ? only
            : throw new ArgumentException($"task set {tasks} is more than one PBS range: Split the request first");

    /// <summary>The user's own dependency travels as one <c>-W depend=</c> with the afterok chain (PBS takes one).</summary>
    internal static List<string> QsubArgs(JobRequest request)
    {
        if (string.IsNullOrWhiteSpace(request.NativeDependency)) return PbsClient.BuildQsubArgs(request, RangeOf(request.Tasks));
        var bad = request.AfterOk.FirstOrDefault(id => !PbsDialect.IsJobId(id));
        if (bad is not null)
            throw new SpineProdException("SPN3058", $"'{bad}' is not a PBS job id (N.server or N[].server), so {request.JobName} cannot wait for it");
        var depend = PbsSchedulerDialect.Instance.Dependency(request)!;
        return PbsClient.BuildQsubArgs(request with { AfterOk = [], NativeDependency = null, ExtraOptions = ["-W", depend, .. request.ExtraOptions ?? []] }, RangeOf(request.Tasks));
    }

    public SubmittedJob Submit(JobRequest part)
    {
        if (string.IsNullOrWhiteSpace(part.NativeDependency)) return _client.SubmitPart(part, RangeOf(part.Tasks));
        QsubArgs(part);   // validates the ids before anything is sent
        var depend = PbsSchedulerDialect.Instance.Dependency(part)!;
        return _client.SubmitPart(part with { AfterOk = [], NativeDependency = null, ExtraOptions = ["-W", depend, .. part.ExtraOptions ?? []] }, RangeOf(part.Tasks));
    }

    public SchedulerSnapshot Query(IReadOnlyCollection<string> jobIds, DateTimeOffset? submittedAfter = null, IReadOnlyDictionary<string, int>? expectedTasks = null) =>
        _client.Query(jobIds);

    public void Cancel(IReadOnlyCollection<string> ids) => _client.Cancel(ids);

    public (bool Answered, string? JobId) FindSubmitted(string jobName, string key, ArraySpec? tasks) =>
        _client.FindSubmitted(jobName, key, RangeOf(tasks));

    public SchedulerLimits? QueryLimits(TimeSpan timeout, out string? why) =>
        _client.QueryMaxArraySize(timeout, out why) is int n ? new SchedulerLimits(n, "qstat -B max_array_size") : null;

    /// <summary>
    /// The user's queued, held, running and array jobs (<c>qselect -u</c>, then one <c>qstat -f -F json</c>),
    /// those whose submission key starts with <paramref name="keyPrefix"/>; their folder is PBS_O_WORKDIR.
    /// </summary>
    public IReadOnlyList<LiveJob>? ListLiveJobs(string keyPrefix)
    {
        var sel = _runner.Run(_options.Command(_options.Qselect, "qselect"), ["-u", Environment.UserName, "-s", "QHWTRBSE"], _options.CommandTimeout);
        if (sel.NotFound) return [];
        if (!sel.Succeeded) return null;
        var ids = sel.Stdout.Split('\n').Select(l => l.Trim()).Where(PbsDialect.IsJobId).ToList();
        if (ids.Count == 0) return [];
        var st = _runner.Run(_options.Command(_options.Qstat, "qstat"), ["-E", "-f", "-F", "json", .. ids], _options.CommandTimeout);
        if (!st.Succeeded && st.Stdout.Trim().Length == 0) return null;
        try { return ParseLiveJobs(st.Stdout, keyPrefix); }
        catch (JsonException) { return null; }
    }

    public static List<LiveJob> ParseLiveJobs(string json, string keyPrefix)
    {
        var jobs = new List<LiveJob>();
        using var doc = JsonDocument.Parse(json);
        if (!doc.RootElement.TryGetProperty("Jobs", out var all) || all.ValueKind != JsonValueKind.Object) return jobs;
        foreach (var job in all.EnumerateObject())
        {
            if (!job.Value.TryGetProperty("Variable_List", out var vars) || vars.ValueKind != JsonValueKind.Object) continue;
            string? Var(string name) => vars.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;
            var key = Var(PbsDialect.KeyVariable);
            if (key is null || !key.StartsWith(keyPrefix, StringComparison.Ordinal)) continue;
            var name = job.Value.TryGetProperty("Job_Name", out var n) && n.ValueKind == JsonValueKind.String ? n.GetString() ?? "" : "";
            jobs.Add(new LiveJob(job.Name, name, key, Var("PBS_O_WORKDIR") ?? ""));
        }
        return jobs;
    }
}
