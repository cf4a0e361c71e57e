using SpineProd.Planning;
using SpineProd.Scheduler;
using SpineProd.Tests.Infrastructure;
using Xunit;

namespace SpineProd.Tests.Sdk;

/// <summary>
/// Cleanup removes only what the production made (issue 10, items 2-6): refused at build time at
/// the Cleanup entry's line, checked again by the cleanup job where it deletes, and Clean removes
/// only the plan's own files.
/// </summary>
[Collection("msbuild")]
public sealed class CleanupPolicyTests
{
    private static ScratchProduction TwoStages(string name, string recoExtra = "", string anaExtra = "", bool throughSymlink = false,
        string recoOutput = "reco", string cleanup = "reco")
    {
        var p = new ScratchProduction(name, throughSymlink);
        p.List("reco.txt", p.Inputs(3));
        p.Write("", $"""
            <Stage Include="reco" Config="spine.yaml" OutputDir="{recoOutput}"
                   Cleanup="{cleanup}" {recoExtra} />
            <Stage Include="ana" Config="spine.yaml" InputsFrom="reco" {anaExtra} />
            <SourceList Include="reco.txt" Stage="reco" />
            """);
        return p;
    }

    private static ProductionPlan Plan(ScratchProduction p) => ProductionPlan.Load(Path.Combine(p.PlanDir, "plan.json"));

    /// <summary>Builds (nothing exists yet, so it plans) and returns where the production keeps its state.</summary>
    private static string BuiltStateDir(ScratchProduction p)
    {
        var outcome = p.Build();
        Assert.True(outcome.Succeeded, outcome.ErrorText);
        return Plan(p).StateDir;
    }

    /// <summary>The line of the Cleanup attribute in the production (the Stage element spans two lines).</summary>
    private static int CleanupLine(ScratchProduction p) =>
        File.ReadAllLines(p.ProjectFile).Select((l, i) => (l, i)).First(x => x.l.Contains("Cleanup=")).i + 1;

    private static void AssertRefused(ScratchProduction p, BuildOutcome outcome, string code)
    {
        Assert.False(outcome.Succeeded);
        var error = Assert.Single(outcome.Errors);
        Assert.Equal(code, error.Code);
        Assert.Equal(p.ProjectFile, error.File);
        Assert.Equal(CleanupLine(p), error.LineNumber);
    }

    [Fact]
    public void An_output_folder_that_existed_before_the_production_is_refused_and_left_alone()
    {
        var p = TwoStages("cleanup-preexisting");
        var reco = Directory.CreateDirectory(Path.Combine(BuiltStateDir(p), "reco")).FullName;
        File.WriteAllText(Path.Combine(reco, "other_production.h5"), "not ours");

        var outcome = p.Build("Rebuild");

        AssertRefused(p, outcome, "SPN4015");
        Assert.Contains("did not create it", outcome.Errors[0].Message);
        Assert.True(File.Exists(Path.Combine(reco, "other_production.h5")));
    }

    [Fact]
    public void A_folder_recorded_by_another_production_is_refused_and_one_recorded_by_this_production_is_not()
    {
        var p = TwoStages("cleanup-recorded");
        var reco = Directory.CreateDirectory(Path.Combine(BuiltStateDir(p), "reco")).FullName;
        var record = Path.Combine(reco, OwnedFolder.RecordName);
        File.WriteAllText(record, "production=/elsewhere/test.spineproj\nstage=reco\n");
        AssertRefused(p, p.Build("Rebuild"), "SPN4015");
        // A FIFO in its place is no record (and does not hang the build).
        File.Delete(record);
        Assert.True(ProcessRunner.Instance.Run("mkfifo", [record], TimeSpan.FromSeconds(10)).Succeeded);
        AssertRefused(p, p.Build("Rebuild"), "SPN4015");
        File.Delete(record);

        // What the job writes when it creates the folder (job.sbatch.scriban).
        File.WriteAllText(record, OwnedFolder.OwnerLine(p.ProjectFile) + "\nstage=reco\n");
        var outcome = p.Build("Rebuild");

        Assert.True(outcome.Succeeded, outcome.ErrorText);
    }

    [Theory]
    [InlineData("OutputDir=\"reco\"")]        // the same folder
    [InlineData("OutputDir=\"reco/ana\"")]    // a folder inside it
    public void A_folder_a_downstream_stage_also_writes_to_is_refused(string anaOutput)
    {
        var p = TwoStages("cleanup-shared", anaExtra: anaOutput);

        var outcome = p.Build();

        AssertRefused(p, outcome, "SPN4013");
        Assert.Contains("stage 'ana' also writes", outcome.Errors[0].Message);
    }

    [Theory]
    [InlineData(".", ".", "SPN4014")]                         // the state folder: markers, submissions.json
    [InlineData("markers/reco", "markers/reco", "SPN4014")]   // inside the markers
    [InlineData("..", "..", "SPN4008")]                       // the jobs folder
    [InlineData("reco", "markers", "SPN4008")]                // not the stage's output folder
    [InlineData("reco", "/tmp", "SPN4008")]
    public void The_production_s_bookkeeping_and_foreign_paths_are_refused(string recoOutput, string cleanup, string code)
    {
        var p = TwoStages("cleanup-bookkeeping", recoOutput: recoOutput, cleanup: cleanup);

        AssertRefused(p, p.Build(), code);
    }

    [Fact]
    public void A_checkout_reached_through_a_symbolic_link_can_use_cleanup()
    {
        var p = TwoStages("cleanup-symlinked", throughSymlink: true);

        var outcome = p.Build();

        Assert.True(outcome.Succeeded, outcome.ErrorText);
        var plan = Plan(p);
        Assert.StartsWith(p.Dir + "/", plan.StateDir);   // the paths MSBuild gave, through the link
        Assert.Equal([Path.Combine(plan.StateDir, "reco")], plan.Stages[0].Cleanup!.Paths);
        // The record names the production by its real path, however it was reached.
        Assert.Equal("production=" + Path.Combine(Path.GetDirectoryName(p.Dir)!, Path.GetFileName(p.Dir)[..^"-link".Length], "test.spineproj"), plan.OutputOwner);
    }

    [Fact]
    public void A_pipeline_yaml_cleanup_is_refused_at_its_cleanup_line()
    {
        var p = TwoStages("cleanup-yaml");
        var rel = p.RepoRelativeDir;
        var yaml = p.Pipeline($"""
            stages:
              - name: reco
                config: {rel}/spine.yaml
                source_list: {rel}/reco.txt
                output: {rel}/jobs/test/reco
                cleanup:
                  - {rel}/jobs/test/elsewhere
              - name: ana
                depends_on: [reco]
                config: {rel}/spine.yaml
                files: {rel}/jobs/test/reco/*.h5
            """);

        var outcome = p.BuildWithPipeline(yaml);

        var error = Assert.Single(outcome.Errors);
        Assert.Equal("SPN4008", error.Code);
        Assert.Equal(yaml, error.File);
        Assert.Equal(6, error.LineNumber);   // the cleanup: key
    }

    [Fact]
    public void Clean_removes_only_the_files_the_plan_wrote()
    {
        var p = TwoStages("clean-shared-objdir");
        var shared = Path.Combine(p.Dir, "shared");
        Directory.CreateDirectory(Path.Combine(shared, "empty"));
        Directory.CreateDirectory(Path.Combine(shared, "lists"));
        File.WriteAllText(Path.Combine(shared, "notes.txt"), "mine");
        File.WriteAllText(Path.Combine(shared, "lists", "files_chunk_0.txt"), "mine too, though named like a chunk list");
        var props = new Dictionary<string, string> { ["SpineProdIntermediateDir"] = shared };
        Assert.True(p.Build(properties: props).Succeeded);
        Assert.True(File.Exists(Path.Combine(shared, "plan.json")));

        var outcome = p.Build("Clean", props);

        Assert.True(outcome.Succeeded, outcome.ErrorText);
        Assert.Equal(["empty", "lists", "notes.txt"], Directory.GetFileSystemEntries(shared).Select(Path.GetFileName).Order());
        Assert.True(File.Exists(Path.Combine(shared, "lists", "files_chunk_0.txt")));
        Assert.Contains(outcome.Warnings, w => w.Code == "SPN1040" && w.Message!.Contains("notes.txt"));

        // The default folder holds only the plan: it goes entirely, without a warning.
        Assert.True(p.Build().Succeeded);
        var clean = p.Build("Clean");
        Assert.True(clean.Succeeded, clean.ErrorText);
        Assert.False(Directory.Exists(p.PlanDir));
        Assert.DoesNotContain(clean.Warnings, w => w.Code == "SPN1040");
    }

    // ------------------------------------------------------------ the cleanup job checks again

    private static (int ExitCode, string Output) RunCleanupJob(ScratchProduction p)
    {
        var script = Path.Combine(p.PlanDir, "reco", "cleanup_reco.sbatch");
        var r = ProcessRunner.Instance.Run("bash", [script], TimeSpan.FromSeconds(30));
        return (r.ExitCode, r.Stdout + r.Stderr);
    }

    [Fact]
    public void The_cleanup_job_checks_again_where_it_deletes()
    {
        // Built before anything exists (as a first Submit plans); the world changes before the job runs.
        var p = TwoStages("cleanup-job-checks");
        var state = BuiltStateDir(p);
        var reco = Path.Combine(state, "reco");
        var record = Path.Combine(reco, OwnedFolder.RecordName);
        var owner = OwnedFolder.OwnerLine(p.ProjectFile);

        Assert.Contains("Not found (already removed?)", RunCleanupJob(p).Output);

        // It existed before (no record): refused, nothing removed, the job fails.
        Directory.CreateDirectory(reco);
        File.WriteAllText(Path.Combine(reco, "other_production.h5"), "");
        var before = RunCleanupJob(p);
        Assert.NotEqual(0, before.ExitCode);
        Assert.Contains("REFUSED", before.Output);
        Assert.True(File.Exists(Path.Combine(reco, "other_production.h5")));

        // Another production's record: refused.
        File.WriteAllText(record, "production=/elsewhere/test.spineproj\n");
        Assert.Contains("did not create it", RunCleanupJob(p).Output);

        // Ours, but another stage's output now lands inside it (a symbolic link made meanwhile): refused.
        File.WriteAllText(record, owner + "\nstage=reco\n");
        var anaOut = Plan(p).Stages[1].OutputDir;
        Directory.CreateDirectory(Path.GetDirectoryName(anaOut)!);
        Directory.CreateDirectory(Path.Combine(reco, "ana-real"));
        File.CreateSymbolicLink(anaOut, Path.Combine(reco, "ana-real"));
        var shared = RunCleanupJob(p);
        Assert.NotEqual(0, shared.ExitCode);
        Assert.Contains("is or holds " + anaOut, shared.Output);
        File.Delete(anaOut);

        // Ours, shared with nobody: removed.
        var ours = RunCleanupJob(p);
        Assert.Equal(0, ours.ExitCode);
        Assert.Contains("Removing: " + reco, ours.Output);
        Assert.False(Directory.Exists(reco));
    }

    [Fact]
    public void The_cleanup_job_of_a_symlinked_checkout_removes_the_folder_its_production_created()
    {
        var p = TwoStages("cleanup-job-symlinked", throughSymlink: true);
        var reco = Directory.CreateDirectory(Path.Combine(BuiltStateDir(p), "reco")).FullName;
        File.WriteAllText(Path.Combine(reco, OwnedFolder.RecordName), OwnedFolder.OwnerLine(p.ProjectFile) + "\n");

        var job = RunCleanupJob(p);

        Assert.Equal(0, job.ExitCode);
        Assert.False(Directory.Exists(reco), job.Output);
    }
}
