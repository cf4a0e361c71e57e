using System.Text.Json.Nodes;
using SpineProd.Diagnostics;
using SpineProd.Planning;
using SpineProd.Scheduler;
using SpineProd.Scheduler.Slurm;
using SpineProd.Submission;
using SpineProd.Tests.Infrastructure;
using Xunit;

namespace SpineProd.Tests.Cluster;

/// <summary>Submit's decisions (what, why, in which order, recorded when) against an in-memory scheduler and a hand-written plan.</summary>
public sealed class SubmitterTests
{
    private readonly List<string> _log = new();
    private readonly List<string> _warnings = new();

    private Submitter Submitter(FakeScheduler scheduler, ResubmitMode mode = ResubmitMode.Missing) =>
        new(_ => scheduler, new SubmitContext
        {
            Resubmit = mode, SdkVersion = "0.1.0", Command = "dotnet build hand.spineproj -t:Submit",
            Clock = new FakeClock(), LockWait = TimeSpan.FromSeconds(1),
            Log = (_, m) => _log.Add(m), Warn = (c, m) => _warnings.Add($"{c}: {m}"),
        });

    private static (ProductionPlan, string) OneStage(int files = 25) => HandPlan.Create(Repo.Scratch("submitter"), ("reco", files, []));

    [Fact]
    public void First_submit_sends_every_array_and_records_each_id_in_ledger_and_metadata()
    {
        var (plan, dir) = OneStage();
        var s = new FakeScheduler();

        var outcome = Submitter(s).Submit(plan, dir);

        Assert.Equal(3, outcome.Arrays.Count);
        Assert.Equal(["0-4", "0-4", "0-2"], s.Submitted.Select(r => r.Tasks!.ToString()));
        Assert.All(s.Submitted, r => Assert.StartsWith(plan.JobsDir, r.WorkingDirectory));
        var ledger = Ledger.Load(plan.StateDir, plan.ProductionName);
        var arrays = ledger.Submissions.Single().Stages.Single().Arrays;
        Assert.Equal(["100", "101", "102"], arrays.Select(a => a.JobId));
        Assert.Equal(["0-4", "5-9", "10-12"], arrays.Select(a => a.Tasks));
        var meta = JsonNode.Parse(File.ReadAllText(Path.Combine(arrays[0].Script, "..", JobMetadata.FileName)))!;
        Assert.Equal(["100", "101", "102"], meta["job_ids"]!.AsArray().Select(x => (string?)x));
        Assert.Equal(3, (int)meta["num_chunks"]!);
    }

    [Fact]
    public void A_controller_lost_between_two_arrays_leaves_the_first_recorded_and_the_next_submit_sends_only_the_rest()
    {
        var (plan, dir) = OneStage();
        var s = new FakeScheduler { FailOnSubmission = 2, StateOf = (_, _) => "RUNNING" };

        var e = Assert.Throws<SpineProdException>(() => Submitter(s).Submit(plan, dir));

        Assert.Equal("SPN3002", e.Code);
        Assert.Contains("1 array(s) submitted before this one are recorded", e.Message);
        var arrays = Ledger.Load(plan.StateDir, plan.ProductionName).Submissions.Single().Stages.Single().Arrays;
        Assert.Equal([ArraySubmissionState.Submitted, ArraySubmissionState.NotSubmitted], arrays.Select(a => a.State));
        Assert.Equal("100", arrays[0].JobId);
        var meta = JsonNode.Parse(File.ReadAllText(Path.Combine(Ledger.Load(plan.StateDir, "hand").Submissions[0].Stages[0].JobFolder, JobMetadata.FileName)))!;
        Assert.Equal(["100"], meta["job_ids"]!.AsArray().Select(x => (string?)x));

        s.FailOnSubmission = null;
        var again = Submitter(s).Submit(plan, dir);

        Assert.Equal([1, 2], again.Arrays.Select(a => a.Array));   // array 0 is running: not sent twice
        var folder = again.Arrays[0].JobFolder;
        Assert.False(File.Exists(Path.Combine(folder, "submit_chunk_0.sbatch")));   // only what this Submit sends
        Assert.True(File.Exists(Path.Combine(folder, "submit_chunk_1.sbatch")));
        Assert.Equal(2, Ledger.Load(plan.StateDir, plan.ProductionName).Submissions.Count);
    }

    [Fact]
    public void A_submit_that_reached_nothing_leaves_no_trace()
    {
        var (plan, dir) = OneStage();
        var s = new FakeScheduler { FailOnSubmission = 1 };

        Assert.Equal("SPN3002", Assert.Throws<SpineProdException>(() => Submitter(s).Submit(plan, dir)).Code);

        Assert.Empty(Ledger.Load(plan.StateDir, plan.ProductionName).Submissions);
        Assert.DoesNotContain(Directory.GetDirectories(plan.JobsDir), d => Path.GetFileName(d) != "hand");   // no job folder
    }

    [Fact]
    public void An_sbatch_that_may_have_been_accepted_keeps_its_intent_and_the_next_submit_checks_before_sending()
    {
        var (plan, dir) = OneStage(files: 4);
        var s = new FakeScheduler { FailOnSubmission = 1, FailCode = "SPN3020" };
        Assert.Equal("SPN3020", Assert.Throws<SpineProdException>(() => Submitter(s).Submit(plan, dir)).Code);
        var entry = Ledger.Load(plan.StateDir, "hand").Submissions.Single().Stages.Single().Arrays.Single();
        Assert.Equal(ArraySubmissionState.Submitting, entry.State);

        // it was accepted after all, as job 88, and is running
        s.FailOnSubmission = null;
        s.Find = (_, comment) => comment == entry.Comment ? (true, "88") : (true, null);
        s.Tasks[("88", 0)] = new SchedulerTask("88", 0, "RUNNING", TaskStateKind.Running);
        s.Tasks[("88", 1)] = new SchedulerTask("88", 1, "RUNNING", TaskStateKind.Running);

        var outcome = Submitter(s).Submit(plan, dir);

        Assert.Empty(outcome.Arrays);
        Assert.Empty(s.Submitted);
        Assert.Equal("88", Ledger.Load(plan.StateDir, "hand").Submissions.Single().Stages.Single().Arrays.Single().JobId);
    }

    [Fact]
    public void A_first_array_accepted_without_a_readable_job_id_keeps_its_job_folder_and_intent()
    {
        var (plan, dir) = OneStage(files: 4);
        var s = new FakeScheduler { FailOnSubmission = 1, FailCode = "SPN3011" };

        Assert.Equal("SPN3011", Assert.Throws<SpineProdException>(() => Submitter(s).Submit(plan, dir)).Code);

        var entry = Ledger.Load(plan.StateDir, "hand").Submissions.Single().Stages.Single().Arrays.Single();
        Assert.Equal(ArraySubmissionState.Submitting, entry.State);
        Assert.True(File.Exists(entry.Script), "the job folder of an array that may be running was deleted");
    }

    [Fact]
    public void A_cancelled_submit_stops_after_the_array_in_flight_and_records_exactly_what_was_sent()
    {
        var (plan, dir) = OneStage();                      // 3 arrays
        using var cts = new CancellationTokenSource();
        var s = new FakeScheduler();
        var submitter = new Submitter(_ => s, new SubmitContext
        {
            Clock = new FakeClock(), LockWait = TimeSpan.FromSeconds(1), Log = (_, m) => { _log.Add(m); if (m.Contains("submitted spine_reco_1")) cts.Cancel(); },
            Cancellation = cts.Token, CancellationReason = () => "Submit was cancelled (Ctrl-C)",
        });

        var e = Assert.Throws<SpineProdException>(() => submitter.Submit(plan, dir));

        Assert.Equal("SPN3031", e.Code);
        Assert.Contains("reco: 2 array(s), 10 task(s), jobs 100, 101", e.Message);
        Assert.Equal(2, s.Submitted.Count);
        var sub = Ledger.Load(plan.StateDir, "hand").Submissions.Single();
        Assert.Equal(["100", "101"], sub.Stages.Single().Arrays.Select(a => a.JobId));
        Assert.Equal("Submit was cancelled (Ctrl-C)", sub.Interrupted);
    }

    [Fact]
    public void A_submit_cancelled_before_its_first_array_leaves_no_trace()
    {
        var (plan, dir) = OneStage();
        var s = new FakeScheduler();
        var submitter = new Submitter(_ => s, new SubmitContext { Clock = new FakeClock(), Cancellation = new CancellationToken(true) });

        Assert.Equal("SPN3031", Assert.Throws<SpineProdException>(() => submitter.Submit(plan, dir)).Code);

        Assert.Empty(s.Submitted);
        Assert.Empty(Ledger.Load(plan.StateDir, "hand").Submissions);
        Assert.DoesNotContain(Directory.GetDirectories(plan.JobsDir), d => Path.GetFileName(d) != "hand");
    }

    [Fact]
    public void A_disk_full_while_the_job_folder_is_copied_leaves_no_folder_at_all()
    {
        var (plan, dir) = OneStage();
        var s = new FakeScheduler();
        int copied = 0;
        var submitter = new Submitter(_ => s, new SubmitContext
        {
            Clock = new FakeClock(),
            CopyingFile = _ => { if (++copied == 3) throw new IOException("No space left on device"); },
        });

        var e = Assert.Throws<SpineProdException>(() => submitter.Submit(plan, dir));

        Assert.Equal("SPN3032", e.Code);
        Assert.Contains("No space left on device", e.Message);
        Assert.Empty(s.Submitted);
        Assert.Equal(["hand"], Directory.GetDirectories(plan.JobsDir).Select(Path.GetFileName));
        Assert.Empty(Ledger.Load(plan.StateDir, "hand").Submissions);
    }

    [Fact]
    public void Live_jobs_missing_from_a_deleted_ledger_are_recovered_from_their_job_folder_and_not_sent_again()
    {
        var (plan, dir) = OneStage();                      // 3 arrays, all running
        var s = new FakeScheduler { StateOf = (_, _) => "RUNNING" };
        Submitter(s).Submit(plan, dir);
        var ledger = Ledger.Load(plan.StateDir, "hand");
        s.Live = ledger.AllArrays().Select(a => new LiveJob(a.Array.JobId!, a.Array.JobName, a.Array.Comment, a.Stage.JobFolder)).ToList();
        File.Delete(Ledger.PathIn(plan.StateDir));

        var again = Submitter(s).Submit(plan, dir);

        Assert.Empty(again.Arrays);
        Assert.Equal(3, s.Submitted.Count);
        var recovered = Ledger.Load(plan.StateDir, "hand");
        Assert.Equal(["100", "101", "102"], recovered.AllArrays().Select(a => a.Array.JobId));
        Assert.Equal(ledger.AllArrays().Select(a => a.Array.Tasks), recovered.AllArrays().Select(a => a.Array.Tasks));
    }

    [Fact]
    public void A_live_job_with_this_productions_comment_that_nothing_explains_is_refused()
    {
        var (plan, dir) = OneStage();
        var s = new FakeScheduler { Live = [new LiveJob("555", "spine_reco_0", "spineprod:hand:reco:0:20200101_000000", "/gone")] };

        Assert.Equal("SPN3033", Assert.Throws<SpineProdException>(() => Submitter(s).Submit(plan, dir)).Code);
        Assert.Empty(s.Submitted);
    }

    [Fact]
    public void Cancel_finds_and_cancels_an_array_whose_sbatch_went_unanswered()
    {
        var (plan, dir) = OneStage(files: 4);
        var s = new FakeScheduler { FailOnSubmission = 1, FailCode = "SPN3020" };
        Assert.Throws<SpineProdException>(() => Submitter(s).Submit(plan, dir));
        var entry = Ledger.Load(plan.StateDir, "hand").Submissions.Single().Stages.Single().Arrays.Single();
        s.Find = (_, c) => c == entry.Comment ? (true, "90") : (true, null);
        s.Tasks[("90", 0)] = new SchedulerTask("90", 0, "PENDING", TaskStateKind.Pending, Name: entry.JobName, Comment: entry.Comment);

        var outcome = Canceller.Cancel(plan.StateDir, "hand", null, _ => s, _log.Add, TimeSpan.FromSeconds(1));

        Assert.Equal(["90"], outcome.JobIds);
        Assert.Equal(["90"], s.Cancelled);
    }

    [Fact]
    public void An_array_whose_sbatch_was_under_way_when_submit_died_is_found_by_its_comment()
    {
        var (plan, dir) = OneStage(files: 4);
        var ledger = new Ledger { Production = "hand" };
        ledger.Submissions.Add(new SubmissionRecord
        {
            Id = "20261124_080000", PlanSha256 = plan.PlanSha256, Scheduler = "slurm",
            Stages = { new StageSubmission { Stage = "reco", JobFolder = "/nowhere", Arrays = { new ArraySubmission { Array = 0, JobName = "spine_reco_0", State = ArraySubmissionState.Submitting, Tasks = "0-1", Comment = "spineprod:hand:reco:0:20261124_080000" } } } },
        });
        ledger.Save(plan.StateDir);
        var s = new FakeScheduler { Find = (name, comment) => comment.EndsWith("080000") ? (true, "77") : (true, null) };
        s.Tasks[("77", 0)] = new SchedulerTask("77", 0, "RUNNING", TaskStateKind.Running);
        s.Tasks[("77", 1)] = new SchedulerTask("77", 1, "PENDING", TaskStateKind.Pending);

        var outcome = Submitter(s).Submit(plan, dir);

        Assert.Empty(outcome.Arrays);                                // both tasks live under job 77: nothing sent twice
        var first = Ledger.Load(plan.StateDir, "hand").Submissions[0].Stages[0].Arrays[0];
        Assert.Equal(ArraySubmissionState.Submitted, first.State);
        Assert.Equal("77", first.JobId);
    }

    [Fact]
    public void Resubmission_sends_failed_tasks_and_says_why()
    {
        var (plan, dir) = OneStage(files: 10);           // 5 tasks, one array
        var s = new FakeScheduler { StateOf = (_, i) => i switch { 1 => "FAILED", 2 => "TIMEOUT", 3 => "OUT_OF_MEMORY", _ => "COMPLETED" } };
        Submitter(s).Submit(plan, dir);
        foreach (var t in new[] { 0, 4 }) FakeScheduler.WriteMarker(plan, "reco", t, HandPlan.TaskInputs(dir, plan.Stages[0], t));
        _log.Clear();

        Submitter(s).Submit(plan, dir);

        Assert.Equal("1-3", s.Submitted[1].Tasks!.ToString());
        Assert.Contains(_log, l => l.Contains("1 task(s) failed: 1"));
        Assert.Contains(_log, l => l.Contains("1 task(s) timed out: 2"));
        Assert.Contains(_log, l => l.Contains("1 task(s) out of memory: 3"));
    }

    [Fact]
    public void A_marker_listing_other_inputs_does_not_count_as_done()
    {
        var (plan, dir) = OneStage(files: 4);            // 2 tasks
        var s = new FakeScheduler();
        Submitter(s).Submit(plan, dir);
        FakeScheduler.WriteMarker(plan, "reco", 0, HandPlan.TaskInputs(dir, plan.Stages[0], 0));
        FakeScheduler.WriteMarker(plan, "reco", 1, ["/some/other/input.root"]);

        var state = ProductionState.Resolve(plan, dir, Ledger.Load(plan.StateDir, "hand"), _ => s);

        Assert.Equal(TaskState.Completed, state.Stages["reco"][0].Status);
        Assert.Equal(TaskState.Failed, state.Stages["reco"][1].Status);
        Assert.Contains("other inputs", state.Stages["reco"][1].Detail);
    }

    [Fact]
    public void Resubmit_failed_leaves_never_submitted_tasks_and_none_refuses()
    {
        var (plan, dir) = OneStage();
        var s = new FakeScheduler { FailOnSubmission = 2, StateOf = (_, i) => i == 0 ? "FAILED" : "RUNNING" };
        Assert.Throws<SpineProdException>(() => Submitter(s).Submit(plan, dir));
        s.FailOnSubmission = null;

        Assert.Equal("SPN3012", Assert.Throws<SpineProdException>(() => Submitter(s, ResubmitMode.None).Submit(plan, dir)).Code);
        var outcome = Submitter(s, ResubmitMode.Failed).Submit(plan, dir);

        var only = Assert.Single(outcome.Arrays);
        Assert.Equal((0, "0"), (only.Array, only.ArraySpec));
        Assert.Contains(_log, l => l.Contains("8 never submitted left out (Resubmit=failed)"));
    }

    [Fact]
    public void Live_tasks_of_an_earlier_plan_for_other_inputs_stop_a_submit_of_the_changed_production()
    {
        var (plan, dir) = OneStage(files: 4);
        var s = new FakeScheduler { StateOf = (_, _) => "RUNNING" };
        Submitter(s).Submit(plan, dir);
        plan.PlanSha256 = "sha-2";
        File.WriteAllLines(Path.Combine(dir, "reco", "files_chunk_0.txt"), ["/other/a.root,/other/b.root", "/other/c.root,/other/d.root"]);

        Assert.Equal("SPN3008", Assert.Throws<SpineProdException>(() => Submitter(s).Submit(plan, dir)).Code);
    }

    [Fact]
    public void After_a_change_that_keeps_the_inputs_eg_a_longer_Time_failed_tasks_are_resubmitted_and_live_ones_left_alone()
    {
        var (plan, dir) = OneStage(files: 6);            // 3 tasks
        var s = new FakeScheduler { StateOf = (_, i) => i switch { 0 => "TIMEOUT", 1 => "RUNNING", _ => "COMPLETED" } };
        Submitter(s).Submit(plan, dir);
        FakeScheduler.WriteMarker(plan, "reco", 2, HandPlan.TaskInputs(dir, plan.Stages[0], 2));
        plan.PlanSha256 = "sha-2";                      // e.g. -p:Time=4:00:00 on the resubmission
        _log.Clear();

        var outcome = Submitter(s).Submit(plan, dir);

        var only = Assert.Single(outcome.Arrays);
        Assert.Equal("0", only.ArraySpec);
        Assert.Contains(_log, l => l.Contains("1 task(s) timed out: 0"));
        Assert.Contains(_log, l => l.Contains("submitted before the production last changed"));
    }

    [Fact]
    public void Status_of_twenty_thousand_tasks_is_one_scheduler_query()
    {
        var (plan, dir) = HandPlan.Create(Repo.Scratch("status-20k"), filesPerTask: 1, arraySize: 500, ("reco", 20_000, []));
        var s = new FakeScheduler { StateOf = (_, i) => i % 100 == 0 ? "FAILED" : "RUNNING" };
        Submitter(s).Submit(plan, dir);
        int before = s.Queries;

        var started = DateTime.UtcNow;
        var report = StatusReport.Create(plan, dir, _ => s);
        var elapsed = DateTime.UtcNow - started;

        Assert.Equal(1, s.Queries - before);
        Assert.Equal(40, s.Submitted.Count);
        Assert.Equal(20_000, report.Totals.Total);
        Assert.Equal(200, report.Totals.Failed);
        Assert.True(elapsed < TimeSpan.FromSeconds(10), $"Status took {elapsed}");
        var lines = report.Render();
        Assert.Contains(lines, l => System.Text.RegularExpressions.Regex.IsMatch(l, @"^reco\s+20 more\s"));   // 40 arrays: 20 rows, then one for the rest
        Assert.True(lines.Count < 100, string.Join("\n", lines));            // 20 table rows, 20 tasks named, the rest counted
    }

    [Fact]
    public void A_production_cut_into_other_arrays_since_keeps_each_tasks_history_and_log()
    {
        var root = Repo.Scratch("recut");
        var (plan, dir) = HandPlan.Create(root, filesPerTask: 2, arraySize: 5, ("reco", 10, []));   // 5 tasks, 1 array
        var s = new FakeScheduler { StateOf = (_, i) => i == 3 ? "FAILED" : "COMPLETED" };
        Submitter(s).Submit(plan, dir);
        foreach (var t in new[] { 0, 1, 2, 4 }) FakeScheduler.WriteMarker(plan, "reco", t, HandPlan.TaskInputs(dir, plan.Stages[0], t));

        var (recut, _) = HandPlan.Create(root, filesPerTask: 2, arraySize: 2, ("reco", 10, []));     // now 3 arrays of 2
        recut.PlanSha256 = "sha-2";
        var state = ProductionState.Resolve(recut, dir, Ledger.Load(recut.StateDir, "hand"), _ => s);

        var task3 = state.Stages["reco"][3];
        Assert.Equal((1, 1), (task3.Array.Index, task3.IndexInArray));
        Assert.Equal(("100_3", TaskState.Failed), (task3.SchedulerId, task3.Status));
        Assert.EndsWith("spine_reco_0_100_3.err", task3.LogPath(error: true));
        var outcome = Submitter(s).Submit(recut, dir);
        var only = Assert.Single(outcome.Arrays);
        Assert.Equal((1, "1"), (only.Array, only.ArraySpec));
    }

    [Fact]
    public void A_second_submit_at_the_same_time_is_refused()
    {
        var (plan, dir) = OneStage(files: 2);
        using var held = SubmitLock.Acquire(plan.StateDir, TimeSpan.Zero);

        var e = Assert.Throws<SpineProdException>(() => Submitter(new FakeScheduler()).Submit(plan, dir));

        Assert.Equal("SPN3004", e.Code);
        Assert.EndsWith("submit.lock", e.File);
    }

    [Fact]
    public void A_downstream_stage_waits_afterok_on_every_upstream_array_of_this_submit()
    {
        var (plan, dir) = HandPlan.Create(Repo.Scratch("chain"), ("reco", 24, []), ("ana", 4, ["reco"]));
        plan.Stages[1].Dependency = "afterany:5";
        var s = new FakeScheduler { StateOf = (_, _) => "PENDING" };

        Submitter(s).Submit(plan, dir);

        Assert.Equal(["reco", "reco", "reco", "ana"], s.Submitted.Select(r => r.JobName.Split('_')[1]));
        Assert.Equal("afterany:5,afterok:100:101:102", SlurmDialect.Dependency(s.Submitted[3]));
        Assert.Null(SlurmDialect.Dependency(s.Submitted[0]));
    }

    [Fact]
    public void Tasks_blocked_behind_a_failed_upstream_task_are_cancelled_and_chained_to_its_resubmission()
    {
        var (plan, dir) = HandPlan.Create(Repo.Scratch("blocked"), ("reco", 4, []), ("ana", 2, ["reco"]));
        var s = new FakeScheduler { StateOf = (r, i) => r.JobName.StartsWith("spine_reco") ? (i == 1 ? "FAILED" : "COMPLETED") : "PENDING" };
        Submitter(s).Submit(plan, dir);                                         // reco = 100, ana = 101
        FakeScheduler.WriteMarker(plan, "reco", 0, HandPlan.TaskInputs(dir, plan.Stages[0], 0));
        s.Tasks[("101", 0)] = s.Tasks[("101", 0)] with { Reason = "DependencyNeverSatisfied", Blocked = true };
        s.StateOf = (_, _) => "PENDING";

        var outcome = Submitter(s).Submit(plan, dir);

        Assert.Equal(["101_0"], s.Cancelled);
        Assert.Equal([("reco", "1"), ("ana", "0")], outcome.Arrays.Select(a => (a.Stage, a.ArraySpec)));
        Assert.Equal("afterok:102", outcome.Arrays[1].Dependency);
        Assert.Contains(_log, l => l.Contains("blocked behind a failed upstream task"));
    }
}
