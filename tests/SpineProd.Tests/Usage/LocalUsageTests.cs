using SpineProd.Scheduler;
using SpineProd.Scheduler.Local;
using SpineProd.Tests.Infrastructure;
using Xunit;

namespace SpineProd.Tests.Usage;

/// <summary>The local scheduler measures what each task used, as SLURM's accounting would.</summary>
public sealed class LocalUsageTests
{
    [Fact]
    public void A_local_task_reports_its_peak_memory_CPU_time_request_and_host()
    {
        var dir = Repo.Scratch("local-usage");
        var script = Path.Combine(dir, "job.sh");
        File.WriteAllText(script, """
            #!/bin/bash
            # a child process holds ~300 MB (as SPINE's own workers would), then some CPU work
            if [ "$SLURM_ARRAY_TASK_ID" = 0 ]; then head -c 300M /dev/zero | tail -n 1 >/dev/null; fi
            i=0; while [ $i -lt 20000 ]; do i=$((i+1)); done
            sleep 0.5
            """);
        var local = new LocalScheduler(Path.Combine(dir, "state"), parallelism: 2);
        var id = local.Submit(new JobRequest(script, dir, "usage", ArraySpec.Parse("0-1"), [], "c",
            // the plan's resources, as Submit sends them: 512M per CPU × 2 CPUs
            ResourceValues.FromPlan(new SpineProd.Planning.Resources { Walltime = TimeSpan.FromMinutes(5), CpusPerTask = 2, MemPerCpuBytes = 512L << 20, Gpus = 0 }))).JobId;
        local.RunPending();

        var snap = local.Query([id]);
        var big = snap.Find(id, 0)!.Usage!;
        var small = snap.Find(id, 1)!.Usage!;
        Assert.InRange(big.PeakMemoryBytes!.Value, 250L << 20, 2L << 30);
        Assert.InRange(small.PeakMemoryBytes!.Value, 1, 100L << 20);
        Assert.True(big.CpuTime > TimeSpan.Zero, "no CPU time measured");
        Assert.True(big.Elapsed >= big.CpuTime / 2 - TimeSpan.FromSeconds(1));
        Assert.Equal(TimeSpan.FromMinutes(5), big.RequestedTime);
        Assert.Equal(1024L << 20, big.RequestedMemoryBytes);          // per CPU × CPUs
        Assert.Equal(2, big.Cpus);
        Assert.Equal(0, big.Gpus);
        Assert.Equal(Environment.MachineName, big.Node);
        Assert.True(big.Start <= big.End);
    }

    [Theory]
    [InlineData("0m0.001s 0m0.002s\n0m1.250s 0m0.250s\n", 1.5)]
    [InlineData("0m0,001s 0m0,002s\n1m1,000s 0m0,500s\n", 61.5)]
    public void Bash_times_children_line_is_the_CPU_time(string output, double seconds) =>
        Assert.Equal(seconds, LocalTaskMeter.ChildrenCpuTime(output)!.Value.TotalSeconds, 3);
}
