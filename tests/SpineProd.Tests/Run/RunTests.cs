using System.Text.Json;
using SpineProd.Run;
using SpineProd.Scheduler;
using SpineProd.Submission;
using SpineProd.Tests.Cluster;
using SpineProd.Tests.Infrastructure;
using Xunit;

namespace SpineProd.Tests.Run;

public sealed class RetryValuesTests
{
    [Theory]
    [InlineData(10, "--time=0:00:10")]
    [InlineData(61, "--time=0:02:00")]
    [InlineData(7200, "--time=2:00:00")]
    [InlineData(90000, "--time=1-01:00:00")]
    public void A_raised_time_is_written_as_SLURM_reads_it_rounded_up_to_its_minute(int seconds, string expected) =>
        Assert.Equal([expected], Schedulers.Dialect("slurm").RaisedLimitOptions(new RaisedLimits(TimeSpan.FromSeconds(seconds), null).Request(new())));

    [Fact]
    public void Raised_limits_are_values_each_scheduler_spells_as_options_that_win_over_the_script()
    {
        var limits = new RaisedLimits(TimeSpan.FromMinutes(2), 600L << 20);
        var resources = new global::SpineProd.Planning.Resources { CpusPerTask = 2, Gpus = 1 };
        Assert.Equal(["--time=0:02:00", "--mem-per-cpu=600M"], Schedulers.Dialect("slurm").RaisedLimitOptions(limits.Request(resources)));
        // the local scheduler reads sbatch's options over the script's #SBATCH lines
        Assert.Equal(["--time=0:02:00", "--mem-per-cpu=600M"], Schedulers.Dialect("local").RaisedLimitOptions(limits.Request(resources)));
        // PBS: walltime, and memory as the template's whole select chunk (a command-line select replaces the script's)
        Assert.Equal(["-l", "walltime=00:02:00", "-l", "select=1:ncpus=2:mem=1200mb:ngpus=1"], Schedulers.Dialect("pbs").RaisedLimitOptions(limits.Request(resources)));
        Assert.Equal(["-l", "walltime=01:30:00"], Schedulers.Dialect("pbs").RaisedLimitOptions(new RaisedLimits(TimeSpan.FromMinutes(90), null).Request(resources)));
        Assert.Equal(["-l", "select=1:ncpus=1:mem=1gb"], Schedulers.Dialect("pbs").RaisedLimitOptions(new RaisedLimits(null, 1L << 30).Request(new())));
        Assert.Equal("time 00:02:00 and 600M per CPU", limits.ToString());
        Assert.Equal(1L << 20, RaisedLimits.WholeMiB(1));
    }

    [Fact]
    public void A_partition_limit_is_read_from_scontrol()
    {
        var l = SlurmPartitionLimits.Parse("PartitionName=gpu MaxNodes=UNLIMITED MaxTime=2-00:00:00 MinNodes=0 DefMemPerNode=UNLIMITED MaxMemPerNode=16000", 4);
        Assert.Equal(TimeSpan.FromDays(2), l.MaxTime);
        Assert.Equal(4000L << 20, l.MaxMemPerCpuBytes);
        var none = SlurmPartitionLimits.Parse("PartitionName=cpu MaxTime=UNLIMITED MaxMemPerNode=UNLIMITED", 1);
        Assert.Equal((null, null), (none.MaxTime, none.MaxMemPerCpuBytes));
        Assert.Equal(2000L << 20, SlurmPartitionLimits.Parse("MaxTime=1:00:00 MaxMemPerCPU=2000 MaxMemPerNode=64000", 8).MaxMemPerCpuBytes);
    }
}

/// <summary>
/// -t:Run as a user runs it (`dotnet build` in a child process): one production with a task that
/// succeeds, one that fails for good, one that times out (and one that runs out of memory, where the
/// scheduler measures memory): Run retries the timed-out and out-of-memory tasks with larger limits,
/// leaves the deterministic failure after its one attempt, writes the report, says why, fails the
/// build (SPN5030), and History lists every attempt.
/// </summary>
public abstract class RunScenarios : EndToEndScenarios
{
    protected DotnetBuild.Result RunAndRetry(ScratchProduction p, params (string, string)[] props)
    {
        var all = new Dictionary<string, string> { ["PollInterval"] = "2" };
        foreach (var (k, v) in props) all[k] = v;
        var r = DotnetBuild.Run(p.ProjectFile, "Run", all, TimeSpan.FromMinutes(9));
        Assert.False(r.Succeeded, "a production with a task that fails for good must fail Run:\n" + r.Output);
        Assert.Contains("SPN5030", r.Output);
        return r;
    }

    protected static List<(string Action, List<string> Argv)> History(ScratchProduction p)
    {
        var r = DotnetBuild.Run(p.ProjectFile, "History", new Dictionary<string, string> { ["HistoryFormat"] = "json" });
        Assert.True(r.Succeeded, r.Output);
        var plan = Plan(p);
        var journal = File.ReadAllLines(Path.Combine(plan.StateDir, "audit.jsonl"))
            .Select(l => JsonDocument.Parse(l).RootElement).ToList();
        return journal.Select(j => (j.GetProperty("action").GetString()!,
            j.GetProperty("commands").EnumerateArray().SelectMany(c => c.GetProperty("argv").EnumerateArray().Select(a => a.GetString()!)).ToList())).ToList();
    }
}

public sealed class LocalRunTests : RunScenarios
{
    protected override string Scheduler => "local";

    [Fact]
    public void Run_retries_a_timed_out_task_with_more_time_and_leaves_a_failure_after_one_attempt_locally()
    {
        var p = new ScratchProduction("local-run");
        var dir = Path.Combine(p.Dir, "inputs");
        Directory.CreateDirectory(dir);
        foreach (var f in new[] { "run_0000.root", "run_0001_FAIL.root", "run_0002_SLEEP15.root" }) File.WriteAllText(Path.Combine(dir, f), "");
        p.Write($"""
                <Scheduler>local</Scheduler>
                <SpineCommand>{TestDouble}</SpineCommand>
                <MemPerCpu>200M</MemPerCpu><Time>0:00:10</Time><Gpus>0</Gpus><CpusPerTask>1</CpusPerTask>
                <RetryTimeFactor>3</RetryTimeFactor>
            """, "<Source Include=\"inputs/*.root\" />");

        var r = RunAndRetry(p);
        Assert.Contains("test task 2: timed out (attempt 1 of 3): again with time 00:00:30", r.Output);
        Assert.Contains("test task 1: FAILED, exit code 1: a failure that more memory or time does not fix, 1 time(s) (RetryFailedAttempts=1)", r.Output);
        Assert.Contains("test: 2 of 3 task(s) complete, 1 failed", r.Output);
        var plan = Plan(p);
        Assert.Contains($"report: {Path.Combine(plan.StateDir, "report.html")}", r.Output);
        Assert.True(File.Exists(Path.Combine(plan.StateDir, "report.html")));

        var status = Status(p);
        Assert.Equal((2, 1), (status.Totals.Completed, status.Totals.Failed));
        var history = History(p);
        Assert.Equal(["Submit", "Retry"], history.Select(h => h.Action));
        Assert.Contains("--time=0:00:30", history[1].Argv);
        // the retry sent the timed-out task (on a loaded machine a quick one may time out too), never the failed one
        var ledger = Ledger.Load(plan.StateDir, plan.ProductionName);
        Assert.True(ArraySpec.TryParse(ledger.Submissions[1].Stages.Single().Arrays.Single().Tasks, out var retried));
        Assert.Contains(2, retried.Indices);
        Assert.DoesNotContain(1, retried.Indices);
    }

    [Fact]
    public void A_bad_retry_factor_is_an_error_at_its_line()
    {
        var p = new ScratchProduction("local-run-bad");
        p.Inputs(1);
        p.Write($"""
                <Scheduler>local</Scheduler>
                <SpineCommand>{TestDouble}</SpineCommand>
                <RetryMemoryFactor>0.5</RetryMemoryFactor>
            """, "<Source Include=\"inputs/*.root\" />");
        var r = DotnetBuild.Run(p.ProjectFile, "Run");
        Assert.False(r.Succeeded);
        Assert.Matches(@"test\.spineproj\(\d+,1\): error SPN5031: RetryMemoryFactor '0\.5' is not a factor above 1", r.Output);
        Assert.False(File.Exists(Path.Combine(p.StateDir, "submissions.json")), "nothing may be submitted");
    }
}

[Collection("cluster")]
public sealed class SlurmRunTests(ClusterFixture cluster) : RunScenarios
{
    protected override string Scheduler => "slurm";

    /// <summary>
    /// The test cluster's shared production (<see cref="SlurmTimeouts"/>) after its first attempt, whose
    /// Status the usage facts read: -t:Run takes it from there, as a user runs it after a Submit. The
    /// timed-out task sleeps 100 s, past all SLURM may let it run over its first one-minute limit, and
    /// well within the three minutes of its retry.
    /// </summary>
    [Fact]
    public void Run_retries_out_of_memory_and_timed_out_tasks_with_larger_limits_on_slurm()
    {
        var p = SlurmTimeouts.Get(cluster).Mixed;
        var config = ProcessRunner.Instance.Run("scontrol", ["show", "config"], TimeSpan.FromSeconds(30)).Stdout;
        bool memory = config.Contains("task/cgroup", StringComparison.Ordinal);   // where memory is enforced (SPINEPROD_CLUSTER_CGROUP)

        // Run's polls grow by half each time from PollInterval: from 2.5 s, one falls at 123 s, just
        // after the retried sleeper ends (from 2 s they fall at 99 and 150 s).
        var r = RunAndRetry(p, ("RetryMemoryFactor", "4"), ("RetryTimeFactor", "3"), ("RetryMaxTime", "4m"), ("PollInterval", "2.5"));
        Assert.Contains("timed out (attempt 1 of 3): again with time 00:03:00", r.Output);
        if (memory) Assert.Contains("out of memory (attempt 1 of 3): again with 1000M per CPU", r.Output);
        Assert.Contains("a failure that more memory or time does not fix", r.Output);
        Assert.Contains("waiting, poll", r.Output);   // visible progress while the jobs run

        var status = WaitFinished(p);
        Assert.Equal(SlurmTimeouts.MixedInputs.Length - 1, status.Totals.Completed);
        Assert.Equal(1, status.Totals.Failed);
        var history = History(p);
        Assert.Equal("Submit", history[0].Action);
        Assert.All(history.Skip(1), h => Assert.Equal("Retry", h.Action));
        Assert.Contains(history, h => h.Argv.Contains("--time=0:03:00"));
        if (memory) Assert.Contains(history, h => h.Argv.Contains("--mem-per-cpu=1000M"));

        // Status after Run, as a user runs it: the first attempt's job, over for minutes, is settled
        // and never asked about again (the retries' jobs, just over, may still be); the same numbers.
        Run(p, "Status");
        var again = Run(p, "Status").Output;
        Assert.Matches(@"\(\d+ finished job\(s\) not asked again\)", again);
        var json = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(Path.Combine(p.StateDir, "status.json")))!;
        Assert.True((int)json["settled_jobs"]! >= 1, again);
        Assert.Equal(status.Totals.Completed, (int)json["totals"]!["completed"]!);
        Assert.Contains("spine-test-double: failing on purpose", again);   // the failure's log tail, its row kept
    }
}
