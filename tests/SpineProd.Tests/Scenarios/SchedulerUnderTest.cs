using SpineProd.Scheduler;
using SpineProd.Tests.Infrastructure;
using Xunit;

namespace SpineProd.Tests.Scenarios;

/// <summary>
/// What the end-to-end scenarios need to know of one scheduler, and nothing more: the resources its
/// test installation accepts, how to take its server down and bring it back, which client command
/// submits (so a test can put a flaky copy of it first on PATH), and how many jobs the scheduler
/// itself holds under a name (so a test proves nothing was submitted twice without trusting
/// SpineProd's own records). The scenarios themselves (<see cref="ProductionScenarios"/>) are the
/// same for every scheduler.
/// </summary>
public abstract class SchedulerUnderTest
{
    /// <summary>The value of the production's <c>Scheduler</c> property.</summary>
    public abstract string Name { get; }

    /// <summary>Resource properties (XML) the test installation accepts.</summary>
    public abstract string Resources(string memPerCpu = "200M", string time = "00:05:00");

    /// <summary>Whether a server stands between SpineProd and the jobs (not so for the local scheduler).</summary>
    public virtual bool HasServer => true;

    /// <summary>
    /// Whether a job waiting afterok on an array stays unrun when any one task of the array failed
    /// (SLURM: pending, DependencyNeverSatisfied; local: cancelled). OpenPBS releases it when the
    /// array's last subjob to end succeeded (it keeps only that subjob's exit status on the array).
    /// </summary>
    public virtual bool HoldsDependentsOfAnyFailedTask => true;

    /// <summary>Whether a task over its memory is killed and shows as out of memory (SLURM with task/cgroup).</summary>
    public virtual bool EnforcesMemory => false;

    /// <summary>The largest array the scheduler takes, as its own command says; null where the test does not know.</summary>
    public virtual int? MaxArraySize() => null;

    /// <summary>Words the recorded submit command line (job_metadata.json's <c>submit_argv</c>) holds for a job folder.</summary>
    public abstract IReadOnlyList<string> SubmitArgvHas(string jobFolder);

    /// <summary>Submits a job that stays held (a long upstream job a user's Dependency waits for) and returns its id.</summary>
    public virtual string HoldJob() => throw new NotSupportedException($"no held job on {Name}");
    public virtual void RemoveJob(string id) => throw new NotSupportedException($"no jobs to remove on {Name}");

    /// <summary>The client command one submission runs (sbatch, qsub).</summary>
    public abstract string SubmitCommand { get; }

    /// <summary>What the submit command prints when the server accepted a job but its reply was lost.</summary>
    public abstract string LostReplyError { get; }

    /// <summary>Folders the scheduler's commands live in, put on PATH for the builds (and this process).</summary>
    public virtual IReadOnlyList<string> BinDirs => [];

    /// <summary>A bash command that takes the server down (jobs and state are kept), for a shim to run mid-Submit.</summary>
    public abstract string StopServerCommand { get; }
    public abstract string StartServerCommand { get; }

    public void StopServer() => Bash(StopServerCommand);
    public void StartServer() => Bash(StartServerCommand);

    private static void Bash(string command)
    {
        var r = ProcessRunner.Instance.Run("bash", ["-c", command], TimeSpan.FromMinutes(2));
        Assert.True(r.ExitCode == 0, $"{command}: {r.Stderr}");
    }

    /// <summary>How many scheduler jobs (arrays) carry exactly this name, finished ones included.</summary>
    public abstract int JobsNamed(string name);

    /// <summary>The environment every build of a scenario runs with (no build servers left behind; no stray job ids).</summary>
    public Dictionary<string, string?> Environment(string? shimDir = null)
    {
        var path = string.Join(':', new[] { shimDir }.Concat(BinDirs).Append(System.Environment.GetEnvironmentVariable("PATH")).Where(s => !string.IsNullOrEmpty(s)));
        return new Dictionary<string, string?>
        {
            ["PATH"] = path,
            ["MSBUILDDISABLENODEREUSE"] = "1",
            ["DOTNET_CLI_USE_MSBUILD_SERVER"] = "0",
            ["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1",
            ["DOTNET_NOLOGO"] = "1",
            // a test host may itself run as a batch job; the job scripts must not inherit its ids
            ["SLURM_JOB_ID"] = null, ["SLURM_ARRAY_TASK_ID"] = null, ["SLURM_ARRAY_JOB_ID"] = null,
            ["PBS_JOBID"] = null, ["PBS_ARRAY_INDEX"] = null, ["PBS_ARRAY_ID"] = null,
        };
    }

    /// <summary>
    /// A copy of the submit command first on PATH that runs <paramref name="beforeCall"/> (bash, with
    /// $n the call's number) before each real call and, when it prints <c>lose-reply</c>, lets the
    /// real command run and then answers as if the reply had been lost (<c>lose-reply-and-server</c>:
    /// and the server goes down before anyone can ask it). Returns the shim's folder.
    /// </summary>
    public string Shim(string dir, string beforeCall)
    {
        var bin = Path.Combine(dir, "shim");
        Directory.CreateDirectory(bin);
        var real = Which(SubmitCommand);
        var count = Path.Combine(dir, "shim-calls");
        var path = Path.Combine(bin, SubmitCommand);
        File.WriteAllText(path, $$"""
            #!/bin/bash
            echo call >> '{{count}}'
            n=$(wc -l < '{{count}}')
            what=$( {{beforeCall}} )
            case "$what" in lose-reply*)
              '{{real}}' "$@" > /dev/null || exit
              [ "$what" = lose-reply-and-server ] && { {{StopServerCommand}}; } >&2
              echo '{{LostReplyError}}' >&2
              exit 1
            esac
            exec '{{real}}' "$@"
            """);
        File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        return bin;
    }

    /// <summary>How many times the shim in <paramref name="dir"/> was called.</summary>
    public static int ShimCalls(string dir)
    {
        var f = Path.Combine(dir, "shim-calls");
        return File.Exists(f) ? File.ReadAllLines(f).Length : 0;
    }

    public string Which(string command)
    {
        foreach (var d in BinDirs.Concat((System.Environment.GetEnvironmentVariable("PATH") ?? "").Split(':')))
            if (d.Length > 0 && File.Exists(Path.Combine(d, command))) return Path.Combine(d, command);
        throw new InvalidOperationException($"{command} is not on PATH");
    }

    protected static ProcessResult Run(string program, params string[] args) =>
        ProcessRunner.Instance.Run(program, args, TimeSpan.FromMinutes(2));

    public override string ToString() => Name;
}

/// <summary>The test SLURM cluster (tests/cluster/): partition cpu, account ci.</summary>
public sealed class SlurmUnderTest : SchedulerUnderTest
{
    private static readonly string Controller = Repo.Path_("tests", "cluster", "controller.sh");

    public override string Name => "slurm";
    public override string SubmitCommand => "sbatch";
    public override string LostReplyError => "sbatch: error: Batch job submission failed: Socket timed out on send/recv operation";

    public override string Resources(string memPerCpu = "200M", string time = "00:05:00") =>
        $"<Account>ci</Account><Partition>cpu</Partition><MemPerCpu>{memPerCpu}</MemPerCpu><Time>{time}</Time><Gpus>0</Gpus><CpusPerTask>1</CpusPerTask>";

    public override string StopServerCommand => $"bash '{Controller}' stop";
    public override string StartServerCommand => $"bash '{Controller}' start";

    public override bool EnforcesMemory => Run("scontrol", "show", "config").Stdout.Contains("task/cgroup", StringComparison.Ordinal);
    public override int? MaxArraySize() => SpineProd.Scheduler.Slurm.SlurmClient.ParseMaxArraySize(Run("scontrol", "show", "config").Stdout);
    public override IReadOnlyList<string> SubmitArgvHas(string jobFolder) => ["--parsable", $"--chdir={jobFolder}"];

    public override string HoldJob()
    {
        var hold = Run("sbatch", "--parsable", "--hold", "--account=ci", "--job-name=spineprod-test-hold", "--output=/dev/null", "--wrap=true");
        Assert.True(hold.Succeeded, hold.Message);
        return hold.Stdout.Trim();
    }

    public override void RemoveJob(string id) => Run("scancel", id);

    public override int JobsNamed(string name)
    {
        // sacct lags a job by a second or two; squeue has it at once: both, as a set of array ids
        var ids = new HashSet<string>();
        var sacct = Run("sacct", "-X", "-n", "-P", "-S", "now-2hours", "--name=" + name, "--format=JobID");
        foreach (var line in sacct.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries)) ids.Add(line.Trim().Split('_')[0]);
        var squeue = Run("squeue", "-h", "-r", "-t", "all", "--name=" + name, "-o", "%F");
        foreach (var line in squeue.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries)) ids.Add(line.Trim());
        return ids.Count;
    }
}

/// <summary>The test OpenPBS server (tests/cluster/pbs/): queue workq; any account string.</summary>
public sealed class PbsUnderTest : SchedulerUnderTest
{
    private static readonly string ServerScript = Repo.Path_("tests", "cluster", "pbs", "server.sh");

    public override string Name => "pbs";
    public override bool HoldsDependentsOfAnyFailedTask => false;
    public override string SubmitCommand => "qsub";
    public override string LostReplyError => "qsub: Batch protocol error";
    public override IReadOnlyList<string> BinDirs => [Pbs.PbsServerFixture.BinDir];

    /// <summary>Status in the test process finds qstat as a user's shell does: on PATH (appended once).</summary>
    public PbsUnderTest()
    {
        var path = System.Environment.GetEnvironmentVariable("PATH") ?? "";
        if (!path.Split(':').Contains(Pbs.PbsServerFixture.BinDir))
            System.Environment.SetEnvironmentVariable("PATH", path + ":" + Pbs.PbsServerFixture.BinDir);
    }

    public override string Resources(string memPerCpu = "200M", string time = "00:05:00") =>
        $"<Account>ci</Account><Partition>workq</Partition><MemPerCpu>{memPerCpu}</MemPerCpu><Time>{time}</Time><Gpus>0</Gpus><CpusPerTask>1</CpusPerTask>";

    public override string StopServerCommand => $"bash '{ServerScript}' stop";
    public override string StartServerCommand => $"bash '{ServerScript}' start";

    public override IReadOnlyList<string> SubmitArgvHas(string jobFolder) => ["-J"];

    public override int JobsNamed(string name)
    {
        var r = Run(Path.Combine(Pbs.PbsServerFixture.BinDir, "qselect"), "-x", "-N", name);
        Assert.True(r.Succeeded, r.Message);
        return r.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length;
    }
}

/// <summary>The local scheduler: the tasks run on this machine during Submit; no server.</summary>
public sealed class LocalUnderTest : SchedulerUnderTest
{
    public override string Name => "local";
    public override bool HasServer => false;
    public override string SubmitCommand => throw new NotSupportedException("the local scheduler runs no submit command");
    public override string LostReplyError => throw new NotSupportedException("the local scheduler has no server to lose a reply");
    public override string Resources(string memPerCpu = "200M", string time = "00:05:00") =>
        $"<MemPerCpu>{memPerCpu}</MemPerCpu><Time>{time}</Time><Gpus>0</Gpus><CpusPerTask>1</CpusPerTask>";
    public override string StopServerCommand => throw new NotSupportedException("the local scheduler has no server");
    /// <summary>The local scheduler records the command line SLURM would have been given.</summary>
    public override IReadOnlyList<string> SubmitArgvHas(string jobFolder) => ["local", "--parsable", $"--chdir={jobFolder}"];
    public override string StartServerCommand => "true";
    public override int JobsNamed(string name) => throw new NotSupportedException("the local scheduler keeps no jobs");
}
