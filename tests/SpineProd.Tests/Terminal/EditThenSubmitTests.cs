using SpineProd.Planning;
using SpineProd.Scheduler;
using SpineProd.Submission;
using SpineProd.Tests.Infrastructure;
using Xunit;

namespace SpineProd.Tests.Terminal;

/// <summary>
/// Issue 11 item 3: a person builds (or previews), edits a file, then submits. Whatever the file
/// (the config, a file it includes, a modifier, the profiles file, the job template, a source
/// list), Submit must re-plan first: the tasks then pass the node's sha256 check of the config
/// sources and run what the edited files say.
/// </summary>
[Collection("msbuild")]
public sealed class EditThenSubmitTests
{
    private static ScratchProduction Production(string kind)
    {
        var p = new ScratchProduction($"edit-{kind}");
        var cfg = Path.Combine(p.Dir, "cfg");
        Directory.CreateDirectory(Path.Combine(cfg, "modifier", "lite"));
        File.WriteAllText(Path.Combine(cfg, "spine.yaml"), "include: common.yaml\nbase:\n  iterations: -1\n");
        File.WriteAllText(Path.Combine(cfg, "common.yaml"), "io:\n  loader:\n    batch_size: 1\n");
        File.WriteAllText(Path.Combine(cfg, "modifier", "lite", "mod_lite_240719.yaml"),
            "__meta__:\n  kind: mod\n  name: lite\n  version: \"240719\"\npost:\n  lite: 1\n");
        File.Copy(Repo.Path_("templates", "profiles.yaml"), Path.Combine(p.Dir, "profiles.yaml"));
        File.Copy(Repo.Path_("templates", "job.sbatch.scriban"), Path.Combine(p.Dir, "job.sbatch.scriban"));
        p.List("inputs.txt", p.Inputs(2));
        p.Write($"""
                <SpineConfig>cfg/spine.yaml</SpineConfig>
                <ApplyMods>lite</ApplyMods>
                <ProfilesFile>profiles.yaml</ProfilesFile>
                <JobTemplate>job.sbatch.scriban</JobTemplate>
                <Scheduler>local</Scheduler>
                <SpineCommand>{Repo.Path_("tests", "doubles", "spine-test-double.sh")}</SpineCommand>
            """, "<SourceList Include=\"inputs.txt\" />");
        return p;
    }

    private static void Edit(string file, string from, string to)
    {
        var text = File.ReadAllText(file);
        Assert.Contains(from, text);
        File.WriteAllText(file, text.Replace(from, to));
    }

    [Theory]
    [InlineData("config")]
    [InlineData("include")]
    [InlineData("modifier")]
    [InlineData("profiles")]
    [InlineData("template")]
    [InlineData("list")]
    public void An_edit_after_a_build_is_planned_again_by_the_next_Submit_and_its_tasks_pass_on_the_node(string kind)
    {
        var p = Production(kind);
        var built = p.Build("Preview");
        Assert.True(built.Succeeded, built.ErrorText);
        var stamp = Path.Combine(p.PlanDir, "plan.stamp");
        var planned = File.GetLastWriteTimeUtc(stamp);

        // What the person changes, and where the next plan must show it.
        var (expectTasks, expectInObj) = kind switch
        {
            "config" => Do(() => Edit(Path.Combine(p.Dir, "cfg", "spine.yaml"), "iterations: -1", "iterations: 7"), 2, "iterations: 7"),
            "include" => Do(() => Edit(Path.Combine(p.Dir, "cfg", "common.yaml"), "batch_size: 1", "batch_size: 3"), 2, "batch_size: 3"),
            "modifier" => Do(() => Edit(Path.Combine(p.Dir, "cfg", "modifier", "lite", "mod_lite_240719.yaml"), "lite: 1", "lite: 2"), 2, "lite: 2"),
            "profiles" => Do(() => Edit(Path.Combine(p.Dir, "profiles.yaml"), "time: \"2:00:00\"", "time: \"1:59:00\""), 2, "--time=1:59:00"),
            "template" => Do(() => Edit(Path.Combine(p.Dir, "job.sbatch.scriban"), "#!/bin/bash", "#!/bin/bash\n# edited template"), 2, "# edited template"),
            "list" => Do(() => File.AppendAllLines(Path.Combine(p.Dir, "inputs.txt"), p.Inputs(3, "more").Take(1)), 3, "more_0000.root"),
            _ => throw new ArgumentException(kind),
        };

        var submit = p.Build("Submit");
        Assert.True(submit.Succeeded, submit.ErrorText);
        Assert.True(File.GetLastWriteTimeUtc(stamp) > planned, $"Submit did not plan again after the {kind} edit");
        Assert.Contains(Directory.EnumerateFiles(p.PlanDir, "*", SearchOption.AllDirectories), f => File.ReadAllText(f).Contains(expectInObj));

        var plan = ProductionPlan.Load(Path.Combine(p.PlanDir, "plan.json"));
        var report = StatusReport.Create(plan, p.PlanDir, Schedulers.Factory(plan.StateDir));
        Assert.True(report.IsComplete, $"after the {kind} edit:\n" + string.Join("\n", report.Render()));
        Assert.Equal(expectTasks, report.Totals.Completed);
    }

    private static (int, string) Do(Action edit, int tasks, string inObj)
    {
        edit();
        return (tasks, inObj);
    }
}
