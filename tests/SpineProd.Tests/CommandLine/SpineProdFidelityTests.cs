using SpineProd.Planning;
using SpineProd.Scheduler;
using SpineProd.Tests.Cluster;
using SpineProd.Tests.Infrastructure;
using Xunit;

namespace SpineProd.Tests.CommandLine;

/// <summary>Where users rely on spine-prod's behaviour, SpineProd does the same (or names the difference).</summary>
public sealed class SpineProdFidelityTests
{
    private static readonly Dictionary<string, string?> Env = new()
    {
        ["MSBUILDDISABLENODEREUSE"] = "1", ["DOTNET_CLI_USE_MSBUILD_SERVER"] = "0", ["DOTNET_NOLOGO"] = "1",
    };

    /// <summary>The README's pipeline command, run from the repository root as written there.</summary>
    [Fact]
    public void The_READMEs_pipeline_command_runs_from_the_repository_root_with_spine_prods_names()
    {
        var r = ProcessRunner.Instance.Run("dotnet",
            ["build", "productions/icarus_pipeline.spineproj", "-t:Preview", "-p:PipelineFile=pipelines/icarus_production_example.yaml", "-tl:off", "-v:n"],
            TimeSpan.FromMinutes(3), Repo.Root, Env);
        var output = r.Stdout + r.Stderr;
        Assert.True(r.ExitCode == 0, output);
        Assert.DoesNotContain("SPN1012", output);   // the production's own sources were replaced, not read
        var plan = ProductionPlan.Load(Repo.Path_("productions", "obj", "icarus_pipeline", "plan.json"));
        Assert.Equal(["reconstruction", "analysis"], plan.Stages.Select(s => s.JobName));
        Assert.Equal("cleanup_reconstruction", plan.Stages[0].Cleanup!.JobName);
        // A CPU profile (s3df_milano: gpus 0) says so, as spine-prod writes it.
        var analysis = plan.Stages[1];
        Assert.Equal(0, analysis.Resources.Gpus);
        Assert.Contains("#SBATCH --gpus=0\n", File.ReadAllText(Repo.Path_("productions", "obj", "icarus_pipeline", "analysis", analysis.Arrays[0].Script)));
        ProductionBuild.Run(Repo.Path_("productions", "icarus_pipeline.spineproj"));   // leave the twin's own plan behind
    }

    [Fact]
    public void OutputFile_on_the_command_line_is_SPINEs_o()
    {
        var p = new ScratchProduction("fidelity-outputfile");
        p.Inputs(2);
        p.Write("<Scheduler>local</Scheduler>", "<Source Include=\"inputs/*.root\" />");

        var r = DotnetBuild.Run(p.ProjectFile, "Build", new Dictionary<string, string> { ["OutputFile"] = "out/reco.h5" });

        Assert.True(r.Succeeded, r.Output);
        var stage = ProductionPlan.Load(Path.Combine(p.PlanDir, "plan.json")).Stages.Single();
        var plan = ProductionPlan.Load(Path.Combine(p.PlanDir, "plan.json"));
        Assert.Equal(Path.Combine(plan.StateDir, "out", "reco.h5"), stage.Output);
    }

    [Theory]
    [InlineData(10, "3", 3, 4)]   // ceil(10/3) = 4 files per task -> 3 tasks
    [InlineData(10, "20", 10, 1)] // more tasks than files: one file each
    public void TaskCount_cuts_the_inputs_into_that_many_tasks(int files, string taskCount, int tasks, int filesPerTask)
    {
        var p = new ScratchProduction("fidelity-taskcount");
        p.Inputs(files);
        p.Write($"<Scheduler>local</Scheduler><TaskCount>{taskCount}</TaskCount><MaxRunningTasks>2</MaxRunningTasks>", "<Source Include=\"inputs/*.root\" />");

        var outcome = p.Build();

        Assert.True(outcome.Succeeded, outcome.ErrorText);
        var stage = ProductionPlan.Load(Path.Combine(p.PlanDir, "plan.json")).Stages.Single();
        Assert.Equal((tasks, filesPerTask, (int?)2), (stage.TaskCount, stage.FilesPerTask, stage.MaxRunningTasks));
    }

    [Fact]
    public void A_pipeline_stage_with_task_count_gets_that_many_tasks()
    {
        var p = new ScratchProduction("fidelity-taskcount-yaml");
        p.Inputs(9);
        var rel = p.RepoRelativeDir;
        var yaml = p.Pipeline($"stages:\n  - name: reco\n    config: {rel}/spine.yaml\n    files: [{rel}/inputs/*.root]\n    task_count: 3\n    ntasks: 1\n");
        p.Write("<Scheduler>local</Scheduler>", "");

        var outcome = p.BuildWithPipeline(yaml);

        Assert.True(outcome.Succeeded, outcome.ErrorText);
        var stage = ProductionPlan.Load(Path.Combine(p.PlanDir, "plan.json")).Stages.Single();
        Assert.Equal(("reco", 3, 3, (int?)1), (stage.JobName, stage.TaskCount, stage.FilesPerTask, stage.MaxRunningTasks));
    }

    [Theory]
    [InlineData("<TaskCount>3</TaskCount><FilesPerTask>2</FilesPerTask>", "SPN1065")]
    [InlineData("<TaskCount>0</TaskCount>", "SPN1065")]
    [InlineData("<LarcvBaseDir>larcv</LarcvBaseDir>", "SPN1066")]
    public void Settings_spine_prod_would_fail_on_later_are_errors_at_their_line(string properties, string code)
    {
        var p = new ScratchProduction("fidelity-" + code);
        p.Inputs(2);
        Directory.CreateDirectory(Path.Combine(p.Dir, "larcv"));   // a folder without configure.sh
        p.Write("<Scheduler>local</Scheduler>" + properties, "<Source Include=\"inputs/*.root\" />");

        var outcome = p.Build();

        Assert.False(outcome.Succeeded);
        var e = Assert.Single(outcome.Errors);
        Assert.Equal(code, e.Code);
        Assert.True(e.LineNumber > 0, outcome.ErrorText);
    }

    /// <summary>
    /// A spine-prod pipeline of two stages over two inputs: reco (its files, then
    /// <paramref name="recoKey"/> on line 5) and ana (<paramref name="anaKey"/>), beside a production
    /// the test writes.
    /// </summary>
    private static (ScratchProduction P, string Yaml) RecoAnaPipeline(string name, string recoKey, string anaKey)
    {
        var p = new ScratchProduction(name);
        p.Inputs(2);
        var rel = p.RepoRelativeDir;
        var reco = recoKey.Length == 0 ? "" : $"\n    {recoKey}";
        return (p, p.Pipeline($"""
            stages:
              - name: reco
                config: {rel}/spine.yaml
                files: [{rel}/inputs/*.root]{reco}
              - name: ana
                config: {rel}/spine.yaml
                {anaKey}
            """));
    }

    [Fact]
    public void Pipeline_YAML_mistakes_are_at_the_YAML_key_with_YAML_advice()
    {
        var (p, yaml) = RecoAnaPipeline("fidelity-yaml-lines", recoKey: "", anaKey: "depends_on: [reco]");
        p.Write("<Scheduler>local</Scheduler>", "<Source Include=\"nothing/*.root\" />");

        var outcome = p.BuildWithPipeline(yaml);

        Assert.False(outcome.Succeeded);
        Assert.DoesNotContain(outcome.Warnings, w => w.Code == "SPN1012");   // nothing/*.root was replaced by the pipeline
        var errors = outcome.Errors.Select(e => (e.Code, e.File, e.LineNumber, e.Message)).ToList();
        Assert.Contains(errors, e => e.Code == "SPN1010" && e.File == yaml && e.LineNumber == 5 && e.Message!.Contains("'files:'"));
        Assert.DoesNotContain(errors, e => e.Code == "SPN1010" && e.Message!.Contains("Stage=\""));
    }

    [Fact]
    public void A_refused_cleanup_path_in_a_pipeline_is_at_its_cleanup_line()
    {
        var (p, yaml) = RecoAnaPipeline("fidelity-yaml-cleanup", recoKey: "cleanup: /tmp", anaKey: "inputs_from: reco");
        p.Write("<Scheduler>local</Scheduler>", "");

        var outcome = p.BuildWithPipeline(yaml);

        var e = Assert.Single(outcome.Errors, x => x.Code == "SPN4008");
        Assert.Equal((yaml, 5), (e.File, e.LineNumber));
    }

    [Fact]
    public void ListMods_ends_with_how_to_use_them()
    {
        var r = DotnetBuild.Run(Repo.Path_("productions", "icarus.spineproj"), "ListMods");
        Assert.True(r.Succeeded, r.Output);
        Assert.Contains("Usage: dotnet build icarus.spineproj -p:ApplyMods=<name>[:YYMMDD]", r.Output);
    }
}
