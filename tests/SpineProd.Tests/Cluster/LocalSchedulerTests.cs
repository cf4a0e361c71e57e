using SpineProd.Scheduler;
using SpineProd.Tests.Infrastructure;
using Xunit;

namespace SpineProd.Tests.Cluster;

/// <summary>The local scheduler runs real scripts: the environment, logs, time limits and dependencies a SLURM task would see.</summary>
public sealed class LocalSchedulerTests
{
    private static string Script(string dir, string body, string time = "00:05:00")
    {
        var path = Path.Combine(dir, "job.sbatch");
        File.WriteAllText(path, $"""
            #!/bin/bash
            #SBATCH --job-name=ignored
            #SBATCH --time={time}
            #SBATCH --cpus-per-task=1
            #SBATCH --output=logs/%x_%A_%a.out
            #SBATCH --error=logs/%x_%A_%a.err
            {body}
            """);
        return path;
    }

    [Fact]
    public void Tasks_see_the_SLURM_array_environment_and_log_where_the_script_says()
    {
        var dir = Repo.Scratch("local-env");
        var script = Script(dir, "env | grep '^SLURM_' | sort > \"env_${SLURM_ARRAY_TASK_ID}.txt\"; echo out-$SLURM_ARRAY_TASK_ID; echo err >&2");
        var local = new LocalScheduler(Path.Combine(dir, "state"), parallelism: 2);

        var id = local.Submit(new SubmitRequest(script, dir, "spine_x_0", "1,3", null, "c")).JobId;
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
        var script = Script(dir, "case $SLURM_ARRAY_TASK_ID in 0) sleep 30;; 1) exit 3;; esac", time: "0:01");
        var local = new LocalScheduler(Path.Combine(dir, "state"), parallelism: 2);

        var id = local.Submit(new SubmitRequest(script, dir, "t", "0-2", null, "c")).JobId;
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
        var up = local.Submit(new SubmitRequest(failing, dir, "up", "0", null, "c1")).JobId;
        var down = local.Submit(new SubmitRequest(failing, dir, "down", "0-1", $"afterok:{up}", "c2")).JobId;
        var other = local.Submit(new SubmitRequest(failing, dir, "other", "0", null, "c3")).JobId;
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
        var id = local.Submit(new SubmitRequest(Script(dir, "exit 0"), dir, "x", "0-1", null, "c")).JobId;
        Assert.Equal(TaskStateKind.Pending, local.Query([id]).Find(id, 0)!.Kind);
        // the Submit process that recorded the job is gone (a pid that is not running)
        var text = File.ReadAllText(local.StateFile).Replace($"\"RunnerPid\": {Environment.ProcessId}", "\"RunnerPid\": 2147483000");
        File.WriteAllText(local.StateFile, text);

        var t = local.Query([id]).Find(id, 1)!;

        Assert.Equal(TaskStateKind.Cancelled, t.Kind);
        Assert.Contains("ended first", t.Reason);
    }

    [Fact]
    public void Log_patterns_expand_like_SLURM()
        => Assert.Equal("logs/x_12_3_15_root_vm_%.out", LocalScheduler.ExpandLogPattern("logs/%x_%A_%a_%j_%u_%N_%%.out", "12", 3, "15", "x", "root", "vm"));
}
