using SpineProd.Scheduler;
using SpineProd.Scheduler.Local;
using SpineProd.Scheduler.Slurm;
using SpineProd.Tests.Infrastructure;
using Xunit;

namespace SpineProd.Tests.Cluster;

/// <summary>The local scheduler runs real scripts: the environment, logs, time limits and dependencies a SLURM task would see.</summary>
public sealed class LocalSchedulerTests
{
    /// <summary>A plain bash script, as templates/job.local.scriban renders: no directives (the limits come with the request).</summary>
    private static string Script(string dir, string body)
    {
        var path = Path.Combine(dir, "job.sh");
        File.WriteAllText(path, $"""
            #!/bin/bash
            {body}
            """);
        return path;
    }

    /// <summary>A request as Submit makes it: the plan's resources (a time limit) travel with it.</summary>
    private static JobRequest Request(string script, string dir, string name, string tasks, string key, TimeSpan? time = null, IReadOnlyList<string>? afterOk = null) =>
        new(script, dir, name, ArraySpec.Parse(tasks), afterOk ?? [], key, new ResourceRequest { Walltime = time ?? TimeSpan.FromMinutes(5), Cpus = 1 });

    [Fact]
    public void Tasks_see_the_SLURM_array_environment_and_log_where_Status_reads_the_logs()
    {
        var dir = Repo.Scratch("local-env");
        var script = Script(dir, "env | grep '^SLURM_' | sort > \"env_${SLURM_ARRAY_TASK_ID}.txt\"; echo out-$SLURM_ARRAY_TASK_ID; echo err >&2");
        var local = new LocalScheduler(Path.Combine(dir, "state"), parallelism: 2);

        var id = local.Submit(Request(script, dir, "spine_x_0", "1,3", "c")).JobId;
        local.RunPending();

        var env = File.ReadAllLines(Path.Combine(dir, "env_3.txt")).Select(l => l.Split('=', 2)).ToDictionary(p => p[0], p => p[1]);
        Assert.Equal(id, env["SLURM_ARRAY_JOB_ID"]);
        Assert.Equal("3", env["SLURM_ARRAY_TASK_ID"]);
        Assert.Equal("spine_x_0", env["SLURM_JOB_NAME"]);
        Assert.Equal("2", env["SLURM_ARRAY_TASK_COUNT"]);
        Assert.Equal(dir, env["SLURM_SUBMIT_DIR"]);
        Assert.NotEqual(id, env["SLURM_JOB_ID"]);                      // each task has its own id, as in SLURM
        Assert.Equal("out-1", File.ReadAllText(Path.Combine(dir, "logs", $"spine_x_0_{id}_1.out")).Trim());
        Assert.Equal("err", File.ReadAllText(Path.Combine(dir, "logs", $"spine_x_0_{id}_3.err")).Trim());
        var snap = local.Query([id]);
        Assert.All(snap.Tasks.Values, t => Assert.Equal(TaskStateKind.Completed, t.Kind));
        Assert.Equal([1, 3], snap.Tasks.Keys.Select(k => k.Index).Order());
    }

    [Fact]
    public void A_task_over_its_time_limit_ends_TIMEOUT_and_a_failing_one_FAILED_with_its_exit_code()
    {
        var dir = Repo.Scratch("local-time");
        var script = Script(dir, "case $SLURM_ARRAY_TASK_ID in 0) sleep 30;; 1) exit 3;; esac");
        var local = new LocalScheduler(Path.Combine(dir, "state"), parallelism: 2);

        var id = local.Submit(Request(script, dir, "t", "0-2", "c", time: TimeSpan.FromSeconds(1))).JobId;
        var started = DateTime.UtcNow;
        local.RunPending();

        Assert.True(DateTime.UtcNow - started < TimeSpan.FromSeconds(20));
        var snap = local.Query([id]);
        Assert.Equal(TaskStateKind.Timeout, snap.Find(id, 0)!.Kind);
        Assert.Equal((TaskStateKind.Failed, "3:0"), (snap.Find(id, 1)!.Kind, snap.Find(id, 1)!.ExitCode));
        Assert.Equal(TaskStateKind.Completed, snap.Find(id, 2)!.Kind);
        Assert.Contains("DUE TO TIME LIMIT", File.ReadAllText(Path.Combine(dir, "logs", $"t_{id}_0.err")));
    }

    [Fact]
    public void A_job_after_a_failed_afterok_dependency_never_runs_and_pending_tasks_can_be_cancelled()
    {
        var dir = Repo.Scratch("local-dep");
        var failing = Script(dir, "exit 1");
        var local = new LocalScheduler(Path.Combine(dir, "state"));
        var up = local.Submit(Request(failing, dir, "up", "0", "c1")).JobId;
        var down = local.Submit(Request(failing, dir, "down", "0-1", "c2", afterOk: [up])).JobId;
        var other = local.Submit(Request(failing, dir, "other", "0", "c3")).JobId;
        local.Cancel([other]);

        local.RunPending();

        var snap = local.Query([up, down, other]);
        Assert.Equal(TaskStateKind.Failed, snap.Find(up, 0)!.Kind);
        Assert.Equal(("CANCELLED", "DependencyNeverSatisfied"), (snap.Find(down, 1)!.RawState, snap.Find(down, 1)!.Reason));
        Assert.Equal(TaskStateKind.Cancelled, snap.Find(other, 0)!.Kind);
        Assert.Equal((true, down), local.FindSubmitted("down", "c2"));
    }

    [Fact]
    public void Tasks_left_pending_by_a_Submit_that_died_show_as_cancelled_not_pending_forever()
    {
        var dir = Repo.Scratch("local-died");
        var local = new LocalScheduler(Path.Combine(dir, "state"));
        var id = local.Submit(Request(Script(dir, "exit 0"), dir, "x", "0-1", "c")).JobId;
        Assert.Equal(TaskStateKind.Pending, local.Query([id]).Find(id, 0)!.Kind);
        // the Submit process that recorded the job is gone (a pid that is not running)
        var text = File.ReadAllText(local.StateFile).Replace($"\"RunnerPid\": {Environment.ProcessId}", "\"RunnerPid\": 2147483000");
        File.WriteAllText(local.StateFile, text);

        var t = local.Query([id]).Find(id, 1)!;

        Assert.Equal(TaskStateKind.Cancelled, t.Kind);
        Assert.Contains("ended first", t.Reason);
    }

    /// <summary>Waits (polling) until the process whose pid is in <paramref name="pidFile"/> is gone; false at the deadline.</summary>
    internal static bool GoneWithin(string pidFile, TimeSpan deadline)
    {
        var pid = int.Parse(File.ReadAllText(pidFile).Trim());
        var end = DateTime.UtcNow + deadline;
        while (LocalTaskProcess.ProcessStartTicks(pid) is not null)
        {
            if (DateTime.UtcNow > end) return false;
            Thread.Sleep(50);
        }
        return true;
    }

    internal static void WaitFor(Func<bool> condition, TimeSpan deadline, string what)
    {
        var end = DateTime.UtcNow + deadline;
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < end, $"timed out waiting for {what}");
            Thread.Sleep(50);
        }
    }

    [Fact(Timeout = 60_000)]
    public async Task A_task_ends_when_its_script_ends_and_what_it_left_in_the_background_ends_with_it()
    {
        var dir = Repo.Scratch("local-bg");
        // SPINE leaving a process behind that holds stdout and stderr open
        var script = Script(dir, "sleep 1000 & echo $! > bg.pid; echo finished");
        var local = new LocalScheduler(Path.Combine(dir, "state"));
        var id = local.Submit(Request(script, dir, "bg", "0", "c")).JobId;

        await Task.Run(() => local.RunPending());

        Assert.Equal(TaskStateKind.Completed, local.Query([id]).Find(id, 0)!.Kind);
        Assert.Equal("finished", File.ReadAllText(Path.Combine(dir, "logs", $"bg_{id}_0.out")).Trim());
        Assert.True(GoneWithin(Path.Combine(dir, "bg.pid"), TimeSpan.FromSeconds(10)), "the background process outlived its task");
    }

    [Fact(Timeout = 60_000)]
    public async Task The_time_limit_ends_the_whole_process_group()
    {
        var dir = Repo.Scratch("local-tgroup");
        var script = Script(dir, "sleep 1000 & echo $! > bg.pid; sleep 1000");
        var local = new LocalScheduler(Path.Combine(dir, "state"));
        var id = local.Submit(Request(script, dir, "tg", "0", "c", time: TimeSpan.FromSeconds(1))).JobId;

        await Task.Run(() => local.RunPending());

        Assert.Equal(TaskStateKind.Timeout, local.Query([id]).Find(id, 0)!.Kind);
        Assert.True(GoneWithin(Path.Combine(dir, "bg.pid"), TimeSpan.FromSeconds(10)), "a process of the timed-out task is still running");
    }

    [Fact(Timeout = 60_000)]
    public async Task Stopping_the_runner_ends_its_running_tasks_and_starts_no_more()
    {
        var dir = Repo.Scratch("local-stop");
        var script = Script(dir, "sleep 1000 & echo $! > bg_$SLURM_ARRAY_TASK_ID.pid; echo $$ > task_$SLURM_ARRAY_TASK_ID.pid; sleep 1000");
        using var stop = new CancellationTokenSource();
        var local = new LocalScheduler(Path.Combine(dir, "state"), parallelism: 1, stop.Token) { KillWait = TimeSpan.FromSeconds(2) };
        var id = local.Submit(Request(script, dir, "st", "0-1", "c")).JobId;

        var run = Task.Run(() => local.RunPending());
        WaitFor(() => File.Exists(Path.Combine(dir, "task_0.pid")) && File.Exists(Path.Combine(dir, "bg_0.pid")), TimeSpan.FromSeconds(20), "task 0 to start");
        stop.Cancel();
        var e = await Assert.ThrowsAsync<SpineProd.Diagnostics.SpineProdException>(() => run);

        Assert.Equal("SPN3040", e.Code);
        Assert.Contains("1 running task(s) were ended", e.Message);
        Assert.True(GoneWithin(Path.Combine(dir, "task_0.pid"), TimeSpan.FromSeconds(10)));
        Assert.True(GoneWithin(Path.Combine(dir, "bg_0.pid"), TimeSpan.FromSeconds(10)));
        Assert.False(File.Exists(Path.Combine(dir, "task_1.pid")));
        var snap = local.Query([id]);
        Assert.Equal(TaskStateKind.Cancelled, snap.Find(id, 0)!.Kind);
        Assert.Equal(TaskStateKind.Cancelled, snap.Find(id, 1)!.Kind);
    }

    [Fact]
    public void A_task_still_alive_after_its_Submit_died_is_reported_running_so_it_is_never_run_twice()
    {
        var dir = Repo.Scratch("local-orphan");
        var local = new LocalScheduler(Path.Combine(dir, "state"));
        var id = local.Submit(Request(Script(dir, "exit 0"), dir, "o", "0-1", "c")).JobId;
        // task 0 ran from a Submit that is gone (a pid that is not running) and its process group
        // is still alive (a real one: setsid makes sleep a group leader); task 1's group is gone
        using var orphan = System.Diagnostics.Process.Start("setsid", ["sleep", "60"]);
        WaitFor(() => LocalTaskProcess.ProcessStartTicks(orphan.Id) is not null, TimeSpan.FromSeconds(10), "the orphan to start");
        var state = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(local.StateFile))!;
        var job = state["Jobs"]![0]!;
        job["RunnerPid"] = 2147483000;
        foreach (var (t, group) in new[] { (0, orphan.Id), (1, 2147483001) })
        {
            job["Tasks"]![t]!["State"] = "RUNNING";
            job["Tasks"]![t]!["ProcessGroup"] = group;
            job["Tasks"]![t]!["ProcessStart"] = LocalTaskProcess.ProcessStartTicks(orphan.Id);
        }
        File.WriteAllText(local.StateFile, state.ToJsonString());
        try
        {
            var snap = local.Query([id]);
            Assert.Equal(TaskStateKind.Running, snap.Find(id, 0)!.Kind);
            Assert.Contains($"process group {orphan.Id}", snap.Find(id, 0)!.Reason);
            Assert.Equal(TaskStateKind.Cancelled, snap.Find(id, 1)!.Kind);
        }
        finally { orphan.Kill(); }
        orphan.WaitForExit();
        Assert.Equal(TaskStateKind.Cancelled, local.Query([id]).Find(id, 0)!.Kind);
    }

    [Fact(Timeout = 60_000)]
    public async Task A_command_that_leaves_a_background_process_holding_its_output_returns_when_it_exits()
    {
        var dir = Repo.Scratch("runner-bg");
        var pidFile = Path.Combine(dir, "bg.pid");
        var r = await Task.Run(() => ProcessRunner.Instance.Run("/bin/sh", ["-c", $"sleep 1000 & echo $! > '{pidFile}'; echo said"], TimeSpan.FromMinutes(1)));
        try
        {
            Assert.Equal((0, "said"), (r.ExitCode, r.Stdout.Trim()));
        }
        finally
        {
            System.Diagnostics.Process.GetProcessById(int.Parse(File.ReadAllText(pidFile).Trim())).Kill();
        }
    }

    [Fact]
    public void A_job_runs_with_the_plans_limits_and_a_retrys_raised_options_win()
    {
        var plan = new ResourceRequest { Walltime = TimeSpan.FromMinutes(10), MemoryBytes = 2L << 30, Cpus = 2, Gpus = 1, Queue = "q", Account = "a" };
        var request = new JobRequest("s.sh", "/w", "n", ArraySpec.Parse("0-3"), [], "k", plan,
            ExtraOptions: LocalDialect.Instance.RaisedLimitOptions(new ResourceRequest { Walltime = TimeSpan.FromMinutes(30), MemoryBytes = 6L << 30, Cpus = 2 }));

        var argv = LocalDialect.Instance.CommandLine(request);
        Assert.Equal(["--time=0:10:00", "--cpus-per-task=2", "--mem=2G", "--gpus=1", "--partition=q", "--account=a", "--time=0:30:00", "--mem-per-cpu=3072M"],
            argv.Where(a => a.StartsWith("--", StringComparison.Ordinal) && !a.StartsWith("--parsable", StringComparison.Ordinal) && !a.StartsWith("--chdir", StringComparison.Ordinal)
                && !a.StartsWith("--job-name", StringComparison.Ordinal) && !a.StartsWith("--array", StringComparison.Ordinal) && !a.StartsWith("--comment", StringComparison.Ordinal)));
        var limits = LocalLimits.Read(LocalLimits.Options(request));
        Assert.Equal(new LocalLimits { Time = TimeSpan.FromMinutes(30), MemoryBytes = 6L << 30, Cpus = 2, Gpus = 1, Partition = "q", Account = "a" }, limits);
        Assert.Equal(new LocalLimits(), LocalLimits.Read(LocalLimits.Options(request with { Resources = null, ExtraOptions = null })));
    }

    [Fact]
    public void A_script_s_SBATCH_lines_are_comments_to_the_local_scheduler()
    {
        var dir = Repo.Scratch("local-nodirectives");
        // a site's sbatch script: its own time and log lines mean nothing here
        var script = Script(dir, "#SBATCH --time=0:01\n#SBATCH --output=elsewhere.out\nsleep 2; echo done");
        var local = new LocalScheduler(Path.Combine(dir, "state"));
        var id = local.Submit(Request(script, dir, "sb", "0", "c")).JobId;

        local.RunPending();

        Assert.Equal(TaskStateKind.Completed, local.Query([id]).Find(id, 0)!.Kind);
        Assert.Equal("done", File.ReadAllText(Path.Combine(dir, LocalDialect.Instance.LogFile("sb", id, 0, error: false))).Trim());
        Assert.False(File.Exists(Path.Combine(dir, "elsewhere.out")));
    }

    [Fact]
    public void A_single_job_is_its_own_task_and_logs_under_its_id_with_no_time_limit()
    {
        var dir = Repo.Scratch("local-single");
        var local = new LocalScheduler(Path.Combine(dir, "state"));
        var id = local.Submit(new JobRequest(Script(dir, "echo $SLURM_JOB_ID"), dir, "cleanup_x", null, [], "c")).JobId;

        local.RunPending();

        var task = local.Query([id]).Find(id, 0)!;
        Assert.Equal((TaskStateKind.Completed, id), (task.Kind, task.TaskJobId));
        Assert.Null(task.Usage!.RequestedTime);
        Assert.Equal(id, File.ReadAllText(Path.Combine(dir, "logs", $"cleanup_x_{id}.out")).Trim());
    }

    [Fact]
    public void Log_patterns_expand_like_SLURM()
        => Assert.Equal("logs/x_12_3_15_root_vm_%.out", LocalScheduler.ExpandLogPattern("logs/%x_%A_%a_%j_%u_%N_%%.out", "12", 3, "15", "x", "root", "vm"));
}
