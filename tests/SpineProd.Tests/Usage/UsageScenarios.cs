using System.Text.Json.Nodes;
using SpineProd.Layout;
using SpineProd.Options;
using SpineProd.Tests.Cluster;
using SpineProd.Tests.Infrastructure;
using SpineProd.Tests.Run;
using Xunit;

namespace SpineProd.Tests.Usage;

/// <summary>
/// A production whose tasks succeed, fail, run out of memory and time out, then `-t:Status` as a
/// user runs it: each task's usage in the table, status.json and trace.tsv, the failures by cause
/// with their log tails, and the request that would have fitted. The same on the real SLURM
/// cluster and with the local scheduler.
/// </summary>
public abstract class UsageScenarios : EndToEndScenarios
{
    /// <summary>Time limit and the sleep that overruns it (SLURM counts whole minutes, checked every ~30 s).</summary>
    protected abstract (string Limit, int Sleep) Overrun { get; }

    /// <summary>What the production asks per CPU (the test cluster's shared production asks more: -t:Run retries it after).</summary>
    protected virtual string MemPerCpu => "150M";
    private long RequestedBytes => SettingValues.ParseMemory(MemPerCpu)!.Value;

    /// <summary>A production of its own, submitted and waited for, then its Status as a user runs it.</summary>
    protected void Every_task_shows_what_it_used_and_failures_are_grouped_with_their_log_tails()
    {
        var p = new ScratchProduction($"{Scheduler}-usage");
        Directory.CreateDirectory(Path.Combine(p.Dir, "inputs"));
        string[] inputs = ["run_ok1.root", "run_ok2.root", "run_FAIL.root", "run_OOM600.root", $"run_SLEEP{Overrun.Sleep}.root"];
        foreach (var i in inputs) File.WriteAllText(Path.Combine(p.Dir, "inputs", i), "");
        p.Write($"""
                <Scheduler>{Scheduler}</Scheduler>
                <SpineCommand>{TestDouble}</SpineCommand>
                {ClusterResources(memPerCpu: MemPerCpu, time: Overrun.Limit)}
            """, "<Source Include=\"inputs/*.root\" />");

        Run(p, "Submit");
        WaitFinished(p);
        var status = Run(p, "Status").Output;
        Check(p, status, File.ReadAllText(Path.Combine(p.StateDir, "status.json")), File.ReadAllLines(ProductionLayout.Of(Plan(p)).TraceFile));
    }

    /// <summary>
    /// What Status showed of a finished first attempt of ok1, ok2, FAIL, OOM600 and a SLEEP over the
    /// time limit: its output, status.json and trace.tsv.
    /// </summary>
    protected void Check(ScratchProduction p, string status, string statusJson, string[] trace)
    {
        // the usage table, and each failure with what it used and the end of its log
        Assert.Contains("run time median/max", status);
        Assert.Contains("spine-test-double: failing on purpose", status);
        Assert.Contains("ran:    ", status);
        // (a loaded machine may push another task over the limit too)
        Assert.Matches(@"\d+ x failed, exit code 1: spine-test-double: failing on purpose", status);
        Assert.Matches(@"\d+ x timed out", status);
        Assert.Contains("hit the ", status);        // advice: a longer -p:Time
        Assert.Contains("Every attempt of every task:", status);

        var json = JsonNode.Parse(statusJson)!;
        var usage = json["stages"]![0]!["usage"]!;
        Assert.Equal(5, (int)usage["measured"]!);
        Assert.True((int)usage["completed_measured"]! >= 2);
        Assert.Equal(RequestedBytes, (long)usage["requested_memory_bytes"]!);
        Assert.NotNull(usage["peak_memory_bytes"]!["max"]);
        Assert.Contains(usage["advice"]!.AsArray(), a => (string?)a!["property"] == "Time");
        var problems = json["problems"]!.AsArray();
        Assert.All(problems, t => Assert.NotNull(t!["usage"]!["elapsed_s"]));
        var failed = problems.Single(t => ((string)t!["inputs"]![0]!).Contains("FAIL"))!;
        Assert.Equal("failed", (string?)failed["cause"]);
        Assert.Contains(failed["log_tail"]!.AsArray(), l => ((string)l!).Contains("failing on purpose"));
        Assert.NotEmpty(json["failure_groups"]!.AsArray());

        var head = trace[0].Split('\t');
        var rows = trace.Skip(1).Select(l => head.Zip(l.Split('\t')).ToDictionary(x => x.First, x => x.Second)).ToList();
        Assert.Equal(5, rows.Count);
        Assert.All(rows, r => Assert.NotEqual("", r["elapsed_s"]));
        Assert.All(rows, r => Assert.Equal(RequestedBytes.ToString(), r["requested_memory_bytes"]));
        Assert.Contains(rows, r => r["state"] == "TIMEOUT");
        Assert.True(rows.Count(r => r["state"] == "COMPLETED" && r["peak_memory_bytes"] != "") >= 2, string.Join("\n", trace));
        // the task of run_OOM600.root: its line in the plan's chunk list
        var task = File.ReadAllLines(Path.Combine(p.StageDir, "files_chunk_0.txt")).ToList().FindIndex(l => l.Contains("OOM600"));
        CheckOutOfMemory(rows.Single(r => r["task"] == task.ToString()), status);
    }

    /// <summary>What the scheduler does with a task over its memory.</summary>
    protected abstract void CheckOutOfMemory(Dictionary<string, string> row, string status);
}

[Collection("cluster")]
public sealed class SlurmUsageTests(ClusterFixture cluster) : UsageScenarios
{
    protected override string Scheduler => "slurm";
    protected override (string Limit, int Sleep) Overrun => ("00:01:00", SlurmTimeouts.MixedSleep);
    protected override string MemPerCpu => SlurmTimeouts.MixedMemPerCpu;

    /// <summary>
    /// The test cluster's shared production with such tasks (<see cref="SlurmTimeouts"/>): its Status
    /// after the first attempt, before -t:Run retries it, so that its one-minute timeout is waited for once.
    /// </summary>
    [Fact]
    public void Every_task_shows_what_it_used_and_failures_are_grouped_with_their_log_tails_on_slurm()
    {
        var shared = SlurmTimeouts.Get(cluster);
        Check(shared.Mixed, shared.MixedStatusOutput, shared.MixedStatusJson, shared.MixedTrace);
    }

    protected override void CheckOutOfMemory(Dictionary<string, string> row, string status)
    {
        var config = SpineProd.Scheduler.ProcessRunner.Instance.Run("scontrol", ["show", "config"], TimeSpan.FromSeconds(30)).Stdout;
        if (!config.Contains("task/cgroup", StringComparison.Ordinal)) return; // memory not enforced here
        Assert.Equal("OUT_OF_MEMORY", row["state"]);
        Assert.Contains("1 x out of memory", status);
        Assert.Contains("-p:MemPerCpu=", status);
    }

    [Fact]
    public void Tasks_a_user_cancelled_are_shown_as_cancelled_not_as_failures()
    {
        cluster.Require();
        var p = new ScratchProduction("slurm-usage-cancel");
        Directory.CreateDirectory(Path.Combine(p.Dir, "inputs"));
        foreach (var i in new[] { "run_SLEEP300a.root", "run_SLEEP300b.root" }) File.WriteAllText(Path.Combine(p.Dir, "inputs", i), "");
        p.Write($"""
                <Scheduler>slurm</Scheduler>
                <SpineCommand>{TestDouble}</SpineCommand>
                {ClusterResources()}
            """, "<Source Include=\"inputs/*.root\" />");
        Run(p, "Submit");
        Run(p, "Cancel");
        WaitFinished(p);

        var status = Run(p, "Status").Output;

        Assert.Contains("2 cancelled (scancel, -t:Cancel", status);
        Assert.DoesNotContain("Fix the cause", status);
        Assert.Contains("Submit again to run them", status);
        var json = JsonNode.Parse(File.ReadAllText(Path.Combine(p.StateDir, "status.json")))!;
        Assert.All(json["problems"]!.AsArray(), t => Assert.Equal("cancelled", (string?)t!["cause"]));
    }
}

public sealed class LocalUsageScenarioTests : UsageScenarios
{
    protected override string Scheduler => "local";
    protected override (string Limit, int Sleep) Overrun => ("0:40", 90);   // room for holding 600 MiB on a loaded machine (20 s was not, at a load of 19)

    [Fact]
    public void Every_task_shows_what_it_used_and_failures_are_grouped_with_their_log_tails_locally()
        => Every_task_shows_what_it_used_and_failures_are_grouped_with_their_log_tails();

    /// <summary>The local scheduler enforces no memory limit: the task completes, and its peak says what it held.</summary>
    protected override void CheckOutOfMemory(Dictionary<string, string> row, string status)
    {
        Assert.Equal("COMPLETED", row["state"]);
        Assert.InRange(long.Parse(row["peak_memory_bytes"]), 500L << 20, 4L << 30);
        Assert.Contains("-p:MemPerCpu=", status);   // 600 MB held of 150 MB asked: the advice says so
    }
}
