using SpineProd.Diagnostics;
using SpineProd.Scheduler;
using SpineProd.Scheduler.Slurm;
using Xunit;
using static SpineProd.Tests.Cluster.FakeRunner;

namespace SpineProd.Tests.Cluster;

/// <summary>SLURM client logic through its seams (a scripted process runner and a fake clock): no cluster needed.</summary>
public sealed class SlurmClientTests
{
    private static readonly JobRequest Request = new("/jobs/x/submit_chunk_0.sbatch", "/jobs/x", "spine_x_0", ArraySpec.Parse("0-4%2"), ["7"], "spineprod:p:s:0:id");

    private static (SlurmClient, FakeRunner, FakeClock) Client(int attempts = 4)
    {
        var runner = new FakeRunner();
        var clock = new FakeClock();
        return (new SlurmClient(runner, clock, new SlurmOptions { MaxAttempts = attempts }), runner, clock);
    }

    [Fact]
    public void Sbatch_gets_an_argument_list_with_chdir_array_dependency_and_comment()
    {
        var (client, runner, _) = Client();
        runner.Answer("sbatch", Ok("42\n"));

        var result = client.Submit(Request);

        Assert.Equal("42", result.JobId);
        var (program, args) = Assert.Single(runner.Calls);
        Assert.Equal("sbatch", program);
        Assert.Equal(["--parsable", "--chdir=/jobs/x", "--job-name=spine_x_0", "--array=0-4%2", "--dependency=afterok:7",
                      "--comment=spineprod:p:s:0:id", "/jobs/x/submit_chunk_0.sbatch"], args);
    }

    [Fact]
    public void Parsable_output_with_a_cluster_name_gives_the_bare_id()
    {
        var (client, runner, _) = Client();
        runner.Answer("sbatch", Ok("1234;perlmutter\n"));
        Assert.Equal("1234", client.Submit(Request).JobId);
    }

    [Theory]
    [InlineData("4242\n", "4242")]
    [InlineData("4242;perlmutter\n", "4242")]
    [InlineData("*** Welcome to S3DF ***\nQuota: 80% used\n4242\n", "4242")]
    [InlineData("4242\nReminder: scratch is purged after 30 days\n", "4242")]
    [InlineData("Submitted batch job 4242\n", "4242")]
    [InlineData("Submitted batch job 4242 on cluster ci\n", "4242")]
    [InlineData("2026\n4242\n", null)]             // two candidates: no guess
    [InlineData("job accepted\n", null)]
    [InlineData("", null)]
    [InlineData("4242;two words\n", null)]
    public void The_job_id_is_read_from_any_line_of_sbatch_output_but_never_guessed(string stdout, string? id) =>
        Assert.Equal(id, SlurmDialect.ParseJobId(stdout));

    [Fact]
    public void A_site_banner_around_the_id_still_gives_the_id_without_asking_the_cluster()
    {
        var (client, runner, _) = Client();
        runner.Answer("sbatch", Ok("=== SiteCluster: maintenance on Tuesday ===\n1234;ci\n"));
        Assert.Equal("1234", client.Submit(Request).JobId);
        Assert.Equal(0, runner.Count("squeue"));
    }

    [Fact]
    public void Output_without_a_single_job_id_is_looked_up_by_comment_and_never_sent_again()
    {
        var (client, runner, _) = Client();
        runner.Answer("sbatch", Ok("Your job has been submitted. Have a nice day.\n"))
              .Answer("squeue", Ok("777|spineprod:p:s:0:id\n"));

        var result = client.Submit(Request);

        Assert.Equal(("777", true), (result.JobId, result.Reconciled));
        Assert.Equal(1, runner.Count("sbatch"));
    }

    [Fact]
    public void Output_without_a_job_id_that_cannot_be_found_either_is_SPN3011_possibly_submitted()
    {
        var (client, runner, _) = Client();
        runner.Answer("sbatch", Ok("banner only\n"))
              .Answer("squeue", Err("slurm_load_jobs error: Socket timed out on send/recv operation"));

        var e = Assert.Throws<SpineProdException>(() => client.Submit(Request));

        Assert.Equal("SPN3011", e.Code);
        Assert.True(SpineProd.Submission.Submitter.MayHaveBeenAccepted(e));
        Assert.Equal(1, runner.Count("sbatch"));
    }

    [Theory]
    [InlineData("sbatch: error: QOSMaxWallDurationPerJobLimit\nsbatch: error: Batch job submission failed: Job violates accounting/QOS policy (job submit limit, user's size and/or time limits)")]
    [InlineData("sbatch: error: Batch job submission failed: Invalid account or account/partition combination specified")]
    [InlineData("sbatch: error: invalid partition specified: nosuch\nsbatch: error: Batch job submission failed: Invalid partition name specified")]
    [InlineData("sbatch: error: Batch job submission failed: Invalid qos specification")]
    public void A_permanent_rejection_is_SPN3003_at_once_with_sbatchs_reason(string stderr)
    {
        var (client, runner, clock) = Client();
        runner.Answer("sbatch", Err(stderr));

        var e = Assert.Throws<SpineProdException>(() => client.Submit(Request));

        Assert.Equal("SPN3003", e.Code);
        Assert.Contains(stderr.Split('\n')[0].Replace("sbatch: error: ", ""), e.Message);
        Assert.Equal(1, runner.Count("sbatch"));
        Assert.Empty(clock.Sleeps);
    }

    [Fact]
    public void An_sbatch_killed_by_a_signal_is_looked_up_by_comment_not_taken_for_a_rejection()
    {
        var (client, runner, _) = Client();
        runner.Answer("sbatch", new ProcessResult(130, "", ""))
              .Answer("squeue", Ok(""));

        var e = Assert.Throws<SpineProdException>(() => client.Submit(Request));

        Assert.Equal("SPN3030", e.Code);
        Assert.Equal(1, runner.Count("sbatch"));
        Assert.True(SpineProd.Submission.Submitter.MayHaveBeenAccepted(e));
    }

    [Fact]
    public void Live_jobs_are_one_squeue_of_the_user_filtered_by_comment_prefix()
    {
        var (client, runner, _) = Client();
        runner.Answer("squeue", Ok("""
            51|spine_a_0|spineprod:prod:reco:0:20261124_080000|/jobs/20261124_080000_spine_a
            51|spine_a_0|spineprod:prod:reco:0:20261124_080000|/jobs/20261124_080000_spine_a
            52|other|spineprod:production2:reco:0:x|/elsewhere
            53|cleanup_a|spineprod:prod:reco:cleanup:20261124_080000|/jobs/odd|dir
            """));

        var live = client.ListLiveJobs("spineprod:prod:")!;

        Assert.Equal(["51", "53"], live.Select(j => j.JobId));
        Assert.Equal("/jobs/odd|dir", live[1].WorkDir);
        Assert.Equal(["--me", "-h", "-o", "%F|%j|%k|%Z"], Assert.Single(runner.Calls).Args);
    }

    [Fact]
    public void Unreachable_controller_is_retried_with_growing_jittered_delays_then_succeeds()
    {
        var (client, runner, clock) = Client();
        runner.Answer("sbatch",
            Err("sbatch: error: Batch job submission failed: Unable to contact slurm controller (connect failure)"),
            Err("sbatch: error: Batch job submission failed: Job violates accounting/QOS policy (job submit limit, user's size and/or time limits) QOSMaxSubmitJobPerUserLimit"),
            Ok("9\n"));

        var result = client.Submit(Request);

        Assert.Equal("9", result.JobId);
        Assert.Equal(3, result.Attempts);
        Assert.Equal(3, runner.Count("sbatch"));
        Assert.Equal(0, runner.Count("squeue"));          // a refused connection cannot have submitted anything
        Assert.Equal(2, clock.Sleeps.Count);
        Assert.True(clock.Sleeps[1] > clock.Sleeps[0]);
        // equal jitter: between half and all of the step (2 s, then 4 s)
        Assert.InRange(clock.Sleeps[0].TotalSeconds, 1, 2);
        Assert.InRange(clock.Sleeps[1].TotalSeconds, 2, 4);
    }

    [Fact]
    public void After_a_socket_timeout_the_array_is_looked_up_by_name_and_comment_and_not_submitted_twice()
    {
        var (client, runner, _) = Client();
        runner.Answer("sbatch", Err("sbatch: error: Batch job submission failed: Socket timed out on send/recv operation"));
        runner.Answer("squeue", Ok("55|other-comment\n57|spineprod:p:s:0:id\n"));

        var result = client.Submit(Request);

        Assert.Equal("57", result.JobId);
        Assert.True(result.Reconciled);
        Assert.Equal(1, runner.Count("sbatch"));
        var squeue = runner.Calls.Single(c => c.Program == "squeue").Args;
        Assert.Contains("--name=spine_x_0", squeue);
    }

    [Fact]
    public void After_a_timeout_with_no_such_array_at_the_controller_sbatch_runs_again()
    {
        var (client, runner, _) = Client();
        runner.Answer("sbatch", Timeout(), Ok("60\n"));
        runner.Answer("squeue", Ok(""));

        Assert.Equal("60", client.Submit(Request).JobId);
        Assert.Equal(2, runner.Count("sbatch"));
        Assert.Equal(1, runner.Count("squeue"));
    }

    [Fact]
    public void After_a_timeout_an_array_squeue_has_forgotten_is_found_in_accounting()
    {
        var (client, runner, _) = Client();
        runner.Answer("sbatch", Timeout());
        runner.Answer("squeue", Ok(""));
        runner.Answer("sacct", Ok("70_0|spineprod:p:s:0:id\n70_1|spineprod:p:s:0:id\n"));

        Assert.Equal(("70", true), (client.Submit(Request).JobId, true));
        Assert.Equal(1, runner.Count("sbatch"));
    }

    [Fact]
    public void After_a_timeout_sbatch_never_runs_again_while_squeue_cannot_answer()
    {
        var (client, runner, _) = Client(attempts: 3);
        runner.Answer("sbatch", Timeout());
        runner.Answer("squeue", Err("squeue: error: Unable to contact slurm controller"), Err("squeue: error: Unable to contact slurm controller"));

        var e = Assert.Throws<SpineProdException>(() => client.Submit(Request));

        Assert.Equal("SPN3020", e.Code);                  // maybe accepted: the caller keeps its intent record
        Assert.Equal(1, runner.Count("sbatch"));
    }

    [Fact]
    public void A_rejected_submission_is_not_retried()
    {
        var (client, runner, clock) = Client();
        runner.Answer("sbatch", Err("sbatch: error: Batch job submission failed: Invalid partition name specified"));

        var e = Assert.Throws<SpineProdException>(() => client.Submit(Request));

        Assert.Equal("SPN3003", e.Code);
        Assert.Contains("Invalid partition name", e.Message);
        Assert.Equal(1, runner.Count("sbatch"));
        Assert.Empty(clock.Sleeps);
    }

    [Fact]
    public void Retries_are_bounded()
    {
        var (client, runner, clock) = Client(attempts: 4);
        for (int i = 0; i < 10; i++) runner.Answer("sbatch", Err("Unable to contact slurm controller (connect failure)"));

        var e = Assert.Throws<SpineProdException>(() => client.Submit(Request));

        Assert.Equal("SPN3002", e.Code);
        Assert.Equal(4, runner.Count("sbatch"));
        Assert.Equal(3, clock.Sleeps.Count);
    }

    [Fact]
    public void No_sbatch_on_this_machine_is_a_clear_error()
    {
        var (client, runner, _) = Client();
        runner.Answer("sbatch", new ProcessResult(127, "", "No such file", NotFound: true));
        Assert.Equal("SPN3014", Assert.Throws<SpineProdException>(() => client.Submit(Request)).Code);
    }

    [Fact]
    public void Status_of_a_running_production_is_one_sacct_and_one_squeue_call_for_all_its_arrays()
    {
        var (client, runner, _) = Client();
        runner.Answer("squeue", Ok("10|2|RUNNING|None|13\n10|3|PENDING|JobArrayTaskLimit|10\n11|0|PENDING|Dependency|11\n"));
        runner.Answer("sacct", Ok("10_0|12|COMPLETED|0:0|None\n10_1|14|FAILED|3:0|None\n10_[2-3]|10|PENDING|0:0|JobArrayTaskLimit\n12_4|20|OUT_OF_MEMORY|0:125|None\n"));

        var snap = client.Query(["10", "11", "12"]);

        Assert.Equal(1, runner.Count("squeue"));
        Assert.Equal(1, runner.Count("sacct"));
        Assert.Contains("10,11,12", runner.Calls.Single(c => c.Program == "sacct").Args);
        Assert.Equal(TaskStateKind.Completed, snap.Find("10", 0)!.Kind);
        Assert.Equal("3:0", snap.Find("10", 1)!.ExitCode);
        Assert.Equal(TaskStateKind.Running, snap.Find("10", 2)!.Kind);          // squeue is fresher than sacct's PENDING
        Assert.Equal(TaskStateKind.Pending, snap.Find("10", 3)!.Kind);
        Assert.Equal("Dependency", snap.Find("11", 0)!.Reason);
        Assert.Equal(TaskStateKind.OutOfMemory, snap.Find("12", 4)!.Kind);
    }

    [Fact]
    public void Status_of_a_finished_production_is_one_sacct_call()
    {
        var (client, runner, _) = Client();
        runner.Answer("sacct", Ok("10_0|12|COMPLETED|0:0|None\n10_1|10|FAILED|1:0|None\n11_0|13|TIMEOUT|0:15|None\n"));

        var snap = client.Query(["10", "11"]);

        Assert.Equal(["sacct"], runner.Calls.Select(c => c.Program));
        Assert.Equal(TaskStateKind.Timeout, snap.Find("11", 0)!.Kind);
    }

    [Fact]
    public void An_array_sacct_does_not_list_yet_is_asked_of_squeue()
    {
        var (client, runner, _) = Client();
        runner.Answer("sacct", Ok("10_0|12|COMPLETED|0:0|None\n"));
        runner.Answer("squeue", Ok("11|0|PENDING|Priority|11\n"));

        var snap = client.Query(["10", "11"]);

        Assert.Equal(1, runner.Count("squeue"));
        Assert.Equal(TaskStateKind.Pending, snap.Find("11", 0)!.Kind);
    }

    [Fact]
    public void Tasks_sacct_does_not_list_yet_are_asked_of_squeue()
    {
        var (client, runner, _) = Client();
        runner.Answer("sacct", Ok("10_0|12|COMPLETED|0:0|None\n"));
        runner.Answer("squeue", Ok("10|0|COMPLETED|None|12\n10|1|FAILED|NonZeroExitCode|10\n"));

        var snap = client.Query(["10"], null, new Dictionary<string, int> { ["10"] = 2 });

        Assert.Equal(1, runner.Count("squeue"));
        Assert.Equal(TaskStateKind.Failed, snap.Find("10", 1)!.Kind);
    }

    [Fact]
    public void A_stale_running_row_in_sacct_gives_no_exit_code_to_a_task_squeue_says_failed()
    {
        var (client, runner, _) = Client();
        runner.Answer("sacct", Ok("10_0|12|RUNNING|0:0|None\n"));
        runner.Answer("squeue", Ok("10|0|FAILED|NonZeroExitCode|12\n"));

        var t = client.Query(["10"]).Find("10", 0)!;

        Assert.Equal((TaskStateKind.Failed, null), (t.Kind, t.ExitCode));
    }

    [Fact]
    public void Without_accounting_squeue_alone_answers()
    {
        var (client, runner, _) = Client();
        runner.Answer("squeue", Ok("10|0|COMPLETED|None|11\n"));
        runner.Answer("sacct", Err("Slurm accounting storage is disabled"));

        var snap = client.Query(["10"]);

        Assert.Equal(["squeue"], snap.Sources);
        Assert.Equal(TaskStateKind.Completed, snap.Find("10", 0)!.Kind);
    }

    [Fact]
    public void A_cluster_that_answers_neither_query_is_an_error()
    {
        var (client, runner, _) = Client();
        runner.Answer("squeue", Err("squeue: error: Unable to contact slurm controller"));
        runner.Answer("sacct", Err("sacct: error: Problem talking to the database"));
        Assert.Equal("SPN3009", Assert.Throws<SpineProdException>(() => client.Query(["1"])).Code);
    }

    [Theory]
    [InlineData("CANCELLED by 0", TaskStateKind.Cancelled)]
    [InlineData("TIMEOUT", TaskStateKind.Timeout)]
    [InlineData("OUT_OF_MEMORY", TaskStateKind.OutOfMemory)]
    [InlineData("NODE_FAIL", TaskStateKind.NodeFail)]
    [InlineData("REQUEUED", TaskStateKind.Pending)]
    [InlineData("COMPLETING", TaskStateKind.Running)]
    [InlineData("PREEMPTED", TaskStateKind.Preempted)]
    [InlineData("FAILED", TaskStateKind.Failed)]
    [InlineData("WHATEVER", TaskStateKind.Unknown)]
    public void States_are_classified(string raw, TaskStateKind kind) => Assert.Equal(kind, SlurmDialect.Classify(raw));

    [Fact]
    public void MaxArraySize_is_read_from_scontrol_show_config()
    {
        Assert.Equal(1001, SlurmClient.ParseMaxArraySize("Configuration data as of 2026-11-24T07:00:00\nMaxArraySize            = 1001\nMaxJobCount             = 100000\n"));
        Assert.Null(SlurmClient.ParseMaxArraySize("MaxJobCount = 10\n"));
        var (client, runner, _) = Client();
        runner.Answer("scontrol", new ProcessResult(127, "", "", NotFound: true));
        Assert.Null(client.QueryMaxArraySize(TimeSpan.FromSeconds(1), out var why));
        Assert.Contains("no scontrol", why);
        // a controller that is down: ping says so at once, and the slow `show config` is never run
        runner.Answer("scontrol", new ProcessResult(1, "Slurmctld(primary) at vm is DOWN\n", ""));
        Assert.Null(client.QueryMaxArraySize(TimeSpan.FromSeconds(1), out why));
        Assert.DoesNotContain(runner.Calls, c => c.Args.Contains("config"));
        runner.Answer("scontrol", FakeRunner.Ok("Slurmctld(primary) at vm is UP\n"), FakeRunner.Ok("MaxArraySize = 77\n"));
        Assert.Equal(77, client.QueryMaxArraySize(TimeSpan.FromSeconds(1), out _));
    }

    [Fact]
    public void Cancel_is_one_scancel_for_all_arrays()
    {
        var (client, runner, _) = Client();
        client.Cancel(["10", "11", "10"]);
        var call = Assert.Single(runner.Calls);
        Assert.Equal(["10", "11"], call.Args);
    }

    [Theory]
    [InlineData("0-4", "0-4", null)]
    [InlineData("1,3,5-7%2", "1,3,5-7", 2)]
    [InlineData("0-10:5", "0,5,10", null)]
    [InlineData("7", "7", null)]
    public void Array_specs_parse_and_print_as_ranges(string text, string ranges, int? throttle)
    {
        var spec = ArraySpec.Parse(text);
        Assert.Equal(ranges, ArraySpec.FormatRanges(spec.Indices));
        Assert.Equal(throttle, spec.Throttle);
    }

    [Theory]
    [InlineData("")]
    [InlineData("5-1")]
    [InlineData("a-b")]
    [InlineData("0-4%0")]
    public void Bad_array_specs_are_refused(string text) => Assert.False(ArraySpec.TryParse(text, out _));

    [Theory]
    [InlineData("5", 300)]
    [InlineData("1:30", 90)]
    [InlineData("01:00:05", 3605)]
    [InlineData("1-2", 93600)]
    [InlineData("1-00:00:10", 86410)]
    public void Slurm_times_parse(string text, int seconds) => Assert.Equal(TimeSpan.FromSeconds(seconds), SlurmDialect.ParseTime(text));
}
