using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;
using SpineProd.Diagnostics;
using SpineProd.IO;
using SpineProd.Scheduler.Slurm;

namespace SpineProd.Scheduler.Local;

/// <summary>
/// Runs the production's own job scripts on this machine, for a laptop or a test without SLURM
/// (<c>-p:Scheduler=local</c>). Submit only records the array (so its id is known, and recorded,
/// before anything runs); <see cref="RunPending"/>, called at the end of Submit, then runs every
/// recorded task synchronously, a bounded number at once, in submission order so dependencies are
/// already decided. Its scripts are plain bash (templates/job.local.scriban) whose lines it never
/// reads: a job's limits are its request's (<see cref="LocalLimits"/>: the plan's, a retry's raised
/// ones), and it honours the time limit (the task ends TIMEOUT). Each task sees the environment
/// variables a SLURM array task sees, and its output and error go to the files the dialect's
/// <see cref="LocalDialect.LogFile"/> names, where Status reads them.
/// Each task is a process group (<see cref="LocalTaskProcess"/>) that ends with its script, at its
/// time limit, and with this runner: a killed Submit never leaves tasks running unseen, and a task
/// that outlived its Submit anyway (its process group is recorded) is reported running, never run twice.
/// Job states live in <c>&lt;state dir&gt;/local-scheduler.json</c>, so Status and resubmission read them
/// exactly as they read sacct.
/// </summary>
public sealed class LocalScheduler : IScheduler
{
    private readonly string _stateFile;
    private readonly int _parallelism;
    private readonly CancellationToken _stop;
    private readonly Func<string>? _stopReason;
    private readonly object _gate = new();

    /// <param name="stop">Ends the running tasks and starts no more: Ctrl-C, a signal, the build that runs
    /// this Submit killed (the Submit task's BuildInterruption watches all of them), a test.</param>
    /// <param name="stopReason">Why <paramref name="stop"/> fired, for SPN3040.</param>
    public LocalScheduler(string stateDir, int parallelism = 0, CancellationToken stop = default, Func<string>? stopReason = null)
    {
        _stateFile = new Layout.ProductionLayout(stateDir).LocalSchedulerState;
        _parallelism = parallelism > 0 ? parallelism : Math.Max(1, Environment.ProcessorCount);
        _stop = stop;
        _stopReason = stopReason;
    }

    /// <summary>Between SIGTERM and SIGKILL when a task is ended (SLURM's KillWait).</summary>
    public TimeSpan KillWait { get; init; } = TimeSpan.FromSeconds(10);

    public ISchedulerDialect Dialect => LocalDialect.Instance;
    public string Name => "local";
    public string StateFile => _stateFile;

    // ------------------------------------------------------------------ state

    public sealed class LocalState
    {
        public int NextId { get; set; } = 1;
        public List<LocalJob> Jobs { get; set; } = new();
    }

    public sealed class LocalJob
    {
        public string Id { get; set; } = "";
        public string Name { get; set; } = "";
        public string Script { get; set; } = "";
        public string WorkDir { get; set; } = "";
        /// <summary>Jobs of this scheduler that must all complete first.</summary>
        public List<string> AfterOk { get; set; } = new();
        /// <summary>A wait in SLURM's words (state files written before AfterOk, or a stage's own Dependency).</summary>
        public string? Dependency { get; set; }
        public string Comment { get; set; } = "";
        public int? Throttle { get; set; }
        /// <summary>Its limits, in sbatch's words, later winning (<see cref="LocalLimits"/>): the plan's, then a retry's.</summary>
        public List<string> Options { get; set; } = new();
        /// <summary>One job, not an array (a cleanup job): its one task has the job's id, and its logs are named by it.</summary>
        public bool Single { get; set; }
        public DateTimeOffset Submitted { get; set; }
        /// <summary>The process that runs this job (the Submit that recorded it), and when that process started.</summary>
        public int RunnerPid { get; set; }
        public DateTime RunnerStart { get; set; }
        public List<LocalTask> Tasks { get; set; } = new();
    }

    public sealed class LocalTask
    {
        public int Index { get; set; }
        public string JobId { get; set; } = "";
        public string State { get; set; } = "PENDING";
        public string? ExitCode { get; set; }
        public string? Reason { get; set; }
        public DateTimeOffset? Start { get; set; }
        public DateTimeOffset? End { get; set; }
        /// <summary>The task's process group (its script's pid) and that process's start time (/proc ticks), while it may run.</summary>
        public int? ProcessGroup { get; set; }
        public long? ProcessStart { get; set; }
        /// <summary>What it used (measured: <see cref="LocalTaskMeter"/>) and asked for (its job's <see cref="LocalLimits"/>), and where it ran.</summary>
        public double? CpuSeconds { get; set; }
        public long? PeakMemoryBytes { get; set; }
        public double? RequestedSeconds { get; set; }
        public long? RequestedMemoryBytes { get; set; }
        public int? Cpus { get; set; }
        public int? Gpus { get; set; }
        public string? Node { get; set; }

        public TaskUsage Usage(DateTimeOffset now) => new()
        {
            Start = Start,
            End = End,
            Elapsed = Start is { } s ? (End ?? now) - s : null,
            CpuTime = CpuSeconds is { } c ? TimeSpan.FromSeconds(c) : null,
            PeakMemoryBytes = PeakMemoryBytes,
            RequestedTime = RequestedSeconds is { } r ? TimeSpan.FromSeconds(r) : null,
            RequestedMemoryBytes = RequestedMemoryBytes,
            Cpus = Cpus,
            Gpus = Gpus,
            Node = Node,
        };
    }

    // RespectNullableAnnotations: "Jobs": null and the like are a damaged file (SPN3005), not an empty state.
    private static readonly JsonSerializerOptions Json = new() { WriteIndented = true, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping, RespectNullableAnnotations = true };


    private LocalState Load()
    {
        if (!File.Exists(_stateFile)) return new LocalState();
        try
        {
            using var stream = SafeFile.OpenRead(_stateFile);
            var state = JsonSerializer.Deserialize<LocalState>(stream, Json) ?? throw new JsonException("the file holds null");
            if (state.Jobs.Any(j => j is null || j.Tasks is null || j.Tasks.Any(t => t is null) || j.Options is null || j.Options.Any(o => o is null) || j.AfterOk is null))
                throw new JsonException("a job, task or option is null");
            return state;
        }
        catch (JsonException e) { throw new SpineProdException("SPN3005", $"the local scheduler's state is not a valid state file ({e.Message}); restore or delete it", _stateFile); }
        catch (FileRefusedException e) { throw new SpineProdException("SPN3041", $"the local scheduler's state cannot be read: {e.Reason}; restore or delete it", _stateFile); }
    }

    private void Save(LocalState s) => AtomicFile.Write(_stateFile, JsonSerializer.Serialize(s, Json));

    // ------------------------------------------------------------------ IScheduler

    public SubmittedJob Submit(JobRequest request)
    {
        if (!File.Exists(request.Script))
            throw new SpineProdException("SPN3015", $"job script {request.Script} does not exist", request.Script);
        ArraySpec spec = request.Tasks ?? new ArraySpec([0]);
        var argv = LocalDialect.Instance.CommandLine(request).ToList();
        lock (_gate)
        {
            var state = Load();
            int id = state.NextId;
            var job = new LocalJob
            {
                Id = id.ToString(CultureInfo.InvariantCulture),
                Name = request.JobName,
                Script = Path.GetFullPath(request.Script),
                WorkDir = Path.GetFullPath(request.WorkingDirectory),
                AfterOk = request.AfterOk.ToList(),
                Dependency = string.IsNullOrWhiteSpace(request.NativeDependency) ? null : request.NativeDependency,
                Comment = request.Key,
                Throttle = spec.Throttle,
                Options = LocalLimits.Options(request),
                Single = request.Tasks is null,
                Submitted = DateTimeOffset.Now,
                RunnerPid = Environment.ProcessId,
                RunnerStart = CurrentProcessStart,
            };
            // Like SLURM, every task of an array has its own job id besides the array's; a single job is its task.
            int next = id + 1;
            foreach (var i in spec.Indices)
                job.Tasks.Add(new LocalTask { Index = i, JobId = job.Single ? job.Id : (next++).ToString(CultureInfo.InvariantCulture) });
            state.NextId = next;
            state.Jobs.Add(job);
            Save(state);
            return new SubmittedJob(job.Id, request.Tasks, argv, 1, false);
        }
    }

    public SchedulerSnapshot Query(IReadOnlyCollection<string> jobIds, DateTimeOffset? submittedAfter = null, IReadOnlyDictionary<string, int>? expectedTasks = null)
    {
        var snap = new SchedulerSnapshot();
        snap.Sources.Add("local");
        var wanted = jobIds.ToHashSet();
        LocalState state;
        lock (_gate) state = Load();
        foreach (var job in state.Jobs.Where(j => wanted.Contains(j.Id)))
            foreach (var t in job.Tasks)
            {
                // A task still pending or running whose Submit process is gone will never finish:
                // report it cancelled, so Status says so and resubmission sends it again. Unless
                // its process group is still there: then it is running, and must not run twice.
                if (t.State is "RUNNING" && !RunnerAlive(job) && t.ProcessGroup is { } g && LocalTaskProcess.GroupAlive(g, t.ProcessStart))
                    snap.Tasks[(job.Id, t.Index)] = new SchedulerTask(job.Id, t.Index, "RUNNING", TaskStateKind.Running, null,
                        $"still running (process group {g}) after the Submit that ran it (pid {job.RunnerPid}) ended", t.JobId, job.Name, job.Comment);
                else if (t.State is "PENDING" or "RUNNING" && !RunnerAlive(job))
                    snap.Tasks[(job.Id, t.Index)] = new SchedulerTask(job.Id, t.Index, "CANCELLED", TaskStateKind.Cancelled, null,
                        $"the Submit that ran it (pid {job.RunnerPid}) ended first", t.JobId, job.Name, job.Comment);
                else
                    snap.Tasks[(job.Id, t.Index)] = new SchedulerTask(job.Id, t.Index, t.State, SlurmDialect.Classify(t.State), t.ExitCode, t.Reason, t.JobId, job.Name, job.Comment)
                        { Usage = t.Usage(DateTimeOffset.Now) };
            }
        return snap;
    }

    public void Cancel(IReadOnlyCollection<string> ids)
    {
        lock (_gate)
        {
            var state = Load();
            foreach (var id in ids)
            {
                var (jobId, index) = SplitTaskId(id);
                foreach (var job in state.Jobs.Where(j => j.Id == jobId))
                    foreach (var t in job.Tasks.Where(t => t.State == "PENDING" && (index is null || t.Index == index)))
                    {
                        t.State = "CANCELLED";
                        t.ExitCode = "0:0";
                        t.End = DateTimeOffset.Now;
                    }
            }
            Save(state);
        }
    }

    private static DateTime CurrentProcessStart { get; } = System.Diagnostics.Process.GetCurrentProcess().StartTime.ToUniversalTime();

    private static bool RunnerAlive(LocalJob job)
    {
        if (job.RunnerPid == Environment.ProcessId) return true;
        try
        {
            using var p = System.Diagnostics.Process.GetProcessById(job.RunnerPid);
            // a reused pid belongs to a process that started later
            return !p.HasExited && Math.Abs((p.StartTime.ToUniversalTime() - job.RunnerStart).TotalSeconds) < 2;
        }
        catch (Exception e) when (e is ArgumentException or InvalidOperationException or System.ComponentModel.Win32Exception) { return false; }
    }

    private static (string, int?) SplitTaskId(string id)
    {
        int us = id.IndexOf('_');
        return us < 0 ? (id, null) : (id[..us], int.Parse(id[(us + 1)..], CultureInfo.InvariantCulture));
    }

    public (bool Answered, string? JobId) FindSubmitted(string jobName, string comment, ArraySpec? tasks = null)
    {
        LocalState state;
        lock (_gate) state = Load();
        return (true, state.Jobs.LastOrDefault(j => j.Name == jobName && j.Comment == comment)?.Id);
    }

    public void RunPending(Action<string>? progress = null)
    {
        List<string> ids;
        lock (_gate) ids = Load().Jobs.Where(j => j.RunnerPid == Environment.ProcessId && j.Tasks.Any(t => t.State == "PENDING")).Select(j => j.Id).ToList();
        // Only the jobs this process recorded: those of a Submit that died are reported cancelled
        // (Query) and resubmitted, never run behind the user's back. Each job is re-read before it
        // runs, so a Cancel in between is honoured.
        int ended = 0;
        foreach (var id in ids)
        {
            if (_stop.IsCancellationRequested) break;
            LocalJob job;
            lock (_gate) job = Load().Jobs.First(j => j.Id == id);
            var pending = job.Tasks.Where(t => t.State == "PENDING").ToList();
            if (pending.Count == 0) continue;
            if (!DependencySatisfied(job, out var why))
            {
                Update(job.Id, null, t => { if (t.State == "PENDING") { t.State = "CANCELLED"; t.ExitCode = "0:0"; t.Reason = SlurmDialect.NeverSatisfied; t.End = DateTimeOffset.Now; } });
                progress?.Invoke($"local job {job.Id} ({job.Name}): not run, dependency never satisfied ({why})");
                continue;
            }
            var limits = LocalLimits.Read(job.Options);
            int width = Math.Min(_parallelism, job.Throttle ?? int.MaxValue);
            progress?.Invoke($"local job {job.Id} ({job.Name}): running {pending.Count} task(s), {width} at once");
            // Progress a person can follow: every task of a small job, every tenth of a large one.
            int done = 0, step = pending.Count <= 20 ? 1 : (pending.Count + 9) / 10;
            try
            {
                Parallel.ForEach(pending, new ParallelOptions { MaxDegreeOfParallelism = width, CancellationToken = _stop }, t =>
                {
                    if (RunTask(job, t, limits, _stop)) { Interlocked.Increment(ref ended); return; }
                    int n = Interlocked.Increment(ref done);
                    if (n % step == 0 || n == pending.Count)
                        progress?.Invoke($"local job {job.Id} ({job.Name}): {n} of {pending.Count} task(s) done");
                });
            }
            catch (OperationCanceledException) { }
        }
        if (!_stop.IsCancellationRequested) return;

        int never = 0;
        lock (_gate)
        {
            var state = Load();
            foreach (var t in state.Jobs.Where(j => ids.Contains(j.Id)).SelectMany(j => j.Tasks).Where(t => t.State == "PENDING"))
            {
                (t.State, t.ExitCode, t.Reason, t.End) = ("CANCELLED", "0:0", "the Submit was stopped before it ran", DateTimeOffset.Now);
                never++;
            }
            Save(state);
        }
        throw new SpineProdException("SPN3040",
            $"the local Submit stopped ({_stopReason?.Invoke() ?? "it was cancelled"}): {ended} running task(s) were ended (their whole process groups) and {never} never started; Submit again to run them",
            _stateFile);
    }

    private bool DependencySatisfied(LocalJob waiting, out string why)
    {
        why = "";
        var dependency = string.Join(',', new[] { waiting.Dependency, waiting.AfterOk.Count == 0 ? null : "afterok:" + string.Join(':', waiting.AfterOk) }
            .Where(d => !string.IsNullOrWhiteSpace(d)));
        if (dependency.Length == 0) return true;
        LocalState state;
        lock (_gate) state = Load();
        // "afterok:1:2,afterany:3": every clause must hold. Ids this scheduler never issued count as
        // satisfied, as SLURM treats ids it does not know.
        foreach (var clause in dependency.Split(',', StringSplitOptions.RemoveEmptyEntries))
        {
            var parts = clause.Split(':');
            var kind = parts[0];
            foreach (var id in parts.Skip(1))
            {
                var job = state.Jobs.FirstOrDefault(j => j.Id == SplitTaskId(id).Item1);
                if (job is null) continue;
                bool allOk = job.Tasks.All(t => t.State == "COMPLETED");
                bool anyFailed = job.Tasks.Any(t => t.State != "COMPLETED");
                if (kind == "afterok" && !allOk) { why = $"job {id} did not complete"; return false; }
                if (kind == "afternotok" && !anyFailed) { why = $"job {id} did not fail"; return false; }
            }
        }
        return true;
    }

    private void Update(string jobId, int? index, Action<LocalTask> change)
    {
        lock (_gate)
        {
            var state = Load();
            var job = state.Jobs.First(j => j.Id == jobId);
            foreach (var t in job.Tasks.Where(t => index is null || t.Index == index)) change(t);
            Save(state);
        }
    }

    /// <summary>Runs one task to its end; true when it was ended because the runner stopped.</summary>
    private bool RunTask(LocalJob job, LocalTask task, LocalLimits limits, CancellationToken stop)
    {
        var name = job.Name;
        var start = DateTimeOffset.Now;
        bool cancelled = false;
        Update(job.Id, task.Index, t =>
        {
            if (t.State != "PENDING") { cancelled = true; return; }
            (t.State, t.Start, t.Node, t.Cpus, t.Gpus) = ("RUNNING", start, Environment.MachineName, limits.Cpus, limits.Gpus);
            (t.RequestedSeconds, t.RequestedMemoryBytes) = (limits.Time?.TotalSeconds, limits.MemoryBytes);
        });
        if (cancelled) return false;
        var host = Environment.MachineName;
        var outFile = Path.GetFullPath(Path.Combine(job.WorkDir, LogFile(job, task, error: false)));
        var errFile = Path.GetFullPath(Path.Combine(job.WorkDir, LogFile(job, task, error: true)));
        var indices = job.Tasks.Select(t => t.Index).ToList();
        var cpus = limits.Cpus.ToString(CultureInfo.InvariantCulture);
        var env = new Dictionary<string, string?>
        {
            ["SLURM_JOB_ID"] = task.JobId,
            ["SLURM_JOBID"] = task.JobId,
            ["SLURM_ARRAY_JOB_ID"] = job.Id,
            ["SLURM_ARRAY_TASK_ID"] = task.Index.ToString(CultureInfo.InvariantCulture),
            ["SLURM_ARRAY_TASK_COUNT"] = indices.Count.ToString(CultureInfo.InvariantCulture),
            ["SLURM_ARRAY_TASK_MIN"] = indices.Min().ToString(CultureInfo.InvariantCulture),
            ["SLURM_ARRAY_TASK_MAX"] = indices.Max().ToString(CultureInfo.InvariantCulture),
            ["SLURM_ARRAY_TASK_STEP"] = "1",
            ["SLURM_JOB_NAME"] = name,
            ["SLURM_SUBMIT_DIR"] = job.WorkDir,
            ["SLURM_SUBMIT_HOST"] = host,
            ["SLURM_CLUSTER_NAME"] = "local",
            ["SLURM_JOB_PARTITION"] = limits.Partition ?? "local",
            ["SLURM_JOB_NUM_NODES"] = "1",
            ["SLURM_NNODES"] = "1",
            ["SLURM_NTASKS"] = "1",
            ["SLURM_NPROCS"] = "1",
            ["SLURM_NODEID"] = "0",
            ["SLURM_PROCID"] = "0",
            ["SLURM_LOCALID"] = "0",
            ["SLURM_CPUS_PER_TASK"] = cpus,
            ["SLURM_CPUS_ON_NODE"] = cpus,
            ["SLURM_JOB_CPUS_PER_NODE"] = cpus,
            ["SLURM_JOB_NODELIST"] = host,
            ["SLURM_NODELIST"] = host,
            ["SLURM_TASKS_PER_NODE"] = "1",
            ["SLURMD_NODENAME"] = host,
            ["SLURM_JOB_USER"] = Environment.UserName,
            ["SLURM_JOB_ACCOUNT"] = limits.Account,
            // whole MB per CPU, as SLURM exports it
            ["SLURM_MEM_PER_CPU"] = limits.MemoryBytes is long m ? ((m / limits.Cpus + (1L << 20) - 1) >> 20).ToString(CultureInfo.InvariantCulture) : null,
        };
        var limit = limits.Time ?? Timeout.InfiniteTimeSpan;
        // The process group is recorded the moment it exists: a later Submit checks it before running this task again.
        var r = LocalTaskProcess.Run(job.Script, job.WorkDir, env, outFile, errFile, limit, KillWait, stop,
            (group, processStart) => Update(job.Id, task.Index, t => { t.ProcessGroup = group; t.ProcessStart = processStart; }));
        string stateName, exit;
        string? reason = null;
        if (r.TimedOut)
        {
            AppendNotice(errFile, $"local-scheduler: *** JOB {task.JobId} CANCELLED AT {DateTimeOffset.Now:s} DUE TO TIME LIMIT ***");
            (stateName, exit) = ("TIMEOUT", "0:15");
        }
        else if (r.Stopped)
        {
            AppendNotice(errFile, $"local-scheduler: *** JOB {task.JobId} CANCELLED AT {DateTimeOffset.Now:s}: the Submit running it was stopped ***");
            (stateName, exit, reason) = ("CANCELLED", "0:15", "the Submit running it was stopped");
        }
        else if (r.ExitCode == 0) (stateName, exit) = ("COMPLETED", "0:0");
        else (stateName, exit, reason) = ("FAILED", r.SlurmExitCode, r.Message.Length > 0 ? r.Message : "NonZeroExitCode");
        Update(job.Id, task.Index, t =>
        {
            (t.State, t.ExitCode, t.End, t.Reason) = (stateName, exit, DateTimeOffset.Now, reason);
            (t.CpuSeconds, t.PeakMemoryBytes) = (r.CpuTime?.TotalSeconds, r.PeakMemoryBytes);
        });
        return r.Stopped;
    }

    private static void AppendNotice(string file, string line)
    {
        try { File.AppendAllText(file, line + "\n"); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }
    }

    /// <summary>
    /// Where a task's output (or error) goes, relative to its job folder: an array's task logs where the
    /// dialect says Status finds them; a single job's (a cleanup) as the layout names a cleanup log, by the job's id.
    /// </summary>
    private static string LogFile(LocalJob job, LocalTask task, bool error) => job.Single
        ? ExpandLogPattern(Layout.ProductionLayout.Job.SlurmCleanupLog(job.Name, error ? "err" : "out"), job.Id, task.Index, task.JobId, job.Name, Environment.UserName, Environment.MachineName)
        : LocalDialect.Instance.LogFile(job.Name, job.Id, task.Index, error);

    /// <summary>SLURM's filename pattern letters: %A %a %j %x %u %N %%.</summary>
    public static string ExpandLogPattern(string pattern, string arrayJobId, int index, string jobId, string name, string user, string host)
    {
        var sb = new System.Text.StringBuilder();
        for (int i = 0; i < pattern.Length; i++)
        {
            if (pattern[i] != '%' || i + 1 >= pattern.Length) { sb.Append(pattern[i]); continue; }
            char c = pattern[++i];
            sb.Append(c switch
            {
                'A' => arrayJobId,
                'a' => index.ToString(CultureInfo.InvariantCulture),
                'j' => jobId,
                'x' => name,
                'u' => user,
                'N' => host,
                '%' => "%",
                _ => "%" + c,
            });
        }
        return sb.ToString();
    }
}
