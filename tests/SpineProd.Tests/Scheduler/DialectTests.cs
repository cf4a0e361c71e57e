using SpineProd.Scheduler;
using SpineProd.Scheduler.Local;
using SpineProd.Scheduler.Pbs;
using SpineProd.Scheduler.Slurm;
using SpineProd.Tests.Infrastructure;
using Xunit;

namespace SpineProd.Tests.Scheduler;

/// <summary>Each scheduler spells the plan's values itself: the plan and the core hold durations and bytes.</summary>
public sealed class DialectTests
{
    [Theory]
    [InlineData(4 * 3600, "4:00:00", "04:00:00")]
    [InlineData(600, "0:10:00", "00:10:00")]
    [InlineData(86400 + 1800, "1-00:30:00", "24:30:00")]
    [InlineData(0.2, "0:00:01", "00:00:01")]
    public void Each_dialect_spells_a_time_limit(double seconds, string slurm, string pbs)
    {
        var t = TimeSpan.FromSeconds(seconds);
        Assert.Equal(slurm, ((ISchedulerDialect)SlurmDialect.Instance).Time(t));
        Assert.Equal(pbs, PbsSchedulerDialect.Instance.Time(t));
        Assert.Equal(pbs, ResourceValues.Hms(t));
    }

    [Theory]
    [InlineData(8L << 30, "8G", "8gb")]
    [InlineData(4000L << 20, "4000M", "4000mb")]
    [InlineData(1L << 40, "1T", "1tb")]
    [InlineData(100L << 10, "1M", "100kb")] // SLURM's smallest useful unit: rounded up
    public void Each_dialect_spells_a_size(long bytes, string slurm, string pbs)
    {
        Assert.Equal(slurm, ((ISchedulerDialect)SlurmDialect.Instance).Memory(bytes));
        Assert.Equal(pbs, PbsSchedulerDialect.Instance.Memory(bytes));
    }

    [Fact]
    public void A_size_setting_is_parsed_once_for_every_scheduler()
    {
        Assert.Equal(4L << 30, SpineProd.Options.SettingValues.ParseMemory("4g"));
        Assert.Equal(512L << 20, SpineProd.Options.SettingValues.ParseMemory("512"));
        Assert.Null(SpineProd.Options.SettingValues.ParseMemory("lots"));
        Assert.Null(SpineProd.Options.SettingValues.ParseMemory(null));
    }
}

/// <summary>A stage's own Dependency is checked in the production's scheduler's syntax, where the user wrote it.</summary>
public sealed class DependencySyntaxTests
{
    [Theory]
    [InlineData("slurm", "afterok:12345", false, null)]
    [InlineData("slurm", "afterok:1:2,afterany:3_4", false, null)]
    [InlineData("slurm", "afterok:1?afterok:2", false, null)]
    [InlineData("slurm", "afterok:1?afterok:2", true, "SPN4009")]   // Submit's own afterok cannot join an either-or
    [InlineData("slurm", "afterok:12[].server", false, "SPN1024")]
    [InlineData("pbs", "afterok:12[].server", false, null)]
    [InlineData("pbs", "afterok:12[].server:13.server,afterany:14", true, null)]
    [InlineData("pbs", "afterok:7.vm@vm", false, null)]
    [InlineData("pbs", "on:2", false, null)]
    [InlineData("pbs", "afterok:12_3", false, "SPN1024")]            // SLURM's task id
    [InlineData("pbs", "afterok:6[1].vm", false, "SPN1024")]         // one subjob: qsub refuses it too
    [InlineData("pbs", "singleton", false, "SPN1024")]
    [InlineData("local", "afterok:1,afternotok:2", true, null)]
    [InlineData("local", "afterok:1?afterok:2", false, "SPN1024")]  // it runs every clause (all of)
    public void Each_scheduler_checks_its_own_syntax(string scheduler, string dependency, bool alsoAfterOk, string? code)
    {
        var problem = Schedulers.Dialect(scheduler).CheckDependency(dependency, alsoAfterOk);
        Assert.Equal(code, problem?.Code);
        if (problem is not null) Assert.Contains(dependency, problem.Message);
    }

    [Fact]
    public void A_PBS_dependency_travels_with_the_afterok_in_one_depend()
    {
        var request = new JobRequest("s.pbs", "/w", "job", null, ["1[].vm"], "k", NativeDependency: "afterany:12[].vm");
        var line = PbsSchedulerDialect.Instance.CommandLine(request);
        Assert.Contains("depend=afterok:1[].vm,afterany:12[].vm", line);
    }
}

/// <summary>What the dialect decides, seen through a build as a user runs it.</summary>
[Collection("msbuild")]
public sealed class DialectThroughSdkTests
{
    [Fact]
    public void A_PBS_plan_names_its_scripts_pbs_and_a_switch_of_scheduler_leaves_no_script_of_the_other()
    {
        var p = new ScratchProduction("pbs-names");
        p.Inputs(2);
        p.Write("", "<Source Include=\"inputs/*.root\" />");
        Assert.True(p.Build().Succeeded);
        Assert.True(File.Exists(Path.Combine(p.StageDir, "submit_chunk_0.sbatch")));

        p.Write("<Scheduler>pbs</Scheduler>", "<Source Include=\"inputs/*.root\" />");
        var outcome = p.Build();
        Assert.True(outcome.Succeeded, outcome.ErrorText);
        Assert.Equal(["submit_chunk_0.pbs"], Directory.GetFiles(p.StageDir, "submit_chunk_*").Select(f => Path.GetFileName(f)).ToArray());
        var plan = SpineProd.Planning.ProductionPlan.Load(Path.Combine(p.PlanDir, "plan.json"));
        Assert.Equal("submit_chunk_0.pbs", Assert.Single(Assert.Single(plan.Stages).Arrays).Script);
    }

    [Fact]
    public void A_PBS_production_plans_with_a_PBS_dependency()
    {
        var p = new ScratchProduction("pbs-dependency");
        p.Inputs(2);
        p.Write("<Scheduler>pbs</Scheduler><Dependency>afterok:12[].server</Dependency>", "<Source Include=\"inputs/*.root\" />");
        var outcome = p.Build();
        Assert.True(outcome.Succeeded, outcome.ErrorText);
        var plan = SpineProd.Planning.ProductionPlan.Load(Path.Combine(p.PlanDir, "plan.json"));
        Assert.Equal("afterok:12[].server", Assert.Single(plan.Stages).Dependency);
    }
}
