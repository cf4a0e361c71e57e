using System.Globalization;
using System.Text.RegularExpressions;

namespace SpineProd.Scheduler.Slurm;

/// <summary>
/// How SLURM spells what SpineProd asks for: sbatch options, the array specification and its
/// throttle, job and task ids (<c>12</c>, <c>12_3</c>), dependencies (<c>afterok:1:2</c>), time and
/// memory values, what its states and errors mean. Pure functions; <see cref="SlurmClient"/> runs
/// the commands.
/// </summary>
public sealed partial class SlurmDialect : ISchedulerDialect
{
    public static readonly SlurmDialect Instance = new();

    public string Name => "slurm";
    public string SubmitCommand => "sbatch";
    public string CancelCommand => "scancel";
    public string ScriptExtension => "sbatch";
    public string ArrayIndexVariable => "SLURM_ARRAY_TASK_ID";

    /// <summary><c>12_3</c>: how squeue, sacct and scancel name one task of array 12.</summary>
    public string TaskId(string jobId, int index) => $"{jobId}_{index.ToString(CultureInfo.InvariantCulture)}";

    /// <summary><c>logs/&lt;job name&gt;_%A_%a.out</c> (and <c>.err</c>), as the job template's #SBATCH --output/--error say.</summary>
    public string LogFile(string jobName, string jobId, int index, bool error) =>
        Layout.ProductionLayout.Job.TaskLog("", jobName, jobId, index, error ? "err" : "out");

    public string? DirectivePrefix => "#SBATCH";
    public (string? Long, string Short) LogOption(bool error) => error ? ("--error", "-e") : ("--output", "-o");

    /// <summary>An array's task logs exactly as <see cref="LogFile"/> names them (<c>%x</c> is the job name); a cleanup job's anywhere in logs/.</summary>
    public bool LogDirectiveFindsLogs(string value, string? jobName, bool error) =>
        jobName is null ? value.StartsWith(Layout.ProductionLayout.Job.Logs + "/", StringComparison.Ordinal)
            : value.Replace("%x", jobName, StringComparison.Ordinal) == Layout.ProductionLayout.Job.SlurmTaskLog(jobName, error ? "err" : "out");

    public string LogDirectiveExample(string? jobName, bool error) =>
        $"#SBATCH {LogOption(error).Long}={(jobName is null ? Layout.ProductionLayout.Job.Logs + "/<name>" : Layout.ProductionLayout.Job.SlurmTaskLog(jobName, error ? "err" : "out"))}";

    string? ISchedulerDialect.Dependency(JobRequest request) => Dependency(request);
    IReadOnlyList<string> ISchedulerDialect.CommandLine(JobRequest request) => ["sbatch", .. SbatchArgs(request)];

    // ---------------------------------------------------------------- directives

    /// <summary>
    /// The <c>--dependency</c> value: the user's own clauses (the stage's Dependency) and afterok on
    /// every upstream job, all of which must hold (<c>,</c>). Null when there is nothing to wait for.
    /// </summary>
    public static string? Dependency(JobRequest request)
    {
        var user = string.IsNullOrWhiteSpace(request.NativeDependency) ? null : request.NativeDependency.Trim();
        if (request.AfterOk.Count == 0) return user;
        var chain = "afterok:" + string.Join(':', request.AfterOk);
        return user is null ? chain : user + "," + chain;
    }

    /// <summary>
    /// sbatch's arguments for a request. The resources are not repeated here: the job script's own
    /// #SBATCH lines carry them (a resubmission with a raised limit writes a new script), and the
    /// argument list stays what a person would type.
    /// </summary>
    public static List<string> SbatchArgs(JobRequest request)
    {
        var args = new List<string> { "--parsable", "--chdir=" + request.WorkingDirectory, "--job-name=" + request.JobName };
        if (request.Tasks is not null) args.Add("--array=" + request.Tasks);
        if (Dependency(request) is string dependency) args.Add("--dependency=" + dependency);
        args.Add("--comment=" + request.Key);
        if (request.ExtraOptions is not null) args.AddRange(request.ExtraOptions);
        args.Add(request.Script);
        return args;
    }

    /// <summary>
    /// sbatch options that win over the script's #SBATCH lines: <c>--time</c> rounded up to a whole
    /// minute (SLURM's granularity; under a minute as it is), <c>--mem-per-cpu</c> in whole MB.
    /// </summary>
    public IReadOnlyList<string> RaisedLimitOptions(ResourceRequest raised)
    {
        var o = new List<string>();
        if (raised.Walltime is TimeSpan t)
        {
            long s = (long)Math.Ceiling(t.TotalSeconds);
            if (s >= 60) s = (s + 59) / 60 * 60;
            o.Add("--time=" + Time(TimeSpan.FromSeconds(s)));
        }
        if (raised.MemoryBytes is long m)
        {
            long perCpu = m / Math.Max(1, raised.Cpus ?? 1);
            o.Add("--mem-per-cpu=" + ((perCpu + (1 << 20) - 1) >> 20).ToString(CultureInfo.InvariantCulture) + "M");
        }
        return o;
    }

    DependencyProblem? ISchedulerDialect.CheckDependency(string dependency, bool alsoAfterOk) => CheckDependency(dependency, alsoAfterOk);

    /// <summary>SLURM's <c>--dependency</c> syntax; an either-or (<c>?</c>) cannot take the afterok Submit adds (SLURM allows one separator).</summary>
    public static DependencyProblem? CheckDependency(string dependency, bool alsoAfterOk)
    {
        if (!DependencyPattern().IsMatch(dependency))
            return new("SPN1024", $"Dependency '{dependency}' is not SLURM dependency syntax (e.g. afterok:12345 or afterok:1:2,afterany:3)");
        if (alsoAfterOk && dependency.Contains('?'))
            return new("SPN4009", $"Dependency '{dependency}' is an either-or (?) dependency, which SLURM cannot combine with the afterok on the stage's upstream stages; use ',' (all of)");
        return null;
    }

    /// <summary>after|afterany|afterburstbuffer|aftercorr|afternotok|afterok:&lt;id&gt;[_&lt;task&gt;][+&lt;min&gt;](:...)* | singleton, joined by , or ?</summary>
    [GeneratedRegex(@"^((after|afterany|afterburstbuffer|aftercorr|afternotok|afterok)(:\d+(_\d+)?(\+\d+)?)+|singleton)([,?]((after|afterany|afterburstbuffer|aftercorr|afternotok|afterok)(:\d+(_\d+)?(\+\d+)?)+|singleton))*$")]
    public static partial Regex DependencyPattern();

    // ---------------------------------------------------------------- values

    string ISchedulerDialect.Time(TimeSpan limit) => Time(limit);
    string ISchedulerDialect.Memory(long bytes) => Memory(bytes);

    /// <summary>SLURM's <c>--time</c>: <c>H:MM:SS</c>, or <c>D-HH:MM:SS</c> from a day on; rounded up to a whole second.</summary>
    public static string Time(TimeSpan t)
    {
        long s = Math.Max(1, (long)Math.Ceiling(t.TotalSeconds));
        long days = s / 86400, h = s / 3600 % 24, m = s / 60 % 60, sec = s % 60;
        var c = CultureInfo.InvariantCulture;
        return days > 0 ? string.Create(c, $"{days}-{h:00}:{m:00}:{sec:00}") : string.Create(c, $"{h}:{m:00}:{sec:00}");
    }

    /// <summary>SLURM's size (<c>--mem-per-cpu</c>, <c>--mem</c>): the largest of T, G, M that divides it; whole MB at least (rounded up).</summary>
    public static string Memory(long bytes)
    {
        foreach (var (unit, shift) in new[] { ("T", 40), ("G", 30), ("M", 20) })
            if (bytes % (1L << shift) == 0) return $"{bytes >> shift}{unit}";
        return $"{(bytes + (1L << 20) - 1) >> 20}M";
    }

    /// <summary>SLURM time formats: M, M:S, H:M:S, D-H, D-H:M, D-H:M:S; 0/UNLIMITED = none.</summary>
    public static TimeSpan? ParseTime(string value)
    {
        value = value.Trim();
        if (value is "" or "0" or "UNLIMITED" or "INFINITE") return null;
        int days = 0;
        int dash = value.IndexOf('-');
        if (dash >= 0) { days = int.Parse(value[..dash], CultureInfo.InvariantCulture); value = value[(dash + 1)..]; }
        var p = value.Split(':').Select(x => int.Parse(x, CultureInfo.InvariantCulture)).ToArray();
        TimeSpan t = dash >= 0
            ? p.Length switch { 1 => TimeSpan.FromHours(p[0]), 2 => new TimeSpan(p[0], p[1], 0), _ => new TimeSpan(p[0], p[1], p[2]) }
            : p.Length switch { 1 => TimeSpan.FromMinutes(p[0]), 2 => new TimeSpan(0, p[0], p[1]), _ => new TimeSpan(p[0], p[1], p[2]) };
        return t + TimeSpan.FromDays(days);
    }

    /// <summary>
    /// The job id in sbatch's output: <c>--parsable</c> prints <c>&lt;id&gt;</c> or <c>&lt;id&gt;;&lt;cluster&gt;</c>, plain
    /// sbatch <c>Submitted batch job &lt;id&gt;</c>. Site wrappers add banners and notices around it, so
    /// every line is read; null unless exactly one job id is found (two candidates: no guess).
    /// </summary>
    public static string? ParseJobId(string stdout)
    {
        var ids = new HashSet<string>();
        foreach (var raw in Lines(stdout))
        {
            var line = raw.Trim();
            var parts = line.Split(';');
            if (parts.Length <= 2 && IsJobId(parts[0]) && (parts.Length == 1 || IsWord(parts[1])))
                ids.Add(parts[0]);
            else if (line.StartsWith("Submitted batch job ", StringComparison.Ordinal)
                     && line["Submitted batch job ".Length..].Split(' ')[0] is var id && IsJobId(id))
                ids.Add(id);
        }
        return ids.Count == 1 ? ids.First() : null;

        static bool IsWord(string s) => s.Length > 0 && s.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.');
    }

    /// <summary>A SLURM job id: digits only.</summary>
    public static bool IsJobId(string s) => s.Length is > 0 and < 20 && s.All(char.IsAsciiDigit);

    // ---------------------------------------------------------------- errors

    /// <summary>
    /// Errors worth another try: the controller was busy or unreachable, or a limit on how many jobs
    /// may be queued was hit (it frees up as jobs end). A limit the job itself breaks (QOS MaxWall
    /// with DenyOnLimit, too many CPUs, an unknown account or partition) is not: trying again only
    /// delays the same answer. SLURM names the limit on its own line before "Job violates
    /// accounting/QOS policy" (QOSMaxWallDurationPerJobLimit, QOSMaxSubmitJobPerUserLimit, ...).
    /// </summary>
    public static bool IsTransient(ProcessResult r)
    {
        if (r.TimedOut) return true;
        var m = r.Message;
        return m.Contains("Socket timed out", StringComparison.OrdinalIgnoreCase)
            || m.Contains("Unable to contact slurm controller", StringComparison.OrdinalIgnoreCase)
            || m.Contains("Zero Bytes were transmitted or received", StringComparison.OrdinalIgnoreCase)
            || m.Contains("Resource temporarily unavailable", StringComparison.OrdinalIgnoreCase)
            || m.Contains("Slurm temporarily unable to accept job", StringComparison.OrdinalIgnoreCase)
            // QOSMaxSubmitJobPerUserLimit, AssocMaxSubmitJobLimit, QOSGrpSubmitJobsLimit, MaxSubmitJobs...
            || m.Contains("SubmitJob", StringComparison.OrdinalIgnoreCase);
    }

    /// <summary>
    /// Errors after which the array may have been accepted although sbatch did not say so
    /// (the reply was lost): the next attempt must first look for it.
    /// </summary>
    public static bool IsAmbiguous(ProcessResult r) =>
        r.TimedOut
        || r.Message.Contains("Socket timed out", StringComparison.OrdinalIgnoreCase)
        || r.Message.Contains("Zero Bytes were transmitted or received", StringComparison.OrdinalIgnoreCase);

    /// <summary>sbatch ended by a signal (Ctrl-C reaches the whole foreground process group): it may have been accepted.</summary>
    public static bool KilledBySignal(ProcessResult r) => !r.TimedOut && !r.NotFound && r.ExitCode is > 128 and < 160;

    // ---------------------------------------------------------------- states

    /// <summary>The reason squeue gives a task whose dependency failed: it will never run.</summary>
    public const string NeverSatisfied = SchedulerTask.DependencyNeverSatisfied;

    public static TaskStateKind Classify(string rawState)
    {
        var s = rawState.Trim();
        int sp = s.IndexOfAny([' ', '+']);
        if (sp >= 0) s = s[..sp];
        return s.ToUpperInvariant() switch
        {
            "PENDING" or "PD" or "REQUEUED" or "REQUEUE_HOLD" or "REQUEUE_FED" or "CONFIGURING" or "RESV_DEL_HOLD" or "SPECIAL_EXIT" => TaskStateKind.Pending,
            "RUNNING" or "R" or "COMPLETING" or "CG" or "SUSPENDED" or "STAGE_OUT" or "SIGNALING" or "RESIZING" or "STOPPED" => TaskStateKind.Running,
            "COMPLETED" or "CD" => TaskStateKind.Completed,
            "TIMEOUT" or "TO" or "DEADLINE" => TaskStateKind.Timeout,
            "OUT_OF_MEMORY" or "OOM" => TaskStateKind.OutOfMemory,
            "CANCELLED" or "CA" or "REVOKED" => TaskStateKind.Cancelled,
            "NODE_FAIL" or "NF" or "BOOT_FAIL" or "BF" => TaskStateKind.NodeFail,
            "PREEMPTED" or "PR" => TaskStateKind.Preempted,
            "FAILED" or "F" => TaskStateKind.Failed,
            _ => TaskStateKind.Unknown,
        };
    }

    /// <summary>A task row in SLURM's words, with its neutral kind and whether it waits on a failed job.</summary>
    public static SchedulerTask Task(string jobId, int index, string state, string? exit, string? reason, string? taskJobId, string? name, string? comment, TaskUsage? usage = null) =>
        new(jobId, index, state, Classify(state), exit, reason, taskJobId, name, comment) { Blocked = reason == NeverSatisfied, Usage = usage };

    internal static IEnumerable<string> Lines(string text) =>
        text.Split('\n').Select(l => l.TrimEnd('\r')).Where(l => l.Trim().Length > 0);
}
