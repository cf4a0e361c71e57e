using System.Text.Json.Nodes;
using SpineProd.Planning;
using SpineProd.Scheduler;
using SpineProd.Scheduler.Slurm;
using SpineProd.Submission;
using SpineProd.Tests.Infrastructure;
using Xunit;

namespace SpineProd.Tests.Cluster;

/// <summary>
/// Submit, Status, resubmission and Cancel end to end, through `dotnet build -t:...` as a user runs
/// them, with the SPINE test double as SpineCommand. The same scenarios run against the real test
/// cluster (SlurmEndToEndTests) and the local scheduler (LocalEndToEndTests).
/// </summary>
public abstract class EndToEndScenarios
{
    protected abstract string Scheduler { get; }
    protected static readonly TimeSpan Deadline = TimeSpan.FromSeconds(180);
    protected static readonly string TestDouble = Repo.Path_("tests", "doubles", "spine-test-double.sh");

    /// <summary>A production of <paramref name="count"/> inputs; those whose index is in <paramref name="failing"/> make the test double fail.</summary>
    protected ScratchProduction Production(string name, int count, IReadOnlyCollection<int> failing, string extraProperties = "")
    {
        var p = new ScratchProduction($"{Scheduler}-{name}");
        var dir = Path.Combine(p.Dir, "inputs");
        Directory.CreateDirectory(dir);
        var inputs = new List<string>();
        for (int i = 0; i < count; i++)
        {
            var f = Path.Combine(dir, failing.Contains(i) ? $"run_{i:D4}_FAIL.root" : $"run_{i:D4}.root");
            File.WriteAllText(f, "");
            inputs.Add(f);
        }
        p.List("inputs.txt", inputs);
        // Resources the test cluster accepts (account ci exists in its accounting DB).
        p.Write($"""
                <Scheduler>{Scheduler}</Scheduler>
                <SpineCommand>{TestDouble}</SpineCommand>
                <FilesPerTask>2</FilesPerTask>
                <MaxArraySize>5</MaxArraySize>
                {ClusterResources()}
                {extraProperties}
            """, "<SourceList Include=\"inputs.txt\" />");
        return p;
    }

    /// <summary>Resources the test cluster accepts (account ci exists in its accounting DB; one node, 2 CPUs).</summary>
    protected static string ClusterResources(string memPerCpu = "200M", string time = "00:05:00") =>
        $"<Account>ci</Account><Partition>cpu</Partition><MemPerCpu>{memPerCpu}</MemPerCpu><Time>{time}</Time><Gpus>0</Gpus><CpusPerTask>1</CpusPerTask>";

    /// <summary>A production on the test cluster whose inputs are these empty files (names ask the test double to misbehave).</summary>
    protected static ScratchProduction ClusterProductionOf(string name, string resources, params string[] inputNames)
    {
        var p = new ScratchProduction(name);
        Directory.CreateDirectory(Path.Combine(p.Dir, "inputs"));
        foreach (var input in inputNames) File.WriteAllText(Path.Combine(p.Dir, "inputs", input), "");
        p.Write($"""
                <Scheduler>slurm</Scheduler>
                <SpineCommand>{TestDouble}</SpineCommand>
                {resources}
            """, "<Source Include=\"inputs/*.root\" />");
        return p;
    }

    protected static ProductionPlan Plan(ScratchProduction p) => ProductionPlan.Load(Path.Combine(p.PlanDir, "plan.json"));

    protected static StatusReport Status(ScratchProduction p)
    {
        var plan = Plan(p);
        return StatusReport.Create(plan, p.PlanDir, Schedulers.Factory(plan.StateDir));
    }

    /// <summary>Polls (one batched query a second) until nothing is pending or running, or fails at the deadline.</summary>
    protected static StatusReport WaitFinished(ScratchProduction p)
    {
        var plan = Plan(p);
        var schedulers = Schedulers.Factory(plan.StateDir);
        var end = DateTime.UtcNow + Deadline;
        while (true)
        {
            var report = StatusReport.Create(plan, p.PlanDir, schedulers);
            // sacct lags squeue by a second or two: also wait for the exit codes of finished tasks.
            bool settled = report.IsFinished && report.Problems.All(t => t.Scheduler is { ExitCode: not null });
            if (settled) return report;
            Assert.True(DateTime.UtcNow < end, "not finished by the deadline:\n" + string.Join("\n", report.Render()));
            Thread.Sleep(1000);
        }
    }

    protected static DotnetBuild.Result Run(ScratchProduction p, string target, params (string, string)[] props)
    {
        var r = DotnetBuild.Run(p.ProjectFile, target, props.ToDictionary(x => x.Item1, x => x.Item2));
        Assert.True(r.Succeeded, $"dotnet build -t:{target} failed:\n{r.Output}");
        return r;
    }

    protected void Submit_waits_checks_then_resubmits_exactly_the_failed_tasks()
    {
        var p = Production("resubmit", 25, failing: [5, 12]);

        var first = Run(p, "Submit");
        Assert.Contains("submitted 13 task(s) in 3 array(s)", first.Output);
        var plan = Plan(p);
        var stage = Assert.Single(plan.Stages);
        Assert.Equal(3, stage.Arrays.Count);
        var ledger = Ledger.Load(plan.StateDir, plan.ProductionName);
        var sub1 = Assert.Single(ledger.Submissions);
        Assert.Equal(Scheduler, sub1.Scheduler);
        Assert.Equal(["0-4", "0-4", "0-2"], sub1.Stages.Single().Arrays.Select(a => a.ArraySpec));
        Assert.All(sub1.Stages.Single().Arrays, a => Assert.False(string.IsNullOrEmpty(a.JobId)));

        var report = WaitFinished(p);
        Assert.Equal(11, report.Totals.Completed);
        Assert.Equal(2, report.Totals.Failed);
        // inputs 5 and 12 are in tasks 2 and 6 (two files a task)
        Assert.Equal([2, 6], report.Problems.Select(t => t.Task));
        Assert.Contains(report.Problems, t => t.Inputs.Any(i => i.EndsWith("run_0005_FAIL.root")));
        foreach (var t in report.Problems)
        {
            Assert.Equal(TaskState.Failed, t.Status);
            Assert.StartsWith("1", t.Scheduler!.ExitCode);
            Assert.Contains("failing on purpose", File.ReadAllText(t.LogPath(error: true)!));
        }

        // every output of every successful task, named as SPINE's split_output names them
        var outStem = Path.GetFileNameWithoutExtension(stage.Output);
        var inputs = File.ReadAllLines(Path.Combine(p.Dir, "inputs.txt"));
        foreach (var input in inputs.Where(i => !i.Contains("run_0004") && !i.Contains("run_0005") && !i.Contains("run_0012") && !i.Contains("run_0013")))
            Assert.True(File.Exists(Path.Combine(stage.OutputDir, $"{Path.GetFileNameWithoutExtension(input)}_{outStem}.h5")), $"no output for {input}");
        Assert.Equal(11, Directory.GetFiles(Path.Combine(plan.StateDir, "markers", stage.Name), "*.done").Length);

        // the job folder and its metadata
        var folder = sub1.Stages.Single().JobFolder;
        Assert.StartsWith(plan.JobsDir, folder);
        Assert.Matches(@"\d{8}_\d{6}_", Path.GetFileName(folder));
        foreach (var f in new[] { "files_chunk_0.txt", "files_chunk_2.txt", "submit_chunk_0.sbatch", "submit_chunk_2.sbatch" })
            Assert.True(File.Exists(Path.Combine(folder, f)), f);
        Assert.True(Directory.Exists(Path.Combine(folder, "logs")));
        var meta = JsonNode.Parse(File.ReadAllText(Path.Combine(folder, JobMetadata.FileName)))!.AsObject();
        foreach (var key in new[] { "spine_prod_version", "job_name", "detector", "config", "original_config", "applied_modifiers", "profile", "profile_config",
                                    "num_files", "num_chunks", "job_ids", "output", "submitted", "command",
                                    "resolved_profile", "config_sha256", "sdk_version", "git_commit", "user", "host", "max_array_size", "stage", "arrays" })
            Assert.True(meta.ContainsKey(key), $"job_metadata.json has no {key}");
        Assert.Equal(25, (int)meta["num_files"]!);
        Assert.Equal(5, (int)meta["max_array_size"]!);
        Assert.Equal(sub1.Stages.Single().Arrays.Select(a => a.JobId), meta["job_ids"]!.AsArray().Select(x => (string?)x));
        var array0 = meta["arrays"]!.AsArray()[0]!.AsObject();
        Assert.Equal("0-4", (string?)array0["tasks"]);
        var argv = array0["submit_argv"]!.AsArray().Select(x => (string)x!).ToList();
        Assert.Contains("--parsable", argv);
        Assert.Contains($"--chdir={folder}", argv);
        Assert.Contains("-t:Submit", (string?)meta["command"]);

        // Status as a user sees it, and status.json
        var status = Run(p, "Status");
        Assert.Contains("2 task(s) did not succeed", status.Output);
        Assert.Contains("run_0005_FAIL.root", status.Output);
        Assert.Contains("run_0012_FAIL.root", status.Output);
        var json = JsonNode.Parse(File.ReadAllText(SpineProd.Layout.ProductionLayout.Of(plan).StatusFile))!;
        Assert.Equal(2, (int)json["totals"]!["failed"]!);
        Assert.Equal(11, (int)json["totals"]!["completed"]!);
        // CI can make unsuccessful tasks fail the build
        var strict = DotnetBuild.Run(p.ProjectFile, "Status", new Dictionary<string, string> { ["FailOnProblems"] = "true" });
        Assert.False(strict.Succeeded);
        Assert.Contains("error SPN3017", strict.Output);

        // fix the cause, Submit again: exactly the two failed tasks go
        File.WriteAllText(Path.Combine(p.Dir, "inputs", "spine-test-double.fixed"), "");
        var second = Run(p, "Submit");
        Assert.Contains("2 task(s) failed: 2,6", second.Output);
        Assert.Contains("submitted 2 task(s) in 2 array(s)", second.Output);
        // and wait for them as a user would
        var waited = Run(p, "Status", ("Wait", "true"), ("PollInterval", "1"), ("WaitTimeout", "120"));
        Assert.Contains("All tasks complete.", waited.Output);
        ledger = Ledger.Load(plan.StateDir, plan.ProductionName);
        Assert.Equal(2, ledger.Submissions.Count);
        var again = ledger.Submissions[1].Stages.Single().Arrays;
        Assert.Equal(["2", "6"], again.Select(a => a.Tasks));
        Assert.Equal(["2", "1"], again.Select(a => a.ArraySpec));   // array indices inside arrays 0 and 1

        report = WaitFinished(p);
        Assert.True(report.IsComplete, string.Join("\n", report.Render()));
        foreach (var input in inputs)
            Assert.True(File.Exists(Path.Combine(stage.OutputDir, $"{Path.GetFileNameWithoutExtension(input)}_{outStem}.h5")), $"no output for {input}");

        // nothing left: a third Submit submits nothing
        var third = Run(p, "Submit");
        Assert.Contains("Nothing to submit", third.Output);
        Assert.Equal(2, Ledger.Load(plan.StateDir, plan.ProductionName).Submissions.Count);
    }
}

[Collection("cluster")]
public sealed class SlurmEndToEndTests(ClusterFixture cluster) : EndToEndScenarios
{
    protected override string Scheduler => "slurm";

    [Fact]
    public void Submit_waits_checks_then_resubmits_exactly_the_failed_tasks_on_slurm()
    {
        cluster.Require();
        Submit_waits_checks_then_resubmits_exactly_the_failed_tasks();
    }

    [Fact]
    public void Cancel_cancels_tasks_waiting_on_a_long_dependency()
    {
        cluster.Require();
        // A job held forever stands for a long upstream job.
        var hold = ProcessRunner.Instance.Run("sbatch", ["--parsable", "--hold", "--account=ci", "--job-name=spineprod-test-hold", "--output=/dev/null", "--wrap=true"], TimeSpan.FromSeconds(30));
        Assert.True(hold.Succeeded, hold.Message);
        var holdId = hold.Stdout.Trim();
        try
        {
            var p = Production("cancel", 6, failing: [], $"<Dependency>afterok:{holdId}</Dependency>");
            Run(p, "Submit");
            var before = Status(p);
            Assert.Equal(3, before.Totals.Pending);

            var cancel = Run(p, "Cancel");
            Assert.Contains("cancelled 3 pending and 0 running task(s)", cancel.Output);
            var after = Status(p);
            Assert.Equal(0, after.Totals.Pending);
            Assert.Equal(3, after.Totals.Cancelled);

            Assert.Contains("nothing to cancel", Run(p, "Cancel").Output);
        }
        finally
        {
            ProcessRunner.Instance.Run("scancel", [holdId], TimeSpan.FromSeconds(30));
        }
    }

    [Fact]
    public void Build_reads_MaxArraySize_from_the_cluster_when_the_production_sets_none()
    {
        cluster.Require();
        var p = new ScratchProduction("slurm-maxarray");
        p.Inputs(3);
        p.Write("<Scheduler>slurm</Scheduler>", "<Source Include=\"inputs/*.root\" />");
        var expected = SlurmClient.ParseMaxArraySize(ProcessRunner.Instance.Run("scontrol", ["show", "config"], TimeSpan.FromSeconds(30)).Stdout);

        Run(p, "Build");

        var plan = Plan(p);
        Assert.Equal("cluster", plan.MaxArraySizeSource);
        Assert.Equal(expected, plan.MaxArraySize);
    }
}

/// <summary>The same production with -p:Scheduler=local: no cluster needed, the same markers, logs and Status.</summary>
public sealed class LocalEndToEndTests : EndToEndScenarios
{
    protected override string Scheduler => "local";

    [Fact]
    public void Submit_waits_checks_then_resubmits_exactly_the_failed_tasks_locally()
        => Submit_waits_checks_then_resubmits_exactly_the_failed_tasks();

    [Fact]
    public void Cancel_after_a_local_run_has_nothing_to_cancel_and_says_so()
    {
        var p = Production("cancel", 4, failing: []);
        Run(p, "Submit");
        Assert.True(Status(p).IsComplete);
        Assert.Contains("nothing to cancel", Run(p, "Cancel").Output);
    }

    [Fact]
    public void Build_with_the_local_scheduler_never_asks_a_cluster()
    {
        var p = new ScratchProduction("local-maxarray");
        p.Inputs(3);
        p.Write("<Scheduler>local</Scheduler>", "<Source Include=\"inputs/*.root\" />");
        Run(p, "Build");
        Assert.NotEqual("cluster", Plan(p).MaxArraySizeSource);
    }
}
