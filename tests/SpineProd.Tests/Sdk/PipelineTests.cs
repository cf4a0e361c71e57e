using SpineProd.Planning;
using SpineProd.Tests.Infrastructure;
using Xunit;

namespace SpineProd.Tests.Sdk;

/// <summary>Multi-stage productions: Stage items and spine-prod pipeline YAML, planned as one.</summary>
[Collection("msbuild")]
public sealed class PipelineTests
{
    private static ScratchProduction TwoStages(string name, string recoExtra = "", string anaExtra = "")
    {
        var p = new ScratchProduction(name);
        p.List("reco.txt", p.Inputs(5));
        p.Write("", $"""
            <Stage Include="reco" Config="spine.yaml" FilesPerTask="2" OutputDir="reco" Cleanup="reco" {recoExtra} />
            <Stage Include="ana" Config="spine.yaml" InputsFrom="reco" Profile="s3df_milano" {anaExtra} />
            <SourceList Include="reco.txt" Stage="reco" />
            """);
        return p;
    }

    private static ProductionPlan Plan(ScratchProduction p) => ProductionPlan.Load(Path.Combine(p.PlanDir, "plan.json"));

    [Fact]
    public void A_stage_reads_the_planned_outputs_of_its_upstream_stage_and_cleanup_waits_for_it()
    {
        var p = TwoStages("twostage");

        var outcome = p.Build("Preview");

        Assert.True(outcome.Succeeded, outcome.ErrorText);
        var plan = Plan(p);
        Assert.Equal(["reco", "ana"], plan.Stages.Select(s => s.Name));
        var ana = plan.Stages[1];
        Assert.Equal(5, ana.FileCount);
        var chunk = File.ReadAllLines(Path.Combine(p.PlanDir, "ana", "files_chunk_0.txt"));
        Assert.Equal(Path.Combine(p.StateDir, "reco", "run_0000_reco.h5"), chunk[0]);
        var cleanup = Assert.IsType<CleanupPlan>(plan.Stages[0].Cleanup);
        Assert.Equal(["ana"], cleanup.AfterStages);
        Assert.Equal([Path.Combine(p.StateDir, "reco")], cleanup.Paths);
        var script = File.ReadAllText(Path.Combine(p.PlanDir, "reco", cleanup.Script));
        Assert.Contains("#SBATCH --mem-per-cpu=1g", script);
        Assert.Contains("#SBATCH --time=0:10:00", script);
        Assert.Contains("#SBATCH --partition=milano", script);   // from defaults.cleanup_profile, not hard-coded
        Assert.True(File.Exists(Path.Combine(p.PlanDir, "stages.mmd")));
        Assert.Contains("afterok", string.Join("\n", outcome.Messages));
    }

    [Theory]
    [InlineData("DependsOn=\"nosuch\"", "", "SPN4005")]
    [InlineData("DependsOn=\"ana\"", "", "SPN4006")]
    [InlineData("", "Cleanup=\"/tmp\"", "SPN4008")]
    [InlineData("", "Cleanup=\"reco/../../..\"", "SPN4008")]
    [InlineData("", "Dependency=\"afterok:1?afterok:2\"", "SPN4009")]
    public void Stage_graph_and_cleanup_mistakes_are_errors_at_the_production(string recoExtra, string anaExtra, string code)
    {
        var p = TwoStages("graph-" + code, recoExtra, anaExtra);

        var outcome = p.Build();

        Assert.False(outcome.Succeeded);
        var error = Assert.Single(outcome.Errors);
        Assert.Equal(code, error.Code);
        Assert.Equal(p.ProjectFile, error.File);
        Assert.True(error.LineNumber > 0);
    }

    [Fact]
    public void A_cleanup_path_through_a_symlink_that_leads_out_is_refused()
    {
        var p = TwoStages("symlink", anaExtra: "Cleanup=\"escape\"");
        Directory.CreateDirectory(p.StateDir);
        var outside = Repo.Scratch("outside");
        File.CreateSymbolicLink(Path.Combine(p.StateDir, "escape"), outside);
        // ana has no downstream stage, so give it one.
        File.WriteAllText(p.ProjectFile, File.ReadAllText(p.ProjectFile).Replace("<SourceList", "<Stage Include=\"last\" Config=\"spine.yaml\" InputsFrom=\"ana\" />\n<SourceList"));

        var outcome = p.Build();

        Assert.Contains(outcome.Errors, e => e.Code == "SPN4008" && e.Message!.Contains("symbolic link"));
    }

    [Fact]
    public void Seed_pipeline_yaml_gives_the_same_plan_as_its_stage_twin()
    {
        var p = TwoStages("twin");
        var rel = p.RepoRelativeDir;
        var yaml = p.Pipeline($"""
            stages:
              - name: reco
                config: {rel}/spine.yaml
                source_list: {rel}/reco.txt
                files_per_task: 2
                output: {rel}/jobs/{p.StateDirName}/reco
                cleanup: {rel}/jobs/{p.StateDirName}/reco
              - name: ana
                depends_on: [reco]
                config: {rel}/spine.yaml
                files: {rel}/jobs/{p.StateDirName}/reco/*.h5
                profile: s3df_milano
            """);
        Assert.True(p.Build().Succeeded);
        var twin = Plan(p);
        var twinChunks = Directory.GetFiles(p.PlanDir, "*.txt", SearchOption.AllDirectories).Order().Select(File.ReadAllText).ToList();

        var outcome = p.BuildWithPipeline(yaml);

        Assert.True(outcome.Succeeded, outcome.ErrorText);
        var fromYaml = Plan(p);
        Assert.Equal(twin.Stages.Select(s => (s.Name, s.JobName, s.TaskCount, s.ResolvedProfile, s.OutputDir)), fromYaml.Stages.Select(s => (s.Name, s.JobName, s.TaskCount, s.ResolvedProfile, s.OutputDir)));
        Assert.Equal(twin.Stages[0].Cleanup!.Paths, fromYaml.Stages[0].Cleanup!.Paths);
        Assert.Equal(twinChunks, Directory.GetFiles(p.PlanDir, "*.txt", SearchOption.AllDirectories).Order().Select(File.ReadAllText).ToList());
    }

    [Fact]
    public void The_shipped_example_pipeline_and_its_spineproj_twin_give_the_same_plan()
    {
        var twin = Repo.Path_("productions", "icarus_pipeline.spineproj");
        var planFile = Repo.Path_("productions", "obj", "icarus_pipeline", "plan.json");
        var fromItems = ProductionBuild.Run(twin);
        Assert.True(fromItems.Succeeded, fromItems.ErrorText);
        var items = ProductionPlan.Load(planFile);

        var fromYaml = ProductionBuild.Run(twin, properties: new Dictionary<string, string> { ["PipelineFile"] = Repo.Path_("pipelines", "icarus_production_example.yaml") });

        Assert.True(fromYaml.Succeeded, fromYaml.ErrorText);
        var yaml = ProductionPlan.Load(planFile);
        Assert.Equal(items.PlanSha256, yaml.PlanSha256);
        Assert.Equal(
            items.Stages.Select(s => (s.Name, s.JobName, s.ConfigArgument, s.ResolvedProfile, s.TaskCount, s.MaxRunningTasks, s.OutputDir, string.Join(",", s.DependsOn), s.Cleanup?.JobName)),
            yaml.Stages.Select(s => (s.Name, s.JobName, s.ConfigArgument, s.ResolvedProfile, s.TaskCount, s.MaxRunningTasks, s.OutputDir, string.Join(",", s.DependsOn), s.Cleanup?.JobName)));
        ProductionBuild.Run(twin);   // leave the twin's own plan behind, as a user's build would
    }

    [Fact]
    public void A_files_string_is_one_pattern_not_a_list_of_characters()
    {
        var p = new ScratchProduction("filesstring");
        p.Inputs(3);
        var rel = p.RepoRelativeDir;
        var yaml = p.Pipeline($"stages:\n  - name: only\n    config: {rel}/spine.yaml\n    files: {rel}/inputs/*.root\n");
        p.Write("", "");

        var outcome = p.BuildWithPipeline(yaml);

        Assert.True(outcome.Succeeded, outcome.ErrorText);
        Assert.Equal(3, Plan(p).Stages.Single().FileCount);
    }
}
