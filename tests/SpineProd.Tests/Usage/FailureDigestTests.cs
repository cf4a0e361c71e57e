using SpineProd.Planning;
using SpineProd.Scheduler;
using SpineProd.Scheduler.Slurm;
using SpineProd.Submission;
using SpineProd.Tests.Infrastructure;
using SpineProd.Usage;
using Xunit;

namespace SpineProd.Tests.Usage;

/// <summary>Failures a person can act on: grouped by cause, with the end of each error log; cancelled apart.</summary>
public sealed class FailureDigestTests
{
    private static readonly SubmissionRecord Sub = new() { Id = "s1", Scheduler = "slurm" };

    private static TaskInfo Task(string dir, int task, TaskState status, string state, string? exit, string? reason = null, string? log = null)
    {
        var stage = new StagePlan { Name = "reco" };
        var array = new ArrayPlan { Index = 0, FirstTask = 0, TaskCount = 100 };
        var sub = new StageSubmission { Stage = "reco", JobFolder = dir };
        var arr = new ArraySubmission { JobId = "12", JobName = "reco", FirstTask = 0 };
        if (log is not null)
        {
            Directory.CreateDirectory(Path.Combine(dir, "logs"));
            File.WriteAllText(TaskInfo.LogFile(Sub, sub, arr, task, error: true)!, log);
        }
        return new TaskInfo
        {
            Stage = stage, Array = array, Task = task, Inputs = [$"/data/in_{task}.root"], Status = status, Detail = state,
            Submission = Sub, StageSubmission = sub, ArraySubmission = arr,
            Scheduler = new SchedulerTask("12", task, state, SlurmDialect.Classify(state), exit, reason),
        };
    }

    [Fact]
    public void Failures_with_one_cause_are_one_group_and_cancelled_tasks_are_not_failures()
    {
        var dir = Repo.Scratch("digest");
        var noise = string.Join("\n", Enumerable.Range(0, 5000).Select(i => $"line {i} of a long log"));
        var tasks = new List<TaskInfo>
        {
            Task(dir, 1, TaskState.Failed, "FAILED", "1:0", log: noise + "\nTraceback (most recent call last):\nKeyError: 'run 17'\n"),
            Task(dir, 2, TaskState.Failed, "FAILED", "1:0", log: "KeyError: 'run 18'\n\n"),
            Task(dir, 3, TaskState.OutOfMemory, "OUT_OF_MEMORY", "0:125", log: "slurmstepd: error: Detected 1 oom_kill event in StepId=12_3.batch\n"),
            Task(dir, 4, TaskState.Cancelled, "CANCELLED by 1000", "0:0"),
            Task(dir, 5, TaskState.Cancelled, "CANCELLED", "0:0", reason: "DependencyNeverSatisfied"),
            Task(dir, 6, TaskState.Failed, "FAILED", "2:0"),   // no log at all
        };

        var d = FailureDigest.Build(tasks);

        Assert.Equal(3, d.Groups.Count);
        var key = d.Groups[0];
        Assert.Equal([1, 2], key.Tasks.Select(t => t.Task));                       // numbers differ, the cause is one
        Assert.Equal("KeyError: 'run 17'", key.Message);
        Assert.Equal(["line 4998 of a long log", "line 4999 of a long log", "Traceback (most recent call last):", "KeyError: 'run 17'"],
            d.Tails[tasks[0]].TakeLast(4));
        Assert.Equal(5, d.Tails[tasks[0]].Count);
        Assert.Equal([4], d.Cancelled.Select(t => t.Task));
        Assert.Equal([5], d.Blocked.Select(t => t.Task));
        Assert.Equal("cancelled", d.Cause(tasks[3]));
        Assert.Equal("failed", d.Cause(tasks[5]));
        Assert.Equal("FAILED", d.Groups.Single(g => g.Tasks[0].Task == 6).Message);   // no log: the scheduler's words
    }

    [Fact]
    public void A_fifo_in_place_of_a_log_does_not_hang_Status()
    {
        var dir = Repo.Scratch("digest-fifo");
        Directory.CreateDirectory(Path.Combine(dir, "logs"));
        var fifo = Path.Combine(dir, "logs", "x.err");
        Assert.Equal(0, System.Diagnostics.Process.Start("mkfifo", [fifo])!.WaitForExitAsync().Wait(5000) ? 0 : 1);
        Assert.Empty(FailureDigest.Tail(fifo, 5));
    }
}
