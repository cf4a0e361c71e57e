using System.Diagnostics;
using System.Text.Json.Nodes;
using SpineProd.Planning;
using SpineProd.Scheduler;
using SpineProd.Submission;
using Xunit;
using static SpineProd.Tests.Scenarios.ScenarioProduction;

namespace SpineProd.Tests.Scenarios;

/// <summary>
/// The end-to-end scenarios of issue 13, the same for every scheduler: submit, status, resubmission
/// of failed and missing tasks, cancel, a pipeline with cleanup, and the faults (server down before
/// and during a Submit, a submission whose reply is lost). Each runs through <c>dotnet build</c> as a
/// user runs it, with the SPINE test double, against the real scheduler; what differs between
/// schedulers lives in <see cref="SchedulerUnderTest"/>, never here. Where a scheduler keeps jobs,
/// every scenario also counts them by name on the scheduler itself: nothing is ever submitted twice.
/// </summary>
public abstract class ProductionScenarios
{
    protected abstract SchedulerUnderTest Under { get; }

    /// <summary>A job name no other test uses (arrays are named <c>&lt;name&gt;_&lt;array&gt;</c>), so the scheduler's jobs can be counted.</summary>
    protected static string UniqueJobName(string what) => $"sc_{what}_{Guid.NewGuid():N}"[..Math.Min(what.Length + 16, 40)];

    /// <summary>Inputs run_0000..: those at the <paramref name="failing"/> positions make the test double fail until fixed.</summary>
    private static List<string> RunInputs(ScenarioProduction s, int from, int count, IReadOnlyCollection<int> failing) =>
        s.Inputs(Enumerable.Range(from, count).Select(i => failing.Contains(i) ? $"run_{i:D4}_FAIL.root" : $"run_{i:D4}.root").ToArray());

    private void AssertEachArraySubmittedOnce(string jobName, int arrays, int times = 1)
    {
        if (!Under.HasServer) return;
        for (int a = 0; a < arrays; a++)
            Assert.Equal((a, times), (a, Under.JobsNamed($"{jobName}_{a}")));
    }

    // ------------------------------------------------------------------ submit, status, resubmit

    protected void Submit_then_status_then_resubmission_of_the_failed_and_the_missing_tasks()
    {
        var s = new ScenarioProduction(Under, "resubmit");
        var jobName = UniqueJobName("resub");
        var inputs = RunInputs(s, 0, 10, failing: [3, 8]);           // tasks of 2 files: 3 is in task 1, 8 in task 4
        var list = s.P.List("inputs.txt", inputs);
        s.Write($"<FilesPerTask>2</FilesPerTask><MaxArraySize>3</MaxArraySize><JobName>{jobName}</JobName>", "<SourceList Include=\"inputs.txt\" />");

        Assert.Contains("submitted 5 task(s) in 2 array(s)", s.Run("Submit").Output);
        var plan = s.Plan;
        var stage = Assert.Single(plan.Stages);
        Assert.Equal(2, stage.Arrays.Count);
        var sub1 = Assert.Single(s.Ledger.Submissions);
        Assert.Equal(Under.Name, sub1.Scheduler);
        Assert.Equal(["0-2", "0-1"], sub1.Stages.Single().Arrays.Select(a => a.ArraySpec));
        Assert.All(sub1.Stages.Single().Arrays, a => Assert.False(string.IsNullOrEmpty(a.JobId)));

        var st = s.WaitFinished();
        Assert.Equal((3, 2), (Total(st, "completed"), Total(st, "failed")));
        // every output of every successful task (0, 2, 3), named as SPINE's split_output names them, and its marker
        var outStem = Path.GetFileNameWithoutExtension(stage.Output);
        foreach (var i in new[] { 0, 1, 4, 5, 6, 7 })
            Assert.True(File.Exists(Path.Combine(stage.OutputDir, $"run_{i:D4}_{outStem}.h5")), $"no output for input {i}");
        Assert.Equal(3, Directory.GetFiles(Path.Combine(plan.StateDir, "markers", stage.Name), "*.done").Length);
        AssertJobFolder(sub1, plan, inputs: 10, maxArraySize: 3);
        var problems = st["problems"]!.AsArray();
        Assert.Equal([1, 4], problems.Select(t => (int)t!["task"]!));
        foreach (var t in problems)
        {
            Assert.Equal("failed", (string?)t!["status"]);
            Assert.StartsWith("1", (string?)t["exit_code"]);      // SLURM says 1:0, PBS 1
            var err = (string?)t["log_err"];
            Assert.True(err is not null && File.Exists(err), $"no error log for task {t["task"]}: '{err}'");
            Assert.Contains("failing on purpose", File.ReadAllText(err!));
        }

        // Status as a user reads it, and as CI uses it
        var status = s.Run("Status").Output;
        Assert.Contains("2 task(s) did not succeed", status);
        Assert.Contains("run_0003_FAIL.root", status);
        Assert.Contains("run_0008_FAIL.root", status);
        var json = JsonNode.Parse(File.ReadAllText(SpineProd.Layout.ProductionLayout.Of(plan).StatusFile))!;
        Assert.Equal((3, 2), (Total(json, "completed"), Total(json, "failed")));
        var strict = s.Build("Status", [("FailOnProblems", "true")]);
        Assert.False(strict.Succeeded);
        Assert.Contains("error SPN3017", strict.Output);

        // Fixed, and two more inputs arrived (a task never submitted): the next Submit sends exactly those
        File.AppendAllLines(list, RunInputs(s, 10, 2, failing: []));
        s.Fix();
        var second = s.Run("Submit").Output;
        Assert.Contains("2 task(s) failed: 1,4", second);
        Assert.Contains("submitted 3 task(s)", second);
        Assert.Contains("All tasks complete.", s.Run("Status", ("Wait", "true"), ("PollInterval", "1"), ("WaitTimeout", "150")).Output);
        var ledger = s.Ledger;
        Assert.Equal(2, ledger.Submissions.Count);
        var again = ledger.Submissions[1].Stages.Single().Arrays;
        Assert.Equal(["1", "4-5"], again.Select(a => a.Tasks));       // exactly the failed and the new tasks
        Assert.Equal(["1", "1-2"], again.Select(a => a.ArraySpec));   // as indices inside arrays 0 and 1

        stage = Assert.Single(s.Plan.Stages);
        foreach (var input in File.ReadAllLines(list))
            Assert.True(File.Exists(Path.Combine(stage.OutputDir, $"{Path.GetFileNameWithoutExtension(input)}_{outStem}.h5")), $"no output for {input}");
        Assert.Contains("Nothing to submit", s.Run("Submit").Output);
        Assert.Equal(2, s.Ledger.Submissions.Count);
        AssertEachArraySubmittedOnce(jobName, arrays: 2, times: 2);   // the first Submit and the resubmission
    }

    /// <summary>The job folder of a submission's one stage: its chunk lists, scripts, logs folder and job_metadata.json (spine-prod's keys and SpineProd's).</summary>
    private void AssertJobFolder(SubmissionRecord sub, ProductionPlan plan, int inputs, int maxArraySize)
    {
        var folder = sub.Stages.Single().JobFolder;
        Assert.StartsWith(plan.JobsDir, folder);
        Assert.Matches(@"\d{8}_\d{6}_", Path.GetFileName(folder));
        var arrays = sub.Stages.Single().Arrays;
        for (int a = 0; a < arrays.Count; a++)
        {
            Assert.True(File.Exists(Path.Combine(folder, $"files_chunk_{a}.txt")), $"files_chunk_{a}.txt");
            Assert.Single(Directory.GetFiles(folder, $"submit_chunk_{a}.*"));
        }
        Assert.True(Directory.Exists(Path.Combine(folder, "logs")));
        var meta = JsonNode.Parse(File.ReadAllText(Path.Combine(folder, JobMetadata.FileName)))!.AsObject();
        foreach (var key in new[] { "spine_prod_version", "job_name", "detector", "config", "original_config", "applied_modifiers", "profile", "profile_config",
                                    "num_files", "num_chunks", "job_ids", "output", "submitted", "command",
                                    "resolved_profile", "config_sha256", "sdk_version", "git_commit", "user", "host", "max_array_size", "stage", "arrays" })
            Assert.True(meta.ContainsKey(key), $"job_metadata.json has no {key}");
        Assert.Equal(inputs, (int)meta["num_files"]!);
        Assert.Equal(maxArraySize, (int)meta["max_array_size"]!);
        Assert.Equal(arrays.Select(a => a.JobId), meta["job_ids"]!.AsArray().Select(x => (string?)x));
        var array0 = meta["arrays"]!.AsArray()[0]!.AsObject();
        Assert.Equal(arrays[0].ArraySpec, (string?)array0["tasks"]);
        var argv = array0["submit_argv"]!.AsArray().Select(x => (string)x!).ToList();
        foreach (var word in Under.SubmitArgvHas(folder)) Assert.Contains(word, argv);
        Assert.Contains("-t:Submit", (string?)meta["command"]);
    }

    // ------------------------------------------------------------------ limits

    /// <summary>A production that sets no MaxArraySize takes the scheduler's own (never asks a server the local scheduler does not have).</summary>
    protected void Build_takes_MaxArraySize_from_the_scheduler_when_the_production_sets_none()
    {
        var s = new ScenarioProduction(Under, "maxarray");
        s.Inputs("run_0000.root", "run_0001.root", "run_0002.root");
        s.Write("", "<Source Include=\"inputs/*.root\" />");
        s.Run("Build");
        var plan = s.Plan;
        if (!Under.HasServer)
        {
            Assert.NotEqual("cluster", plan.MaxArraySizeSource);
            return;
        }
        Assert.Equal("cluster", plan.MaxArraySizeSource);
        if (Under.MaxArraySize() is int expected) Assert.Equal(expected, plan.MaxArraySize);
    }

    // ------------------------------------------------------------------ cancel

    /// <summary>Cancel in the middle of a run: running and queued tasks end cancelled, and a second Cancel has nothing to do.</summary>
    protected void Cancel_in_the_middle_of_a_run_cancels_running_and_queued_tasks()
    {
        var s = new ScenarioProduction(Under, "cancel");
        s.Inputs(Enumerable.Range(0, 4).Select(i => $"run_{i:D4}_SLEEP120.root").ToArray());
        s.Write("", "<Source Include=\"inputs/*.root\" />");

        s.Run("Submit");
        s.WaitUntil(st => Total(st, "running") > 0, "a task running");
        var cancel = s.Run("Cancel").Output;
        Assert.Matches(@"cancelled \d+ pending and [1-9]\d* running task\(s\)", cancel);
        var after = s.WaitUntil(st => (bool)st["finished"]!, "cancelled tasks finished");

        Assert.Equal((0, 4), (Total(after, "completed"), Total(after, "cancelled")));
        Assert.Contains("nothing to cancel", s.Run("Cancel").Output);
    }

    /// <summary>Tasks held by the user's own Dependency (a long upstream job) are pending; Cancel cancels exactly those.</summary>
    protected void Cancel_cancels_tasks_waiting_on_a_users_dependency()
    {
        var held = Under.HoldJob();
        try
        {
            var s = new ScenarioProduction(Under, "cancel-dependency");
            s.Inputs(Enumerable.Range(0, 6).Select(i => $"run_{i:D4}.root").ToArray());
            s.Write($"<FilesPerTask>2</FilesPerTask><Dependency>afterok:{held}</Dependency>", "<Source Include=\"inputs/*.root\" />");
            s.Run("Submit");
            Assert.Equal(3, Total(s.Status(), "pending"));

            Assert.Contains("cancelled 3 pending and 0 running task(s)", s.Run("Cancel").Output);
            var after = s.Status();
            Assert.Equal((0, 3), (Total(after, "pending"), Total(after, "cancelled")));
            Assert.Contains("nothing to cancel", s.Run("Cancel").Output);
        }
        finally
        {
            Under.RemoveJob(held);
        }
    }

    // ------------------------------------------------------------------ pipeline with cleanup

    /// <summary>
    /// reco → ana (reading reco's outputs) and a cleanup of reco's outputs after ana, reached through
    /// a symbolic link (as HPC home folders are). A failed reco task holds ana and the cleanup, so
    /// reco's outputs stay; fixed and submitted again, the pipeline finishes and the cleanup removes
    /// exactly the folder its production created.
    /// </summary>
    protected void A_pipeline_with_cleanup_waits_for_a_failed_task_then_finishes_and_removes_the_intermediate_files()
    {
        var s = new ScenarioProduction(Under, "pipeline", throughSymlink: true);
        var reco = s.Inputs("evt_0000.root", "evt_0001_FAIL.root", "evt_0002.root");
        s.P.List("reco.txt", reco);
        s.Write("", """
                <Stage Include="reco" Config="spine.yaml" OutputDir="reco-out" Cleanup="reco-out" />
                <Stage Include="ana" Config="spine.yaml" InputsFrom="reco" OutputDir="ana-out" />
                <SourceList Include="reco.txt" Stage="reco" />
            """);

        s.Run("Submit");
        var plan = s.Plan;
        var recoOut = plan.Stages[0].OutputDir;
        // ana waits for reco's array, the cleanup for ana's
        var sub1 = s.Ledger.Submissions.Single();
        var recoId = sub1.Stages.Single(x => x.Stage == "reco").Arrays.Single().JobId!;
        var anaId = sub1.Stages.Single(x => x.Stage == "ana").Arrays.Single().JobId!;
        Assert.Contains(recoId, sub1.Stages.Single(x => x.Stage == "ana").Arrays.Single().Dependency);
        var cleanup1 = sub1.Cleanups.Single();
        Assert.Contains(anaId, cleanup1.Dependency);
        var held = s.WaitUntil(st => InStage(st, "reco", "pending") + InStage(st, "reco", "running") == 0 && InStage(st, "ana", "running") == 0
                                     && InStage(st, "ana", "blocked") + InStage(st, "ana", "cancelled") + InStage(st, "ana", "failed") > 0, "reco done and ana held");
        Assert.Equal((2, 1), (InStage(held, "reco", "completed"), InStage(held, "reco", "failed")));
        // ana's task on the failed reco output never succeeds; the cleanup never removes what it reads
        var ana1 = held["problems"]!.AsArray().Single(t => (string?)t!["stage"] == "ana" && (int)t["task"]! == 1)!;
        Assert.NotEqual("completed", (string?)ana1["status"]);
        if (Under.HoldsDependentsOfAnyFailedTask)
        {
            Assert.Equal(0, InStage(held, "ana", "completed"));
            Assert.Contains("blocked by reco task(s) 1", (string?)ana1["detail"]);
            if (Under.HasServer) Assert.Matches(@"cleanup of reco: job \S+, will never run", s.Run("Status").Output);
        }
        else
        {
            // released: ana ran what it had, then the cleanup ran, checked ana's markers and refused
            var first = s.WaitUntil(st => ((string?)Stage(st, "reco")["cleanup"]?["state"] ?? "").StartsWith('F'), "the first cleanup job ended");
            var folder = (string)Stage(first, "reco")["cleanup"]!["job_folder"]!;
            var log = string.Join("\n", LogsOf(folder));
            Assert.True(log.Length == 0 || log.Contains("REFUSED: task 1 of ana did not complete"), log);
        }
        Assert.True(Directory.Exists(recoOut), "the cleanup removed reco's outputs although its downstream stage did not succeed");
        Assert.Equal(2, Directory.GetFiles(recoOut, "*.h5").Length);
        // the first task to start created the folder and recorded it for this production
        var record = File.ReadAllLines(Path.Combine(recoOut, OwnedFolder.RecordName));
        Assert.Equal(OwnedFolder.OwnerLine(s.P.ProjectFile), record[0]);
        Assert.Equal(plan.OutputOwner, record[0]);
        Assert.Contains("stage=reco", record);

        // fixed: reco's input, and ana's input made from it (the test double reads names)
        s.Fix();
        s.Fix(recoOut);
        s.Run("Submit");
        // exactly reco's failed task goes again, and ana and a new cleanup wait for it
        var sub2 = s.Ledger.Submissions[1];
        var newReco = sub2.Stages.Single(x => x.Stage == "reco").Arrays.Single();
        Assert.Equal("1", newReco.Tasks);
        Assert.Contains(newReco.JobId!, sub2.Stages.Single(x => x.Stage == "ana").Arrays.Single().Dependency);
        var cleanup2 = sub2.Cleanups.Single();
        Assert.NotEqual(cleanup1.JobId, cleanup2.JobId);
        var done = s.WaitFinished();
        Assert.True((bool)done["complete"]!, Dump(done));
        Assert.Equal(3, Directory.GetFiles(plan.Stages[1].OutputDir, "*.h5").Length);
        var end = DateTime.UtcNow + Deadline;
        while (Directory.Exists(recoOut) && DateTime.UtcNow < end) Thread.Sleep(500);
        Assert.False(Directory.Exists(recoOut), "the cleanup job did not remove " + recoOut);
        var cleanup = s.WaitUntil(st => (string?)Stage(st, "reco")["cleanup"]?["job_folder"] is string f
                                        && LogsOf(f).Any(l => l.Contains($"Removing: {recoOut}")), "the cleanup's log");
        Assert.NotNull(cleanup);
        s.WaitUntilReport(r => r.State.CleanupState(cleanup2)?.Kind == TaskStateKind.Completed, "the cleanup job reported done");
        Assert.Contains($"cleanup of reco: job {cleanup2.JobId}, done", s.Run("Status").Output);
    }

    /// <summary>
    /// A folder that appears at the output path after the plan was made (the build could not see
    /// it) and holds another production's file: the jobs write into it but do not record it, and the
    /// cleanup job refuses it, so nothing in it is removed.
    /// </summary>
    protected void A_cleanup_job_never_removes_a_folder_its_production_did_not_create()
    {
        var s = new ScenarioProduction(Under, "cleanup-foreign");
        var reco = s.Inputs("evt_0000.root", "evt_0001.root", "evt_0002.root");
        s.P.List("reco.txt", reco);
        s.Write("", """
                <Stage Include="reco" Config="spine.yaml" OutputDir="reco-out" Cleanup="reco-out" />
                <Stage Include="ana" Config="spine.yaml" InputsFrom="reco" OutputDir="ana-out" />
                <SourceList Include="reco.txt" Stage="reco" />
            """);
        s.Run("Build");
        var recoOut = s.Plan.Stages[0].OutputDir;
        Directory.CreateDirectory(recoOut);
        File.WriteAllText(Path.Combine(recoOut, "other_production.h5"), "not ours");

        s.Run("Submit");
        Assert.True((bool)s.WaitFinished()["complete"]!);
        var cleanup = s.Ledger.Submissions.Single().Cleanups.Single();
        var status = s.WaitUntilReport(r => r.State.CleanupState(cleanup)?.Kind is TaskStateKind.Completed or TaskStateKind.Failed, "the cleanup job finished");

        Assert.Equal(TaskStateKind.Failed, status.State.CleanupState(cleanup)!.Kind);
        Assert.False(File.Exists(Path.Combine(recoOut, OwnedFolder.RecordName)));
        Assert.Equal("not ours", File.ReadAllText(Path.Combine(recoOut, "other_production.h5")));
        Assert.Equal(3, Directory.GetFiles(recoOut, "evt_*.h5").Length);
        Assert.Contains($"REFUSED: {recoOut}: this production did not create it", string.Join("\n", LogsOf(cleanup.JobFolder)));
    }

    // ------------------------------------------------------------------ resources

    /// <summary>A task over its memory shows as out of memory; raising the limit sends it again, alone (where the scheduler enforces memory).</summary>
    protected void A_task_over_its_memory_shows_as_out_of_memory_and_goes_again_alone_with_a_larger_limit()
    {
        Assert.True(Under.EnforcesMemory, $"{Under.Name} does not enforce memory here: nothing to observe");
        var s = new ScenarioProduction(Under, "oom");
        s.Inputs("run_OOM600.root", "run_small.root");
        s.Write("", "<Source Include=\"inputs/*.root\" />", Under.Resources(memPerCpu: "150M"));

        s.Run("Submit");
        var st = s.WaitFinished();
        var oom = Assert.Single(st["problems"]!.AsArray())!;
        Assert.Equal("out_of_memory", (string?)oom["status"]);
        Assert.Contains("run_OOM600.root", oom["inputs"]!.AsArray().Single()!.GetValue<string>());
        Assert.Equal(1, Total(st, "out_of_memory"));
        var status = s.Run("Status").Output;
        Assert.Contains("OUT_OF_MEMORY", status);
        Assert.Contains("-p:MemPerCpu=", status);

        // Raising the limit changes the production; the task ran the same inputs, so it goes again, alone.
        var again = s.Run("Submit", ("MemPerCpu", "1000M")).Output;
        Assert.Contains("1 task(s) out of memory: 0", again);
        Assert.Contains("submitted 1 task(s) in 1 array(s)", again);
        Assert.Equal(1000L << 20, s.Plan.Stages.Single().Resources.MemPerCpuBytes);
        Assert.True((bool)s.WaitFinished()["complete"]!, "not complete after the retry with more memory");
    }

    private static IEnumerable<string> LogsOf(string jobFolder) =>
        Directory.Exists(jobFolder) ? Directory.EnumerateFiles(jobFolder, "*", SearchOption.AllDirectories).Where(f => f.Contains("/logs/")).Select(File.ReadAllText) : [];

    // ------------------------------------------------------------------ faults

    /// <summary>A production of 6 tasks in arrays of 5 and 1, with a job name of its own.</summary>
    private (ScenarioProduction S, string JobName) TwoArrays(string name)
    {
        var s = new ScenarioProduction(Under, name);
        var jobName = UniqueJobName(name);
        RunInputs(s, 0, 12, failing: []);
        s.Write($"<FilesPerTask>2</FilesPerTask><MaxArraySize>5</MaxArraySize><JobName>{jobName}</JobName>", "<Source Include=\"inputs/*.root\" />");
        s.Run("Build");
        return (s, jobName);
    }

    protected void With_the_server_down_Submit_fails_at_once_with_one_error_and_submits_everything_once_when_it_is_back()
    {
        var (s, jobName) = TwoArrays("down");
        ScenarioProduction.Result r;
        var clock = Stopwatch.StartNew();
        Under.StopServer();
        try { r = s.Fails("Submit", props: ("SubmitRetries", "1")); }
        finally { Under.StartServer(); }
        Assert.True(clock.Elapsed < TimeSpan.FromMinutes(2), $"took {clock.Elapsed}");

        Assert.Contains("submitted 6 task(s) in 2 array(s)", s.Run("Submit").Output);
        Assert.True((bool)s.WaitFinished()["complete"]!);
        AssertEachArraySubmittedOnce(jobName, arrays: 2);
    }

    protected void The_server_lost_between_two_arrays_then_back_each_array_is_submitted_exactly_once()
    {
        var (s, jobName) = TwoArrays("between");
        var shim = Under.Shim(s.Dir, $"[ \"$n\" -eq 2 ] && {{ {Under.StopServerCommand}; }} >&2");
        try { s.Fails("Submit", shim, ("SubmitRetries", "1")); }
        finally { Under.StartServer(); }
        Assert.Equal(1, Under.JobsNamed($"{jobName}_0"));
        Assert.Equal(0, Under.JobsNamed($"{jobName}_1"));

        Assert.Contains("submitted 1 task(s) in 1 array(s)", s.Run("Submit").Output);
        Assert.True((bool)s.WaitFinished()["complete"]!);
        AssertEachArraySubmittedOnce(jobName, arrays: 2);
    }

    /// <summary>The server accepts the first array but its reply is lost: Submit looks it up instead of sending it again.</summary>
    protected void A_submission_whose_reply_is_lost_is_found_on_the_server_and_not_sent_again()
    {
        var (s, jobName) = TwoArrays("lost");
        var shim = Under.Shim(s.Dir, "[ \"$n\" -eq 1 ] && echo lose-reply");

        var r = s.Build("Submit", shimDir: shim);

        Assert.True(r.Succeeded, r.Output);
        Assert.Contains("submitted 6 task(s) in 2 array(s)", r.Output);
        Assert.Equal(2, SchedulerUnderTest.ShimCalls(s.Dir));        // one per array: the lost one was found, not resent
        Assert.True((bool)s.WaitFinished()["complete"]!);
        AssertEachArraySubmittedOnce(jobName, arrays: 2);
    }

    /// <summary>
    /// The server accepts the first array, its reply is lost, and the server goes down before it can
    /// be asked: the Submit fails (nobody can know whether the array exists), and the next one, with
    /// the server back, finds the array instead of sending it again.
    /// </summary>
    protected void An_unanswered_submission_that_cannot_be_checked_is_looked_up_by_the_next_Submit_and_never_sent_twice()
    {
        var (s, jobName) = TwoArrays("unanswered");
        var shim = Under.Shim(s.Dir, "[ \"$n\" -eq 1 ] && echo lose-reply-and-server");
        try { s.Fails("Submit", shim, ("SubmitRetries", "2")); }
        finally { Under.StartServer(); }
        Assert.Equal(1, SchedulerUnderTest.ShimCalls(s.Dir));         // the array whose fate is unknown was not sent again
        Assert.Equal((1, 0), (Under.JobsNamed($"{jobName}_0"), Under.JobsNamed($"{jobName}_1")));

        var next = s.Run("Submit").Output;
        Assert.Contains("submitted 1 task(s) in 1 array(s)", next);
        Assert.True((bool)s.WaitFinished()["complete"]!);
        AssertEachArraySubmittedOnce(jobName, arrays: 2);
    }
}
