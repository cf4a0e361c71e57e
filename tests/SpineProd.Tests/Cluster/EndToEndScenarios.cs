using System.Text.Json.Nodes;
using SpineProd.Planning;
using SpineProd.Scheduler;
using SpineProd.Scheduler.Slurm;
using SpineProd.Submission;
using SpineProd.Tests.Infrastructure;
using Xunit;

namespace SpineProd.Tests.Cluster;

/// <summary>
/// What the end-to-end tests of one feature share (Run, usage, History, identity, hardening, sites):
/// a production with the SPINE test double as SpineCommand and resources the test cluster accepts,
/// driven through `dotnet build -t:...` as a user runs it, and Status read in-process while waiting.
/// The scenarios every scheduler must pass (submit, status, resubmission, cancel, pipelines and
/// cleanup, faults) are the suite in tests/SpineProd.Tests/Scenarios/.
/// </summary>
public abstract class EndToEndScenarios
{
    protected abstract string Scheduler { get; }
    protected static readonly TimeSpan Deadline = TimeSpan.FromSeconds(180);
    protected static readonly string TestDouble = TestDoubles.Spine;

    /// <summary>A production of <paramref name="count"/> inputs; those whose index is in <paramref name="failing"/> make the test double fail.</summary>
    protected ScratchProduction Production(string name, int count, IReadOnlyCollection<int> failing, string extraProperties = "")
    {
        var p = new ScratchProduction($"{Scheduler}-{name}");
        var inputs = p.NamedInputs(Enumerable.Range(0, count).Select(i => failing.Contains(i) ? $"run_{i:D4}_FAIL.root" : $"run_{i:D4}.root"));
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
        p.NamedInputs(inputNames);
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
}
