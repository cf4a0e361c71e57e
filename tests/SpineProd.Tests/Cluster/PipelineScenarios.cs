using SpineProd.Planning;
using SpineProd.Scheduler;
using SpineProd.Submission;
using SpineProd.Tests.Infrastructure;
using Xunit;

namespace SpineProd.Tests.Cluster;

/// <summary>Stage chaining and resource failures through the real scheduler (SLURM and local).</summary>
public abstract class PipelineScenarios : EndToEndScenarios
{
    protected ScratchProduction TwoStages(string name)
    {
        var p = new ScratchProduction($"{Scheduler}-{name}");
        var dir = Path.Combine(p.Dir, "inputs");
        Directory.CreateDirectory(dir);
        string[] reco = ["reco_0000.root", "reco_0001_FAIL.root", "reco_0002.root", "reco_0003.root"];
        string[] ana = ["ana_0000.root", "ana_0001.root"];
        foreach (var f in reco.Concat(ana)) File.WriteAllText(Path.Combine(dir, f), "");
        p.List("reco.txt", reco.Select(f => Path.Combine(dir, f)));
        p.List("ana.txt", ana.Select(f => Path.Combine(dir, f)));
        p.Write($"""
                <Scheduler>{Scheduler}</Scheduler>
                <SpineCommand>{TestDouble}</SpineCommand>
                <FilesPerTask>2</FilesPerTask>
                {ClusterResources()}
            """, """
                <Stage Include="reco" Config="spine.yaml" />
                <Stage Include="ana" Config="spine.yaml" DependsOn="reco" />
                <SourceList Include="reco.txt" Stage="reco" />
                <SourceList Include="ana.txt" Stage="ana" />
            """);
        return p;
    }

    protected static StatusReport WaitUntil(ScratchProduction p, Func<StatusReport, bool> done, string what)
    {
        var plan = Plan(p);
        var schedulers = Schedulers.Factory(plan.StateDir);
        var end = DateTime.UtcNow + Deadline;
        while (true)
        {
            var report = StatusReport.Create(plan, p.PlanDir, schedulers);
            if (done(report)) return report;
            Assert.True(DateTime.UtcNow < end, $"{what}: not by the deadline:\n" + string.Join("\n", report.Render()));
            Thread.Sleep(1000);
        }
    }

    protected void A_failed_upstream_task_holds_its_downstream_stage_and_resubmitting_finishes_the_pipeline()
    {
        var p = TwoStages("pipeline");
        Run(p, "Submit");
        var plan = Plan(p);
        var first = Ledger.Load(plan.StateDir, plan.ProductionName).Submissions.Single();
        var recoId = first.Stages.Single(s => s.Stage == "reco").Arrays.Single().JobId;
        Assert.Equal($"afterok:{recoId}", first.Stages.Single(s => s.Stage == "ana").Arrays.Single().Dependency);

        // reco task 0 fails; ana can never start (SLURM: pending, DependencyNeverSatisfied; local: cancelled)
        var held = WaitUntil(p, r => r.ByStage["reco"].Pending + r.ByStage["reco"].Running == 0
                                     && (r.ByStage["ana"].Blocked == 1 || r.ByStage["ana"].Cancelled == 1), "reco done and ana held");
        Assert.Equal((1, 1), (held.ByStage["reco"].Completed, held.ByStage["reco"].Failed));
        Assert.Equal(0, held.ByStage["ana"].Completed);
        Assert.Contains(held.Problems, t => t.Stage.Name == "ana");
        Assert.Contains("blocked by reco task(s) 0", held.Problems.Single(t => t.Stage.Name == "ana").Detail);

        File.WriteAllText(Path.Combine(p.Dir, "inputs", "spine-test-double.fixed"), "");
        var again = Run(p, "Submit");
        var second = Ledger.Load(plan.StateDir, plan.ProductionName).Submissions[1];
        var newReco = second.Stages.Single(s => s.Stage == "reco").Arrays.Single();
        Assert.Equal("0", newReco.Tasks);
        Assert.Equal($"afterok:{newReco.JobId}", second.Stages.Single(s => s.Stage == "ana").Arrays.Single().Dependency);

        var done = WaitFinished(p);
        Assert.True(done.IsComplete, string.Join("\n", done.Render()) + "\n" + again.Output);
    }

    /// <summary>reco -> ana (reading reco's outputs) + a cleanup of reco's outputs after ana.</summary>
    protected ScratchProduction PipelineWithCleanup(string name, bool throughSymlink = false)
    {
        var p = new ScratchProduction($"{Scheduler}-{name}", throughSymlink);
        var dir = Path.Combine(p.Dir, "inputs");
        Directory.CreateDirectory(dir);
        string[] reco = ["evt_0000.root", "evt_0001_FAIL.root", "evt_0002.root"];
        foreach (var f in reco) File.WriteAllText(Path.Combine(dir, f), "");
        p.List("reco.txt", reco.Select(f => Path.Combine(dir, f)));
        p.Write($"""
                <Scheduler>{Scheduler}</Scheduler>
                <SpineCommand>{TestDouble}</SpineCommand>
                {ClusterResources()}
            """, """
                <Stage Include="reco" Config="spine.yaml" OutputDir="reco-out" Cleanup="reco-out" />
                <Stage Include="ana" Config="spine.yaml" InputsFrom="reco" OutputDir="ana-out" />
                <SourceList Include="reco.txt" Stage="reco" />
            """);
        return p;
    }

    /// <summary>
    /// Through a symbolic link to the checkout (as HPC home folders are): the jobs create their output
    /// folders (SPINE does not) and record them; the cleanup waits for the failed task, then removes
    /// the folder its production created.
    /// </summary>
    protected void A_pipeline_with_cleanup_waits_for_a_failed_task_then_finishes_and_removes_the_intermediate_files()
    {
        var p = PipelineWithCleanup("cleanup", throughSymlink: true);
        var dir = Path.Combine(p.Dir, "inputs");
        Run(p, "Submit");
        var plan = Plan(p);
        var recoOut = plan.Stages[0].OutputDir;
        var cleanup1 = Ledger.Load(plan.StateDir, plan.ProductionName).Submissions.Single().Cleanups.Single();
        var anaId = Ledger.Load(plan.StateDir, plan.ProductionName).Submissions.Single().Stages.Single(s => s.Stage == "ana").Arrays.Single().JobId;
        Assert.Equal($"afterok:{anaId}", cleanup1.Dependency);

        // The failed reco task holds ana, and so the cleanup: reco's outputs stay.
        WaitUntil(p, r => r.ByStage["reco"].Pending + r.ByStage["reco"].Running == 0
                          && (r.ByStage["ana"].Blocked > 0 || r.ByStage["ana"].Cancelled > 0), "reco done and ana held");
        Thread.Sleep(2000);
        Assert.True(Directory.Exists(recoOut), "the cleanup ran although its downstream stage did not succeed");
        if (Scheduler == "slurm")
            Assert.Contains($"cleanup of reco: job {cleanup1.JobId}, will never run", Run(p, "Status").Output);
        Assert.Equal(2, Directory.GetFiles(recoOut, "*.h5").Length);
        // The first task to start created the folder and recorded it for this production.
        var record = File.ReadAllLines(Path.Combine(recoOut, OwnedFolder.RecordName));
        Assert.Equal(plan.OutputOwner, record[0]);
        Assert.Equal(OwnedFolder.OwnerLine(p.ProjectFile), record[0]);
        Assert.Contains("stage=reco", record);

        // Fixed: for reco's input, and for ana's input made from it (the test double reads names).
        File.WriteAllText(Path.Combine(dir, "spine-test-double.fixed"), "");
        File.WriteAllText(Path.Combine(recoOut, "spine-test-double.fixed"), "");
        Run(p, "Submit");
        var done = WaitFinished(p);
        Assert.True(done.IsComplete, string.Join("\n", done.Render()));
        var second = Ledger.Load(plan.StateDir, plan.ProductionName).Submissions[1].Cleanups.Single();
        Assert.NotEqual(cleanup1.JobId, second.JobId);

        // The final outputs are there; the intermediate folder goes once the cleanup job has run.
        var anaOut = plan.Stages[1].OutputDir;
        Assert.Equal(3, Directory.GetFiles(anaOut, "*.h5").Length);
        var end = DateTime.UtcNow + Deadline;
        while (Directory.Exists(recoOut) && DateTime.UtcNow < end) Thread.Sleep(500);
        Assert.False(Directory.Exists(recoOut), "the cleanup job did not remove " + recoOut);
        var log = Directory.GetFiles(second.JobFolder, "*.out", SearchOption.AllDirectories).Select(File.ReadAllText).Single();
        Assert.Contains($"Removing: {recoOut}", log);
        var status = WaitUntil(p, r => r.State.CleanupState(second)?.Kind == TaskStateKind.Completed, "the cleanup job reported done");
        Assert.Contains($"cleanup of reco: job {second.JobId}, done", string.Join("\n", status.Render()));
    }

    /// <summary>
    /// A folder that appears at the output path after the plan was made (the build could not see
    /// it) and holds another production's file: the jobs write into it but do not record it, and the
    /// cleanup job refuses it, so nothing in it is removed.
    /// </summary>
    protected void A_cleanup_job_never_removes_a_folder_its_production_did_not_create()
    {
        var p = PipelineWithCleanup("cleanup-foreign");
        File.WriteAllText(Path.Combine(p.Dir, "inputs", "spine-test-double.fixed"), "");
        Run(p, "Build");
        var plan = Plan(p);
        var recoOut = plan.Stages[0].OutputDir;
        Directory.CreateDirectory(recoOut);
        File.WriteAllText(Path.Combine(recoOut, "other_production.h5"), "not ours");
        File.WriteAllText(Path.Combine(recoOut, "spine-test-double.fixed"), "");

        Run(p, "Submit");
        var done = WaitFinished(p);
        Assert.True(done.IsComplete, string.Join("\n", done.Render()));
        var cleanup = Ledger.Load(plan.StateDir, plan.ProductionName).Submissions.Single().Cleanups.Single();
        var status = WaitUntil(p, r => r.State.CleanupState(cleanup)?.Kind is TaskStateKind.Completed or TaskStateKind.Failed, "the cleanup job finished");

        Assert.Equal(TaskStateKind.Failed, status.State.CleanupState(cleanup)!.Kind);
        Assert.False(File.Exists(Path.Combine(recoOut, OwnedFolder.RecordName)));
        Assert.Equal("not ours", File.ReadAllText(Path.Combine(recoOut, "other_production.h5")));
        Assert.Equal(3, Directory.GetFiles(recoOut, "evt_*.h5").Length);
        var log = Directory.GetFiles(cleanup.JobFolder, "*.err", SearchOption.AllDirectories).Select(File.ReadAllText).Single();
        Assert.Contains($"REFUSED: {recoOut}: this production did not create it", log);
    }
}

[Collection("cluster")]
public sealed class SlurmPipelineTests(ClusterFixture cluster) : PipelineScenarios
{
    protected override string Scheduler => "slurm";

    [Fact]
    public void A_failed_upstream_task_holds_its_downstream_stage_and_resubmitting_finishes_the_pipeline_on_slurm()
    {
        cluster.Require();
        A_failed_upstream_task_holds_its_downstream_stage_and_resubmitting_finishes_the_pipeline();
    }

    [Fact]
    public void A_pipeline_with_cleanup_finishes_and_removes_its_intermediate_files_on_slurm()
    {
        cluster.Require();
        A_pipeline_with_cleanup_waits_for_a_failed_task_then_finishes_and_removes_the_intermediate_files();
    }

    [Fact]
    public void A_cleanup_job_never_removes_a_folder_its_production_did_not_create_on_slurm()
    {
        cluster.Require();
        A_cleanup_job_never_removes_a_folder_its_production_did_not_create();
    }

    [Fact]
    public void A_task_over_its_memory_shows_as_out_of_memory_and_goes_again_alone_with_a_larger_limit()
    {
        cluster.Require();
        var config = ProcessRunner.Instance.Run("scontrol", ["show", "config"], TimeSpan.FromSeconds(30)).Stdout;
        if (!config.Contains("task/cgroup", StringComparison.Ordinal))
            return; // memory is not enforced on this cluster (SPINEPROD_CLUSTER_CGROUP=0): nothing to observe
        var p = ClusterProductionOf("slurm-oom", ClusterResources(memPerCpu: "150M"), "run_OOM600.root", "run_small.root");

        Run(p, "Submit");
        var report = WaitFinished(p);

        var oom = Assert.Single(report.Problems);
        Assert.Equal(TaskState.OutOfMemory, oom.Status);
        Assert.Contains("run_OOM600.root", oom.Inputs.Single());
        Assert.Equal(1, report.Totals.OutOfMemory);
        Assert.Contains("OUT_OF_MEMORY", string.Join("\n", report.Render()));
        Assert.Contains(report.Render(), l => l.Contains("-p:MemPerCpu="));

        // Raising the limit changes the production; the task ran the same inputs, so it goes again, alone.
        var again = Run(p, "Submit", ("MemPerCpu", "1000M"));
        Assert.Contains("1 task(s) out of memory: 0", again.Output);
        Assert.Contains("submitted 1 task(s) in 1 array(s)", again.Output);
        var plan = Plan(p);
        Assert.Equal(1000L << 20, plan.Stages.Single().Resources.MemPerCpuBytes);
        var done = WaitFinished(p);
        Assert.True(done.IsComplete, string.Join("\n", done.Render()));
    }
}

public sealed class LocalPipelineTests : PipelineScenarios
{
    protected override string Scheduler => "local";

    [Fact]
    public void A_failed_upstream_task_holds_its_downstream_stage_and_resubmitting_finishes_the_pipeline_locally()
        => A_failed_upstream_task_holds_its_downstream_stage_and_resubmitting_finishes_the_pipeline();

    [Fact]
    public void A_pipeline_with_cleanup_finishes_and_removes_its_intermediate_files_locally()
        => A_pipeline_with_cleanup_waits_for_a_failed_task_then_finishes_and_removes_the_intermediate_files();

    [Fact]
    public void A_cleanup_job_never_removes_a_folder_its_production_did_not_create_locally()
        => A_cleanup_job_never_removes_a_folder_its_production_did_not_create();
}
