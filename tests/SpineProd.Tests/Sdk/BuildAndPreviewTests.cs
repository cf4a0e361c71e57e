using SpineProd.Planning;
using SpineProd.Tests.Infrastructure;
using Xunit;

namespace SpineProd.Tests.Sdk;

[Collection("msbuild")]
public sealed class BuildAndPreviewTests
{
    [Fact]
    public void Build_writes_one_script_per_array_and_a_plan()
    {
        var p = new ScratchProduction("arrays");
        var inputs = p.Inputs(23);
        p.List("inputs.txt", inputs);
        p.Write("<FilesPerTask>2</FilesPerTask><MaxArraySize>5</MaxArraySize><MaxRunningTasks>3</MaxRunningTasks>", "<SourceList Include=\"inputs.txt\" />");

        var outcome = p.Build();

        Assert.True(outcome.Succeeded, outcome.ErrorText);
        var plan = ProductionPlan.Load(Path.Combine(p.PlanDir, "plan.json"));
        var stage = Assert.Single(plan.Stages);
        Assert.Equal(12, stage.TaskCount);                           // ceil(23 / 2)
        Assert.Equal(["0-4%3", "0-4%3", "0-1"], stage.Arrays.Select(a => a.ArraySpec));
        Assert.Equal(3, Directory.GetFiles(p.StageDir, "*.sbatch").Length);
        var chunk0 = File.ReadAllLines(Path.Combine(p.StageDir, "files_chunk_0.txt"));
        Assert.Equal($"{inputs[0]},{inputs[1]}", chunk0[0]);
        Assert.Single(File.ReadAllLines(Path.Combine(p.StageDir, "files_chunk_2.txt")), l => !l.Contains(','));
        Assert.Contains("#SBATCH --array=0-4%3", File.ReadAllText(Path.Combine(p.StageDir, "submit_chunk_0.sbatch")));
    }

    [Fact]
    public void Preview_prints_the_plan_and_the_first_script_and_never_calls_sbatch()
    {
        var p = new ScratchProduction("preview");
        p.Inputs(4);
        p.Write("<Scheduler>slurm</Scheduler>", "<Source Include=\"inputs/*.root\" />");
        using var tripwire = Tripwire.Install(p.Dir);

        var outcome = p.Build("Preview");

        Assert.True(outcome.Succeeded, outcome.ErrorText);
        var text = string.Join("\n", outcome.Messages);
        Assert.Contains("dry run: nothing is submitted", text);
        Assert.Contains("First script", text);
        Assert.Contains("#SBATCH --array=0-3", text);
        Assert.False(tripwire.WasCalled, "Preview ran sbatch or scancel");
        Assert.DoesNotContain(outcome.Log.FindChildrenRecursive<Microsoft.Build.Logging.StructuredLogger.Task>(), t => t.Name is "Exec" or "SubmitProduction");
    }

    [Fact]
    public void Second_build_skips_the_plan_and_rewrites_nothing()
    {
        var p = new ScratchProduction("incremental");
        p.List("inputs.txt", p.Inputs(6));
        p.Write("<MaxArraySize>4</MaxArraySize>", "<SourceList Include=\"inputs.txt\" />");
        Assert.True(p.Build().Succeeded);
        var before = Directory.GetFiles(p.PlanDir, "*", SearchOption.AllDirectories).ToDictionary(f => f, File.GetLastWriteTimeUtc);

        var second = p.Build();

        Assert.True(second.Succeeded, second.ErrorText);
        Assert.All(second.Targets("SpineProdPlan"), t => Assert.True(t.Skipped, "SpineProdPlan should be skipped"));
        foreach (var (file, time) in before)
            Assert.Equal(time, File.GetLastWriteTimeUtc(file));
    }

    [Fact]
    public void Changing_one_source_list_rewrites_only_the_chunks_it_changes()
    {
        var p = new ScratchProduction("onelist");
        var inputs = p.Inputs(6);
        var list = p.List("inputs.txt", inputs);
        p.Write("<MaxArraySize>3</MaxArraySize>", "<SourceList Include=\"inputs.txt\" />");
        Assert.True(p.Build().Succeeded);
        var chunk0 = Path.Combine(p.StageDir, "files_chunk_0.txt");
        var chunk1 = Path.Combine(p.StageDir, "files_chunk_1.txt");
        var t0 = File.GetLastWriteTimeUtc(chunk0);
        var t1 = File.GetLastWriteTimeUtc(chunk1);
        Thread.Sleep(20);

        var renamed = inputs[5].Replace("run_0005", "run_0099");
        File.Move(inputs[5], renamed);
        File.WriteAllLines(list, inputs.Take(5).Append(renamed));
        var outcome = p.Build();

        Assert.True(outcome.Succeeded, outcome.ErrorText);
        Assert.All(outcome.Targets("SpineProdPlan"), t => Assert.False(t.Skipped));
        Assert.Equal(t0, File.GetLastWriteTimeUtc(chunk0));
        Assert.NotEqual(t1, File.GetLastWriteTimeUtc(chunk1));
    }

    [Fact]
    public void Changing_the_template_rewrites_the_scripts_and_not_the_chunk_lists()
    {
        var p = new ScratchProduction("template");
        p.List("inputs.txt", p.Inputs(4));
        var template = Path.Combine(p.Dir, "job.sbatch.scriban");
        File.Copy(Repo.Path_("templates", "job.sbatch.scriban"), template);
        p.Write($"<JobTemplate>{template}</JobTemplate><MaxArraySize>2</MaxArraySize>", "<SourceList Include=\"inputs.txt\" />");
        Assert.True(p.Build().Succeeded);
        var chunk = Path.Combine(p.StageDir, "files_chunk_0.txt");
        var script = Path.Combine(p.StageDir, "submit_chunk_0.sbatch");
        var (chunkTime, scriptTime) = (File.GetLastWriteTimeUtc(chunk), File.GetLastWriteTimeUtc(script));
        Thread.Sleep(20);

        File.AppendAllText(template, "# site addition\n");
        var outcome = p.Build();

        Assert.True(outcome.Succeeded, outcome.ErrorText);
        Assert.Equal(chunkTime, File.GetLastWriteTimeUtc(chunk));
        Assert.NotEqual(scriptTime, File.GetLastWriteTimeUtc(script));
        Assert.EndsWith("# site addition\n", File.ReadAllText(script));
    }

    [Fact]
    public void A_production_builds_from_any_working_directory()
    {
        var p = new ScratchProduction("anywhere");
        p.Inputs(1);
        p.Write("", "<Source Include=\"inputs/*.root\" />");

        var r = SpineProd.Scheduler.ProcessRunner.Instance.Run("dotnet", ["build", p.ProjectFile, "-t:Preview", "-nologo"], TimeSpan.FromMinutes(2), "/",
            new Dictionary<string, string?> { ["MSBUILDDISABLENODEREUSE"] = "1", ["DOTNET_CLI_USE_MSBUILD_SERVER"] = "0" });

        Assert.True(r.ExitCode == 0, r.Stdout + r.Stderr);
        Assert.Contains("dry run: nothing is submitted", r.Stdout);
    }

    [Fact]
    public void Removing_a_source_item_invalidates_the_plan()
    {
        var p = new ScratchProduction("remove");
        var inputs = p.Inputs(3);
        p.Write("", string.Join("\n", inputs.Select(i => $"<Source Include=\"{i}\" />")));
        Assert.True(p.Build().Succeeded);

        p.Write("", string.Join("\n", inputs.Take(2).Select(i => $"<Source Include=\"{i}\" />")));
        // Keep the project's timestamp as it was, so only the inputs hash can notice.
        File.SetLastWriteTimeUtc(p.ProjectFile, DateTime.UtcNow.AddHours(-1));
        var outcome = p.Build();

        Assert.True(outcome.Succeeded, outcome.ErrorText);
        Assert.Equal(2, ProductionPlan.Load(Path.Combine(p.PlanDir, "plan.json")).Stages[0].FileCount);
    }

    [Fact]
    public void Command_line_properties_override_the_production()
    {
        var p = new ScratchProduction("override");
        p.Inputs(2);
        p.Write("<Time>1:00:00</Time>", "<Source Include=\"inputs/*.root\" />");

        var outcome = p.Build(properties: new Dictionary<string, string> { ["Time"] = "4:00:00", ["Partition"] = "gpu" });

        Assert.True(outcome.Succeeded, outcome.ErrorText);
        var script = File.ReadAllText(Path.Combine(p.StageDir, "submit_chunk_0.sbatch"));
        Assert.Contains("#SBATCH --time=4:00:00", script);
        Assert.Contains("#SBATCH --partition=gpu", script);
    }
}
