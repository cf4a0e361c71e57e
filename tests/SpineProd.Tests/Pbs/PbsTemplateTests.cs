using SpineProd.Planning;
using SpineProd.Scheduler;
using SpineProd.Scheduler.Pbs;
using SpineProd.Tests.Infrastructure;
using Xunit;

namespace SpineProd.Tests.Pbs;

/// <summary>
/// The PBS job template as a production renders it (<c>&lt;JobTemplate&gt;</c> through the SDK), read
/// and run on the real PBS server with the SPINE test double. The "pbs" collection runs alone, so its
/// in-process builds never overlap another.
/// </summary>
[Collection("pbs")]
public sealed class PbsTemplateTests(PbsServerFixture server)
{
    internal static ScratchProduction Production(string name, IEnumerable<string> inputNames, string resources)
    {
        var p = new ScratchProduction(name);
        p.NamedInputs(inputNames);
        p.Write($"""
                <Scheduler>pbs</Scheduler>
                <MaxArraySize>1000</MaxArraySize>
                <JobTemplate>{Repo.Path_("templates", "job.pbs.scriban")}</JobTemplate>
                <CleanupTemplate>{Repo.Path_("templates", "cleanup.pbs.scriban")}</CleanupTemplate>
                <SpineCommand>{TestDoubles.Spine}</SpineCommand>
                {resources}
            """, "<Source Include=\"inputs/*.root\" />");
        var outcome = p.Build();
        Assert.True(outcome.Succeeded, outcome.ErrorText);
        return p;
    }

    [Fact]
    public void A_rendered_PBS_job_runs_SPINE_on_each_task_on_the_real_server()
    {
        server.Require();
        var p = Production("pbs-run", ["r0.root", "r1_FAIL.root", "r2.root"],
            "<Account>ci</Account><Partition>workq</Partition><MemPerCpu>200M</MemPerCpu><CpusPerTask>1</CpusPerTask><Gpus>0</Gpus><Time>00:05:00</Time>");
        var plan = ProductionPlan.Load(Path.Combine(p.PlanDir, "plan.json"));
        var stage = Assert.Single(plan.Stages);
        var array = Assert.Single(stage.Arrays);
        // the job folder as Submit makes it: the stage's files and an empty logs/
        var jobDir = Path.Combine(p.Dir, "jobs", "pbs-job");
        Directory.CreateDirectory(Path.Combine(jobDir, "logs"));
        ProcessRunner.Instance.Run("cp", ["-r", p.StageDir + "/.", jobDir], TimeSpan.FromSeconds(30));
        Directory.CreateDirectory(Path.GetDirectoryName(stage.Output)!);
        var client = new PbsClient(options: PbsServerFixture.Options);

        var job = Assert.Single(client.Submit(new JobRequest(Path.Combine(jobDir, array.Script), jobDir, array.JobName,
            ArraySpec.Parse(array.ArraySpec), [], $"spineprod:test:{Guid.NewGuid():N}"))).JobId;
        SchedulerSnapshot snap;
        var deadline = DateTime.UtcNow.AddSeconds(90);
        do { Thread.Sleep(300); snap = client.Query([job]); }
        while ((snap.Tasks.Count < 3 || snap.Tasks.Values.Any(t => t.IsLive)) && DateTime.UtcNow < deadline);

        Assert.Equal([TaskStateKind.Completed, TaskStateKind.Failed, TaskStateKind.Completed], Enumerable.Range(0, 3).Select(i => snap.Find(job, i)?.Kind));
        var markers = Path.Combine(plan.StateDir, "markers", stage.Name);
        Assert.Equal(["0.done", "2.done"], Directory.GetFiles(markers, "*.done").Select(Path.GetFileName).Order());
        // -k doe: PBS wrote each task's output straight into logs/, named by its subjob id
        var log = Path.Combine(jobDir, "logs", job.Replace("[]", "[1]") + ".OU");
        Assert.Contains("SPINE Production Job", File.ReadAllText(log));
    }
}

/// <summary>The PBS template's directives as a build renders them (no server needed).</summary>
[Collection("msbuild")]
public sealed class PbsTemplateRenderTests
{
    private static ScratchProduction Production(string name, IEnumerable<string> inputNames, string resources) =>
        PbsTemplateTests.Production(name, inputNames, resources);

    [Fact]
    public void The_PBS_template_renders_PBS_directives_from_the_plans_resources_and_no_SLURM()
    {
        var p = Production("pbs-render", ["a.root", "b.root"],
            "<Account>14453</Account><Partition>debug</Partition><MemPerCpu>8g</MemPerCpu><CpusPerTask>4</CpusPerTask><Gpus>1</Gpus><Time>1-02:00:00</Time>");
        var script = File.ReadAllText(Path.Combine(p.StageDir, "submit_chunk_0.pbs"));

        Assert.Contains("#PBS -A 14453\n", script);
        Assert.Contains("#PBS -q debug\n", script);
        Assert.Contains("#PBS -l select=1:ncpus=4:mem=32768mb:ngpus=1\n", script);     // 8g per CPU x 4
        Assert.Contains("#PBS -l walltime=26:00:00\n", script);
        Assert.Contains("cd \"${PBS_O_WORKDIR:?", script);
        Assert.Contains("${PBS_ARRAY_INDEX:?", script);
        Assert.DoesNotContain("SBATCH", script);
        Assert.DoesNotContain("SLURM", script);
        Assert.True(ProcessRunner.Instance.Run("bash", ["-n", Path.Combine(p.StageDir, "submit_chunk_0.pbs")], TimeSpan.FromSeconds(30)).Succeeded);
    }

    [Fact]
    public void The_PBS_cleanup_template_renders_a_small_plain_job_that_checks_its_paths_again()
    {
        var p = new ScratchProduction("pbs-cleanup");
        p.List("reco.txt", p.Inputs(3));
        p.Write($"""
                <Scheduler>pbs</Scheduler>
                <MaxArraySize>1000</MaxArraySize>
                <CleanupTemplate>{Repo.Path_("templates", "cleanup.pbs.scriban")}</CleanupTemplate>
            """, """
            <Stage Include="reco" Config="spine.yaml" OutputDir="reco" Cleanup="reco" />
            <Stage Include="ana" Config="spine.yaml" InputsFrom="reco" />
            <SourceList Include="reco.txt" Stage="reco" />
            """);
        var outcome = p.Build();
        Assert.True(outcome.Succeeded, outcome.ErrorText);
        var plan = ProductionPlan.Load(Path.Combine(p.PlanDir, "plan.json"));
        var cleanup = plan.Stages[0].Cleanup!;
        var path = Path.Combine(p.PlanDir, "reco", cleanup.Script);
        var script = File.ReadAllText(path);

        Assert.Contains($"#PBS -N {cleanup.JobName}\n", script);
        Assert.Contains("#PBS -l select=1:ncpus=1:mem=1gb\n", script);
        Assert.Contains("#PBS -l walltime=00:10:00\n", script);
        Assert.DoesNotContain("#PBS -J", script);                       // a plain job
        Assert.Contains("realpath -m", script);
        Assert.DoesNotContain("SBATCH", script);
        Assert.True(ProcessRunner.Instance.Run("bash", ["-n", path], TimeSpan.FromSeconds(30)).Succeeded);

        // Run where it deletes: with a task of ana unfinished it removes nothing (PBS may have
        // released it early), with every marker there it goes on to its path checks.
        var work = Directory.CreateDirectory(Path.Combine(p.Dir, "cleanup-run")).FullName;
        var env = new Dictionary<string, string?> { ["PBS_O_WORKDIR"] = work };
        var markers = Path.Combine(plan.StateDir, "markers", "ana");
        Directory.CreateDirectory(markers);
        File.WriteAllText(Path.Combine(markers, "0.done"), "");
        var refused = ProcessRunner.Instance.Run("bash", [path], TimeSpan.FromSeconds(30), work, env);
        Assert.Equal(1, refused.ExitCode);
        Assert.Contains("REFUSED: task 1 of ana did not complete", refused.Stderr);
        Assert.DoesNotContain("Removing", refused.Stdout);
        foreach (var t in new[] { 1, 2 }) File.WriteAllText(Path.Combine(markers, $"{t}.done"), "");
        var checkedPaths = ProcessRunner.Instance.Run("bash", [path], TimeSpan.FromSeconds(30), work, env);
        Assert.Equal(0, checkedPaths.ExitCode);
        Assert.Contains("Not found (already removed?)", checkedPaths.Stdout);
    }
}
