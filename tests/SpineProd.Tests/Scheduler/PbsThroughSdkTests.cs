using System.Text.Json.Nodes;
using SpineProd.Planning;
using SpineProd.Scheduler;
using SpineProd.Submission;
using SpineProd.Tests.Cluster;
using SpineProd.Tests.Infrastructure;
using SpineProd.Tests.Pbs;
using Xunit;

namespace SpineProd.Tests.Scheduler;

/// <summary>
/// <c>-p:Scheduler=pbs</c> as a user runs it (<c>dotnet build -t:Submit/Status/Cancel</c> in a child
/// process, the PBS commands on PATH as at a site) on the real OpenPBS test server: the same
/// Submitter, ledger, Status and Cancel as SLURM, through the neutral interface.
/// </summary>
[Collection("pbs")]
public sealed class PbsThroughSdkTests(PbsServerFixture server)
{
    private static readonly Dictionary<string, string?> PbsOnPath = new()
    {
        ["PATH"] = PbsServerFixture.BinDir + ":" + Environment.GetEnvironmentVariable("PATH"),
    };

    private static ScratchProduction Production(string name, params string[] inputs)
    {
        var p = new ScratchProduction(name);
        p.NamedInputs(inputs);
        p.Write($"""
                <Scheduler>pbs</Scheduler>
                <SpineCommand>{TestDoubles.Spine}</SpineCommand>
                <Account>ci</Account><Partition>workq</Partition><MemPerCpu>200M</MemPerCpu><CpusPerTask>1</CpusPerTask><Gpus>0</Gpus><Time>00:05:00</Time>
            """, "<Source Include=\"inputs/*.root\" />");
        return p;
    }

    private static DotnetBuild.Result Run(ScratchProduction p, string target, params (string, string)[] props)
    {
        var r = DotnetBuild.Run(p.ProjectFile, target, props.ToDictionary(x => x.Item1, x => x.Item2), environment: PbsOnPath);
        Assert.True(r.Succeeded, $"dotnet build -t:{target} -p:Scheduler=pbs failed:\n{r.Output}");
        return r;
    }

    private static JsonObject WaitStatus(ScratchProduction p)
    {
        Run(p, "Status", ("Wait", "true"), ("PollInterval", "1"), ("WaitTimeout", "180"));
        return (JsonObject)JsonNode.Parse(File.ReadAllText(Path.Combine(p.StateDir, "status.json")))!;
    }

    [Fact]
    public void Submit_status_and_resubmission_of_the_failed_task_go_through_qsub_and_qstat()
    {
        server.Require();
        var p = Production("pbs-sdk", "r0.root", "r1_FAIL.root", "r2.root");

        var first = Run(p, "Submit");
        Assert.Contains("MaxArraySize", first.Output);                      // read from the server (qstat -B)
        var plan = ProductionPlan.Load(Path.Combine(p.PlanDir, "plan.json"));
        Assert.Equal("pbs", plan.Scheduler);
        Assert.Contains("PBS_ARRAY_INDEX", File.ReadAllText(Path.Combine(p.StageDir, plan.Stages[0].Arrays[0].Script)));   // its own template
        var ledger = Ledger.Load(plan.StateDir, plan.ProductionName);
        var array = Assert.Single(Assert.Single(Assert.Single(ledger.Submissions).Stages).Arrays);
        Assert.Equal("pbs", ledger.Submissions[0].Scheduler);
        Assert.Matches(@"^\d+\[\]\.\S+$", array.JobId);
        Assert.Equal("qsub", array.Argv[0]);
        Assert.Contains("0-2", array.Argv);

        var status = WaitStatus(p);
        Assert.Equal(2, (int)status["totals"]!["completed"]!);
        Assert.Equal(1, (int)status["totals"]!["failed"]!);
        var problem = Assert.Single(status["problems"]!.AsArray())!;
        Assert.Equal(1, (int)problem["task"]!);
        Assert.Equal(array.JobId!.Replace("[]", "[1]"), (string)problem["job"]!);
        Assert.Contains("r1_FAIL", File.ReadAllText((string)problem["log_err"]!) + File.ReadAllText((string)problem["log_out"]!));

        // only the failed task goes again: one index, a one-element PBS array
        Run(p, "Submit");
        ledger = Ledger.Load(plan.StateDir, plan.ProductionName);
        var again = Assert.Single(ledger.Submissions[^1].Stages.Single().Arrays);
        Assert.Equal("1", again.Tasks);
        Assert.Contains("1-2:2", again.Argv);
        Assert.NotEqual(array.JobId, again.JobId);
        status = WaitStatus(p);
        Assert.Equal(again.JobId!.Replace("[]", "[1]"), (string)Assert.Single(status["problems"]!.AsArray())!["job"]!);
    }

    [Fact]
    public void Cancel_qdels_only_this_productions_live_jobs_and_Status_then_says_cancelled()
    {
        server.Require();
        var p = Production("pbs-cancel", "a_SLEEP60.root", "b_SLEEP60.root");
        Run(p, "Submit");
        var plan = ProductionPlan.Load(Path.Combine(p.PlanDir, "plan.json"));
        var jobId = Ledger.Load(plan.StateDir, plan.ProductionName).AllArrays().Single().Array.JobId!;

        var cancel = Run(p, "Cancel");
        Assert.Contains($"(jobs {jobId})", cancel.Output);

        var status = WaitStatus(p);
        Assert.Equal(2, (int)status["totals"]!["cancelled"]!);
        var qstat = SpineProd.Scheduler.ProcessRunner.Instance.Run(Path.Combine(PbsServerFixture.BinDir, "qstat"), ["-x", "-f", "-F", "json", jobId], TimeSpan.FromSeconds(30));
        Assert.Equal("F", (string?)JsonNode.Parse(qstat.Stdout)!["Jobs"]![jobId]!["job_state"]);
    }
}
