using SpineProd.Diagnostics;
using SpineProd.Planning;
using SpineProd.Scheduler;
using SpineProd.Scheduler.Slurm;

namespace SpineProd.Tests.Cluster;

/// <summary>A clock whose Sleep only advances time and remembers how long it was asked to wait.</summary>
public sealed class FakeClock : IClock
{
    public DateTimeOffset UtcNow { get; private set; } = new(2026, 11, 24, 8, 0, 0, TimeSpan.Zero);
    public List<TimeSpan> Sleeps { get; } = new();
    public double Random { get; set; } = 0.5;
    public void Sleep(TimeSpan duration) { Sleeps.Add(duration); UtcNow += duration; }
    public double NextDouble() => Random;
}

/// <summary>Answers each program's calls from a queue of scripted results, and records every call.</summary>
public sealed class FakeRunner : IProcessRunner
{
    private readonly Dictionary<string, Queue<ProcessResult>> _answers = new();
    public List<(string Program, IReadOnlyList<string> Args)> Calls { get; } = new();

    public FakeRunner Answer(string program, params ProcessResult[] results)
    {
        if (!_answers.TryGetValue(program, out var q)) _answers[program] = q = new Queue<ProcessResult>();
        foreach (var r in results) q.Enqueue(r);
        return this;
    }

    public int Count(string program) => Calls.Count(c => c.Program == program);

    public ProcessResult Run(string fileName, IReadOnlyList<string> arguments, TimeSpan timeout, string? workingDirectory = null,
        IReadOnlyDictionary<string, string?>? environment = null, string? stdoutFile = null, string? stderrFile = null)
    {
        Calls.Add((fileName, arguments.ToList()));
        return _answers.TryGetValue(fileName, out var q) && q.Count > 0 ? q.Dequeue() : new ProcessResult(0, "", "");
    }

    public static ProcessResult Ok(string stdout) => new(0, stdout, "");
    public static ProcessResult Err(string stderr, int code = 1) => new(code, "", stderr);
    public static ProcessResult Timeout() => new(-1, "", "", TimedOut: true);
}

/// <summary>
/// An in-memory scheduler: every submitted array task gets the state the test says (default
/// COMPLETED), and can be told to throw on the Nth submission (a controller that goes away).
/// </summary>
public sealed class FakeScheduler : IScheduler
{
    public string Name { get; init; } = "slurm";
    public ISchedulerDialect Dialect => Schedulers.Dialect(Name);
    public List<JobRequest> Submitted { get; } = new();
    public Dictionary<(string, int), SchedulerTask> Tasks { get; } = new();
    public List<string> Cancelled { get; } = new();
    public int Queries { get; private set; }
    /// <summary>The job ids each query asked about.</summary>
    public List<List<string>> Asked { get; } = new();
    public int? FailOnSubmission { get; set; }
    public string FailCode { get; set; } = "SPN3002";
    public Func<JobRequest, int, string> StateOf { get; set; } = (_, _) => "COMPLETED";
    /// <summary>Cuts a request as PBS does (one part per arithmetic range) instead of as SLURM (one part).</summary>
    public bool SplitLikePbs { get; init; }
    private int _next = 100;

    public IReadOnlyList<JobRequest> Split(JobRequest request) =>
        SplitLikePbs && request.Tasks is not null
            ? SpineProd.Scheduler.Pbs.PbsDialect.Ranges(request.Tasks).Select(r => request with { Tasks = new ArraySpec(r.Indices, request.Tasks.Throttle) }).ToList()
            : [request];

    public SubmittedJob Submit(JobRequest request)
    {
        if (FailOnSubmission == Submitted.Count + 1)
            throw new SpineProdException(FailCode, "sbatch could not submit: Unable to contact slurm controller (connect failure)");
        Submitted.Add(request);
        // ids in the scheduler's own form (PBS: N[].server for an array, N.server for a plain job)
        var id = Name != "pbs" ? (_next++).ToString() : $"{_next++}{(request.Tasks is null ? "" : "[]")}.fake";
        foreach (var i in request.Tasks?.Indices ?? [0])
        {
            var state = StateOf(request, i);
            Tasks[(id, i)] = SlurmDialect.Task(id, i, state, state == "FAILED" ? "1:0" : "0:0",
                state == "PENDING" ? "Dependency" : null, null, request.JobName, request.Key);
        }
        return new SubmittedJob(id, request.Tasks, Dialect.CommandLine(request), 1, false);
    }

    public SchedulerSnapshot Query(IReadOnlyCollection<string> jobIds, DateTimeOffset? submittedAfter = null, IReadOnlyDictionary<string, int>? expectedTasks = null)
    {
        Queries++;
        Asked.Add(jobIds.ToList());
        var snap = new SchedulerSnapshot();
        foreach (var (k, v) in Tasks.Where(t => jobIds.Contains(t.Key.Item1))) snap.Tasks[k] = v;
        return snap;
    }

    public void Cancel(IReadOnlyCollection<string> ids)
    {
        Cancelled.AddRange(ids);
        foreach (var id in ids)
        {
            var parts = id.Split('_');
            foreach (var key in Tasks.Keys.Where(k => k.Item1 == parts[0] && (parts.Length == 1 || k.Item2.ToString() == parts[1])).ToList())
                if (Tasks[key].IsLive) Tasks[key] = Tasks[key] with { RawState = "CANCELLED", Kind = TaskStateKind.Cancelled };
        }
    }

    public Func<string, string, (bool, string?)> Find { get; set; } = (_, _) => (true, null);
    /// <summary>What `squeue --me` lists (pending or running jobs); null: it does not answer.</summary>
    public List<LiveJob>? Live { get; set; } = new();
    public IReadOnlyList<LiveJob>? ListLiveJobs(string keyPrefix) => Live?.Where(j => j.Comment.StartsWith(keyPrefix, StringComparison.Ordinal)).ToList();
    public (bool Answered, string? JobId) FindSubmitted(string jobName, string key, ArraySpec? tasks) => Find(jobName, key);

    /// <summary>Marks a task as the job script would when SPINE succeeds.</summary>
    public static void WriteMarker(ProductionPlan plan, string stage, int task, IEnumerable<string> inputs)
    {
        var dir = Path.Combine(plan.StateDir, "markers", stage);
        Directory.CreateDirectory(dir);
        File.WriteAllLines(Path.Combine(dir, $"{task}.done"), inputs);
    }
}

/// <summary>A plan written by hand (chunk lists and placeholder scripts), for tests that need no planner.</summary>
public static class HandPlan
{
    public static (ProductionPlan Plan, string PlanDir) Create(string root, params (string Name, int Files, string[] DependsOn)[] stages)
        => Create(root, filesPerTask: 2, arraySize: 5, stages);

    public static (ProductionPlan Plan, string PlanDir) Create(string root, int filesPerTask, int arraySize, params (string Name, int Files, string[] DependsOn)[] stages)
    {
        var planDir = Path.Combine(root, "obj", "hand");
        var plan = new ProductionPlan
        {
            ProductionFile = Path.Combine(root, "hand.spineproj"),
            ProductionName = "hand",
            PlanSha256 = "sha-1",
            MaxArraySize = arraySize,
            MaxArraySizeSource = "property",
            JobsDir = Path.Combine(root, "jobs") + "/",
            StateDir = Path.Combine(root, "jobs", "hand") + "/",
        };
        foreach (var (name, files, deps) in stages)
        {
            var inputs = Enumerable.Range(0, files).Select(i => Path.Combine(root, "inputs", $"{name}_{i:D3}.root")).ToList();
            var tasks = inputs.Chunk(filesPerTask).Select(c => string.Join(",", c)).ToList();
            var stage = new StagePlan
            {
                Name = name, JobName = $"spine_{name}", Config = "spine.yaml", ConfigArgument = "spine.yaml",
                OutputDir = Path.Combine(plan.StateDir, "output", name), Output = Path.Combine(plan.StateDir, "output", name, "out.h5"),
                FileCount = files, TaskCount = tasks.Count, FilesPerTask = filesPerTask, ArraySize = arraySize, DependsOn = deps.ToList(),
            };
            var stageDir = Path.Combine(planDir, name);
            Directory.CreateDirectory(stageDir);
            foreach (var (chunk, index) in tasks.Chunk(arraySize).Select((c, i) => (c, i)))
            {
                var array = new ArrayPlan
                {
                    Index = index, JobName = $"spine_{name}_{index}", FirstTask = index * arraySize, TaskCount = chunk.Length,
                    FileCount = chunk.Sum(c => c.Split(',').Length), ArraySpec = $"0-{chunk.Length - 1}",
                    Script = $"submit_chunk_{index}.sbatch", ChunkFile = $"files_chunk_{index}.txt",
                };
                File.WriteAllLines(Path.Combine(stageDir, array.ChunkFile), chunk);
                File.WriteAllText(Path.Combine(stageDir, array.Script), "#!/bin/bash\nexit 0\n");
                stage.Arrays.Add(array);
            }
            plan.Stages.Add(stage);
        }
        plan.Save(Path.Combine(planDir, "plan.json"));
        return (plan, planDir);
    }

    public static IReadOnlyList<string> TaskInputs(string planDir, StagePlan stage, int task) =>
        Submission.ChunkLists.Open(planDir, stage).Inputs(task);
}
