using System.Diagnostics;
using SpineProd.Scheduler;
using SpineProd.Submission;
using SpineProd.Tests.Cluster;
using SpineProd.Tests.Infrastructure;
using SpineProd.Tests.Run;
using Xunit;

namespace SpineProd.Tests.Hardening;

/// <summary>
/// Cluster faults on the real test cluster: the controller down before or in the middle of a
/// Submit, two Submits at once, a Submit killed with SIGKILL, a task over its time limit. After
/// each, no array is ever submitted twice (counted by job name in sacct and squeue).
/// </summary>
[Collection("cluster")]
public sealed class ClusterFaultTests(ClusterFixture cluster) : EndToEndScenarios
{
    protected override string Scheduler => "slurm";
    private static readonly string Controller = Repo.Path_("tests", "cluster", "controller.sh");

    private static void ControllerCommand(string verb)
    {
        var r = ProcessRunner.Instance.Run("bash", [Controller, verb], TimeSpan.FromMinutes(1));
        Assert.True(r.ExitCode == 0, $"controller.sh {verb}: {r.Stderr}");
    }

    /// <summary>A production with a job name no other test uses, so sacct can count its arrays.</summary>
    private (ScratchProduction P, string JobName) Unique(string name, int inputs, string extra = "")
    {
        var jobName = $"fault_{name}_{Guid.NewGuid():N}"[..Math.Min(name.Length + 15, 40)];
        return (Production(name, inputs, failing: [], $"<JobName>{jobName}</JobName>{extra}"), jobName);
    }

    /// <summary>
    /// How many distinct array jobs carry each name, in sacct and squeue together (sacct lags a
    /// finished job by a second or two: asked again until it has every name expected).
    /// </summary>
    internal static Dictionary<string, int> ArraysByName(string prefix, int expectedNames = 2)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
        while (true)
        {
            var found = ArraysByNameOnce(prefix);
            if (found.Count >= expectedNames || DateTime.UtcNow > deadline) return found;
            Thread.Sleep(1000);
        }
    }

    private static Dictionary<string, int> ArraysByNameOnce(string prefix)
    {
        var ids = new Dictionary<string, HashSet<string>>();
        void Add(string name, string id)
        {
            if (!name.StartsWith(prefix, StringComparison.Ordinal)) return;
            if (!ids.TryGetValue(name, out var set)) ids[name] = set = new();
            set.Add(id.Split('_')[0]);
        }
        var sacct = ProcessRunner.Instance.Run("sacct", ["-X", "-n", "-P", "-S", "now-1hours", "--format=JobName%60,JobID"], TimeSpan.FromSeconds(30));
        foreach (var line in sacct.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries))
            if (line.Split('|') is [var n, var id]) Add(n.Trim(), id.Trim());
        var squeue = ProcessRunner.Instance.Run("squeue", ["-h", "-r", "-t", "all", "-o", "%j|%F"], TimeSpan.FromSeconds(30));
        foreach (var line in squeue.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries))
            if (line.Split('|') is [var n, var id]) Add(n.Trim(), id.Trim());
        return ids.ToDictionary(kv => kv.Key, kv => kv.Value.Count);
    }

    /// <summary>An sbatch first on PATH that runs <paramref name="onSecondCall"/> before the second real sbatch.</summary>
    private static Dictionary<string, string?> ShimmedPath(ScratchProduction p, string onSecondCall)
    {
        var bin = Path.Combine(p.Dir, "shim");
        Directory.CreateDirectory(bin);
        var real = ProcessRunner.Instance.Run("bash", ["-c", "command -v sbatch"], TimeSpan.FromSeconds(10)).Stdout.Trim();
        var count = Path.Combine(p.Dir, "sbatch-calls");
        File.WriteAllText(Path.Combine(bin, "sbatch"), $"""
            #!/bin/bash
            echo call >> '{count}'
            if [ "$(wc -l < '{count}')" -eq 2 ]; then {onSecondCall}; fi
            exec '{real}' "$@"
            """);
        File.SetUnixFileMode(Path.Combine(bin, "sbatch"), UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        return new Dictionary<string, string?>
        {
            ["PATH"] = bin + ":" + Environment.GetEnvironmentVariable("PATH"),
            ["MSBUILDDISABLENODEREUSE"] = "1",
            ["DOTNET_CLI_USE_MSBUILD_SERVER"] = "0",
        };
    }

    internal static ProcessResult Submit(ScratchProduction p, IReadOnlyDictionary<string, string?>? env = null, params string[] extra) =>
        ProcessRunner.Instance.Run("dotnet", ["build", p.ProjectFile, "-t:Submit", "-nologo", .. extra], TimeSpan.FromMinutes(4), p.Dir,
            env ?? new Dictionary<string, string?> { ["MSBUILDDISABLENODEREUSE"] = "1", ["DOTNET_CLI_USE_MSBUILD_SERVER"] = "0" });

    [Fact]
    public void With_the_controller_down_Submit_fails_clearly_at_once_and_records_nothing_as_submitted()
    {
        cluster.Require();
        var (p, _) = Unique("down", 4);
        ControllerCommand("stop");
        ProcessResult r;
        var clock = Stopwatch.StartNew();
        try
        {
            r = Submit(p, null, "-p:SubmitRetries=1");
        }
        finally
        {
            ControllerCommand("start");
        }

        Assert.NotEqual(0, r.ExitCode);
        // the check for live jobs of the production (before anything is sent) finds no controller
        Assert.Contains("SPN3009", r.Stdout);
        Assert.True(clock.Elapsed < TimeSpan.FromMinutes(2), $"took {clock.Elapsed}");
        var plan = Plan(p);
        Assert.DoesNotContain(Ledger.Load(plan.StateDir, plan.ProductionName).AllArrays(), a => a.Array.JobId is not null);
    }

    [Fact]
    public void The_controller_lost_between_two_arrays_then_back_each_array_is_submitted_exactly_once()
    {
        cluster.Require();
        var (p, jobName) = Unique("between", 12);   // 6 tasks in arrays of 5 and 1
        var env = ShimmedPath(p, $"bash '{Controller}' stop");
        ProcessResult first;
        try
        {
            first = Submit(p, env, "-p:SubmitRetries=1");
        }
        finally
        {
            ControllerCommand("start");
        }
        Assert.NotEqual(0, first.ExitCode);
        Assert.Contains("SPN3002", first.Stdout);
        var plan = Plan(p);
        var arrays = Ledger.Load(plan.StateDir, plan.ProductionName).AllArrays().Select(a => a.Array).ToList();
        Assert.NotNull(arrays.Single(a => a.Array == 0).JobId);
        Assert.Null(arrays.Single(a => a.Array == 1).JobId);

        var second = Submit(p);

        Assert.True(second.ExitCode == 0, second.Stdout);
        Assert.Contains("submitted 1 task(s) in 1 array(s)", second.Stdout);
        WaitFinished(p);
        Assert.Equal(new Dictionary<string, int> { [$"{jobName}_0"] = 1, [$"{jobName}_1"] = 1 }, ArraysByName(jobName));
    }

    [Fact]
    public void Two_submits_at_once_submit_every_array_once()
    {
        cluster.Require();
        var (p, jobName) = Unique("twice", 12);
        Run(p, "Build");

        var both = new[] { Task.Run(() => Submit(p)), Task.Run(() => Submit(p)) };
        Task.WaitAll(both);

        var outputs = both.Select(t => t.Result).ToList();
        // One submits; the other either waited for the lock and found nothing to submit, or refused (SPN3004).
        Assert.Contains(outputs, r => r.ExitCode == 0 && r.Stdout.Contains("submitted 6 task(s) in 2 array(s)"));
        Assert.Contains(outputs, r => r.Stdout.Contains("Nothing to submit") || r.Stdout.Contains("SPN3004"));
        var plan = Plan(p);
        Assert.Single(Ledger.Load(plan.StateDir, plan.ProductionName).Submissions);
        WaitFinished(p);
        Assert.Equal(new Dictionary<string, int> { [$"{jobName}_0"] = 1, [$"{jobName}_1"] = 1 }, ArraysByName(jobName));
    }

    [Fact]
    public void A_submit_killed_with_SIGKILL_leaves_a_ledger_the_next_submit_understands()
    {
        cluster.Require();
        var (p, jobName) = Unique("killed", 12);
        var inSecond = Path.Combine(p.Dir, "in-second-sbatch");
        var env = ShimmedPath(p, $"touch '{inSecond}'; sleep 120");
        Run(p, "Build");
        var psi = new ProcessStartInfo("dotnet", ["build", p.ProjectFile, "-t:Submit", "-nologo"]) { WorkingDirectory = p.Dir, RedirectStandardOutput = true };
        foreach (var (k, v) in env) psi.Environment[k] = v;
        using (var build = Process.Start(psi)!)
        {
            var deadline = DateTime.UtcNow + TimeSpan.FromMinutes(2);
            while (!File.Exists(inSecond) && DateTime.UtcNow < deadline && !build.HasExited) Thread.Sleep(200);
            Assert.True(File.Exists(inSecond), "the Submit never reached its second sbatch");
            build.Kill(entireProcessTree: true);   // SIGKILL, to the task host and the sleeping sbatch too
            build.WaitForExit();
        }
        var plan = Plan(p);
        var arrays = Ledger.Load(plan.StateDir, plan.ProductionName).AllArrays().Select(a => a.Array).ToList();
        Assert.Equal(ArraySubmissionState.Submitted, arrays.Single(a => a.Array == 0).State);
        Assert.Equal(ArraySubmissionState.Submitting, arrays.Single(a => a.Array == 1).State);

        var next = Submit(p);

        Assert.True(next.ExitCode == 0, next.Stdout);
        Assert.Contains("never reached the scheduler", next.Stdout);
        Assert.Contains("submitted 1 task(s) in 1 array(s)", next.Stdout);
        WaitFinished(p);
        Assert.Equal(new Dictionary<string, int> { [$"{jobName}_0"] = 1, [$"{jobName}_1"] = 1 }, ArraysByName(jobName));
    }

    /// <summary>
    /// The sleeper production of <see cref="SlurmTimeouts"/>, whose first attempt timed out while the
    /// other productions waiting for a timeout waited too (SLURM enforces limits in whole minutes,
    /// checked about every 30 s).
    /// </summary>
    [Fact]
    public void A_task_over_its_time_limit_shows_TIMEOUT_and_is_resubmitted_with_the_longer_Time_given()
    {
        var shared = SlurmTimeouts.Get(cluster);
        var (p, report) = (shared.Sleeper, shared.SleeperFirst);

        var slow = Assert.Single(report.Problems);
        Assert.Equal(TaskState.Timeout, slow.Status);
        Assert.Contains("TIMEOUT", string.Join("\n", report.Render()));

        var again = Run(p, "Submit", ("Time", "0:10:00"));
        Assert.Contains("1 task(s) timed out", again.Output);
        var plan = Plan(p);
        var resubmitted = Ledger.Load(plan.StateDir, plan.ProductionName).Submissions[^1].Stages.Single().Arrays.Single();
        Assert.Contains("#SBATCH --time=0:10:00", File.ReadAllText(resubmitted.Script));
        ProcessRunner.Instance.Run("scancel", [resubmitted.JobId!], TimeSpan.FromSeconds(30));
    }
}
