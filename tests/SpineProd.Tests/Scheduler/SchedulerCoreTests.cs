using SpineProd.Diagnostics;
using SpineProd.Planning;
using SpineProd.Scheduler;
using SpineProd.Scheduler.Pbs;
using SpineProd.Scheduler.Slurm;
using SpineProd.Submission;
using SpineProd.Tests.Cluster;
using SpineProd.Tests.Infrastructure;
using Xunit;
using static SpineProd.Tests.Cluster.FakeRunner;

namespace SpineProd.Tests.Scheduler;

/// <summary>The scheduler-neutral core: the registry, each dialect's spelling, and a request cut into several jobs.</summary>
public sealed class SchedulerCoreTests
{
    [Fact]
    public void The_registry_knows_every_scheduler_by_name_and_refuses_others()
    {
        Assert.Equal(["slurm", "pbs", "local"], Schedulers.Names);
        Assert.Equal("pbs", Schedulers.Dialect(" PBS ").Name);
        Assert.Equal("slurm", Schedulers.Dialect("").Name);
        var factory = Schedulers.Factory(Repo.Scratch("registry"));
        Assert.IsType<PbsScheduler>(factory("pbs"));
        Assert.Same(factory("pbs"), factory("Pbs"));
        Assert.Equal("SPN3007", Assert.Throws<SpineProdException>(() => factory("htcondor")).Code);
    }

    [Fact]
    public void Each_dialect_names_a_task_its_log_and_its_wait_in_its_own_words()
    {
        ISchedulerDialect slurm = SlurmDialect.Instance;
        var pbs = PbsSchedulerDialect.Instance;
        Assert.Equal("12_3", slurm.TaskId("12", 3));
        Assert.Equal("12[3].vm", pbs.TaskId("12[].vm", 3));
        Assert.Equal("13.vm", pbs.TaskId("13.vm", 0));                  // a plain job (cleanup) is task 0 of itself
        Assert.Equal(Path.Combine("logs", "spine_x_12_3.err"), slurm.LogFile("spine_x", "12", 3, error: true));
        Assert.Equal(Path.Combine("logs", "12[3].vm.OU"), pbs.LogFile("spine_x", "12[].vm", 3, error: false));
        Assert.Equal("SLURM_ARRAY_TASK_ID", slurm.ArrayIndexVariable);
        Assert.Equal("PBS_ARRAY_INDEX", pbs.ArrayIndexVariable);

        var request = new JobRequest("/j/s", "/j", "n", ArraySpec.Parse("0-3"), ["7", "8"], "k");
        Assert.Equal("afterok:7:8", slurm.Dependency(request));
        Assert.Equal("afterany:5,afterok:7:8", slurm.Dependency(request with { NativeDependency = "afterany:5" }));
        Assert.Null(slurm.Dependency(request with { AfterOk = [] }));
        var upstream = request with { AfterOk = ["7[].vm", "8.vm"] };
        Assert.Equal("depend=afterok:7[].vm:8.vm", pbs.Dependency(upstream));
        Assert.Equal("depend=afterok:7[].vm:8.vm,afterany:5.vm", pbs.Dependency(upstream with { NativeDependency = "afterany:5.vm" }));
        Assert.Equal(["sbatch", "--parsable", "--chdir=/j", "--job-name=n", "--array=0-3", "--dependency=afterok:7:8", "--comment=k", "/j/s"], slurm.CommandLine(request));
        Assert.DoesNotContain(slurm.CommandLine(request with { Tasks = null }), a => a.StartsWith("--array", StringComparison.Ordinal));
    }

    [Fact]
    public void A_scattered_task_set_is_one_SLURM_array_and_one_PBS_array_per_range_keeping_the_throttle()
    {
        var request = new JobRequest("/j/s", "/j", "n", ArraySpec.Parse("1,4,5,6,9%2"), [], "k");
        Assert.Single(((IScheduler)new SlurmClient()).Split(request));
        var parts = new PbsScheduler().Split(request);
        Assert.Equal(["1,4%2", "5-6%2", "9%2"], parts.Select(p => p.Tasks!.ToString()));
        Assert.All(parts, p => Assert.Equal("k", p.Key));
    }

    [Fact]
    public void A_PBS_part_is_one_qsub_and_the_users_own_dependency_joins_the_afterok_chain()
    {
        var runner = new FakeRunner().Answer("qsub", Ok("42[].vm\n"), Ok("43[].vm\n"));
        var pbs = new PbsScheduler(runner, new FakeClock());
        var part = new JobRequest("/j/s.pbs", "/j", "n", ArraySpec.Parse("1,4"), ["7[].vm"], "k");

        Assert.Equal("42[].vm", pbs.Submit(part).JobId);
        Assert.Equal(["-N", "n", "-J", "1-4:3", "-W", "depend=afterok:7[].vm", "-v", "SPINEPROD_SUBMIT_KEY=k", "/j/s.pbs"], runner.Calls[0].Args);

        pbs.Submit(part with { NativeDependency = "afterany:5.vm" });
        Assert.Equal(["-N", "n", "-J", "1-4:3", "-v", "SPINEPROD_SUBMIT_KEY=k", "-W", "depend=afterok:7[].vm,afterany:5.vm", "/j/s.pbs"], runner.Calls[1].Args);
        Assert.Equal(["qsub", .. runner.Calls[1].Args], PbsSchedulerDialect.Instance.CommandLine(part with { NativeDependency = "afterany:5.vm" }));
        Assert.Throws<ArgumentException>(() => pbs.Submit(part with { Tasks = ArraySpec.Parse("1,4,5") }));   // not split first
    }

    [Fact]
    public void PBS_live_jobs_are_those_carrying_the_key_prefix_with_their_submit_folder()
    {
        const string json = """
            {"Jobs": {
              "12[].vm": {"Job_Name": "spine_a", "job_state": "B", "Variable_List": {"PBS_O_WORKDIR": "/jobs/a", "SPINEPROD_SUBMIT_KEY": "spineprod:p-1:s:0:x"}},
              "13.vm":   {"Job_Name": "other", "job_state": "Q", "Variable_List": {"PBS_O_WORKDIR": "/elsewhere"}},
              "14.vm":   {"Job_Name": "spine_b", "job_state": "H", "Variable_List": {"PBS_O_WORKDIR": "/jobs/b", "SPINEPROD_SUBMIT_KEY": "spineprod:q-2:s:0:x"}}
            }}
            """;
        var live = Assert.Single(PbsScheduler.ParseLiveJobs(json, "spineprod:p-1:"));
        Assert.Equal(new LiveJob("12[].vm", "spine_a", "spineprod:p-1:s:0:x", "/jobs/a"), live);
    }

    [Fact]
    public void Submit_records_each_part_of_a_split_array_with_its_own_key_and_downstream_waits_on_all()
    {
        var (plan, dir) = HandPlan.Create(Repo.Scratch("parts"), ("reco", 10, []), ("ana", 2, ["reco"]));
        // reco: one array of 5 tasks; tasks 1, 3 and 4 fail, so the resubmission is 1,3,4: two PBS ranges
        var s = new FakeScheduler { Name = "pbs", SplitLikePbs = true, StateOf = (r, i) => r.JobName.StartsWith("spine_reco_0") && i is 1 or 3 or 4 ? "FAILED" : "COMPLETED" };
        var context = new SubmitContext { Clock = new FakeClock(), LockWait = TimeSpan.FromSeconds(1) };
        new Submitter(_ => s, context).Submit(plan, dir);
        foreach (var stage in plan.Stages)
            for (int t = 0; t < stage.TaskCount; t++)
                if (stage.Name == "reco" && t is not (1 or 3 or 4)) FakeScheduler.WriteMarker(plan, stage.Name, t, HandPlan.TaskInputs(dir, stage, t));
        s.Submitted.Clear();
        s.StateOf = (_, _) => "PENDING";

        var outcome = new Submitter(_ => s, context).Submit(plan, dir);

        var reco0 = s.Submitted.Where(r => r.JobName == "spine_reco_0").ToList();
        Assert.Equal(["1,3", "4"], reco0.Select(r => r.Tasks!.ToString()));
        var ledger = Ledger.Load(plan.StateDir, plan.ProductionName);
        var entries = ledger.Submissions[^1].Stages.Single(st => st.Stage == "reco").Arrays;
        Assert.Equal(["1,3", "4"], entries.Select(a => a.Tasks));
        Assert.Equal(2, entries.Select(a => a.Comment).Distinct().Count());
        Assert.All(entries, a => Assert.Equal(ArraySubmissionState.Submitted, a.State));
        Assert.Equal("pbs", ledger.Submissions[^1].Scheduler);
        Assert.Equal(["reco", "reco", "ana"], outcome.Arrays.Select(a => a.Stage));
        // the downstream stage (its task left no marker) waits on both parts
        Assert.Equal(entries.Select(a => a.JobId!), s.Submitted.Single(r => r.JobName.StartsWith("spine_ana")).AfterOk);

        // Status reads each task from the part that ran it, in PBS's own task ids
        var state = ProductionState.Resolve(plan, dir, ledger, _ => s);
        var reco = state.Stages["reco"];
        Assert.Equal([TaskState.Pending, TaskState.Pending, TaskState.Pending], new[] { 1, 3, 4 }.Select(t => reco[t].Status));
        Assert.Equal(entries[1].JobId!.Replace("[]", "[4]"), reco[4].SchedulerId);
    }
}
