using SpineProd.Diagnostics;
using SpineProd.Scheduler;
using SpineProd.Scheduler.Pbs;
using SpineProd.Tests.Cluster;
using Xunit;
using static SpineProd.Tests.Cluster.FakeRunner;

namespace SpineProd.Tests.Pbs;

/// <summary>PBS client logic through its seams (a scripted process runner and a fake clock): no server needed.</summary>
public sealed class PbsClientTests
{
    private static readonly JobRequest Request = new("/jobs/x/submit_chunk_0.pbs", "/jobs/x", "spine_x_0",
        new ArraySpec(Enumerable.Range(0, 5), throttle: 2), ["7[].vm", "8.vm"], "spineprod:p:s:0:id");

    private static (PbsClient, FakeRunner, FakeClock) Client(int attempts = 4)
    {
        var runner = new FakeRunner();
        var clock = new FakeClock();
        return (new PbsClient(runner, clock, new PbsOptions { MaxAttempts = attempts }), runner, clock);
    }

    // A real answer of qstat -E -x -f -F json -t (OpenPBS 23.06 on the test server), trimmed.
    private const string ArrayJson = """
        {"timestamp": 1795935325, "pbs_version": "23.06.06", "pbs_server": "vm",
         "Jobs": {
          "12[].vm": {"Job_Name": "spine_x_0", "job_state": "F", "substate": 93, "Exit_status": 0, "array": "True",
                      "array_indices_submitted": "0-3", "Variable_List": {"PBS_O_HOME": "/root", "SPINEPROD_SUBMIT_KEY": "k1"}},
          "12[0].vm": {"job_state": "F", "substate": 92, "Exit_status": 0, "array_id": "12[].vm", "array_index": 0, "exec_host": "vm/0", "run_count": 1},
          "12[1].vm": {"job_state": "F", "substate": 93, "Exit_status": -29, "array_id": "12[].vm", "array_index": 1, "exec_host": "vm/1", "run_count": 1},
          "12[2].vm": {"job_state": "F", "substate": 93, "Exit_status": 7, "array_id": "12[].vm", "array_index": 2, "exec_host": "vm/0", "run_count": 1},
          "12[3].vm": {"job_state": "F", "substate": 91, "Exit_status": 0, "comment": "Subjob finished"},
          "13.vm":    {"Job_Name": "cleanup", "job_state": "F", "substate": 92},
          "14[].vm":  {"job_state": "B", "substate": 70, "array": "True", "array_indices_submitted": "0-1"},
          "14[0].vm": {"job_state": "R", "substate": 42, "array_id": "14[].vm", "array_index": 0, "exec_host": "vm/0", "run_count": 1},
          "14[1].vm": {"job_state": "Q", "substate": 10, "array_id": "14[].vm", "array_index": 1},
          "15.vm":    {"job_state": "H", "substate": 22, "Hold_Types": "s"}
         }}
        """;

    [Fact]
    public void Qsub_gets_an_argument_list_with_name_range_throttle_dependency_and_key_in_the_job_folder()
    {
        var (client, runner, _) = Client();
        runner.Answer("qsub", Ok("42[].vm\n"));

        var job = Assert.Single(client.Submit(Request));

        Assert.Equal("42[].vm", job.JobId);
        Assert.Equal("0-4%2", job.Tasks!.ToString());
        var (program, args) = Assert.Single(runner.Calls);
        Assert.Equal("qsub", program);
        Assert.Equal(["-N", "spine_x_0", "-J", "0-4%2", "-W", "depend=afterok:7[].vm:8.vm",
                      "-v", "SPINEPROD_SUBMIT_KEY=spineprod:p:s:0:id", "/jobs/x/submit_chunk_0.pbs"], args);
    }

    [Fact]
    public void Resources_become_select_walltime_account_and_queue()
    {
        var r = new ResourceRequest { Walltime = TimeSpan.FromMinutes(90), MemoryBytes = 6L << 30, Cpus = 4, Gpus = 1, Account = "14453", Queue = "debug" };
        Assert.Equal(["-A", "14453", "-q", "debug", "-l", "walltime=01:30:00", "-l", "select=1:ncpus=4:mem=6gb:ngpus=1"], PbsDialect.ResourceOptions(r));
        Assert.Equal(["-l", "select=1:ncpus=1:mem=1536mb"], PbsDialect.ResourceOptions(new ResourceRequest { MemoryBytes = 1536L << 20 }));
        Assert.Equal("50:00:00", PbsDialect.Walltime(TimeSpan.FromHours(50)));
        Assert.Equal("00:00:02", PbsDialect.Walltime(TimeSpan.FromSeconds(1.2)));
        Assert.Equal("1kb", PbsDialect.Size(1000));
    }

    [Theory]
    [InlineData("0-9", new[] { "0-9" })]
    [InlineData("0-9%3", new[] { "0-9%3" })]
    [InlineData("0-1%5", new[] { "0-1" })]                       // a throttle above the count is no throttle
    [InlineData("7", new[] { "7-8:2" })]                         // one index: a one-element array (PBS wants X<Y)
    [InlineData("0-9:3", new[] { "0-9:3" })]
    [InlineData("1,4,5,6,9", new[] { "1-4:3", "5-6", "9-10:2" })] // a resubmission of scattered tasks: three arrays
    public void A_task_set_becomes_the_fewest_greedy_J_ranges(string tasks, string[] expected)
    {
        var spec = ArraySpec.Parse(tasks);
        Assert.Equal(expected, PbsDialect.Ranges(spec).Select(r => r.JOption(spec.Throttle)));
        Assert.Equal(spec.Indices, PbsDialect.Ranges(spec).SelectMany(r => r.Indices));
    }

    [Fact]
    public void A_scattered_task_set_is_one_qsub_per_range_each_with_its_own_tasks()
    {
        var (client, runner, _) = Client();
        runner.Answer("qsub", Ok("20[].vm"), Ok("21[].vm"), Ok("22[].vm"));

        var jobs = client.Submit(Request with { Tasks = ArraySpec.Parse("1,4,5,6,9") });

        Assert.Equal(["20[].vm", "21[].vm", "22[].vm"], jobs.Select(j => j.JobId));
        Assert.Equal(["1,4", "5-6", "9"], jobs.Select(j => j.Tasks!.ToString().Replace("%2", "")));
        Assert.Equal(["1-4:3", "5-6", "9-10:2"], runner.Calls.Select(c => c.Args[c.Args.ToList().IndexOf("-J") + 1]));
    }

    [Fact]
    public void A_cleanup_job_without_tasks_is_a_plain_job()
    {
        var (client, runner, _) = Client();
        runner.Answer("qsub", Ok("9.vm"));
        var job = Assert.Single(client.Submit(Request with { Tasks = null, AfterOk = ["3[].vm"] }));
        Assert.Equal("9.vm", job.JobId);
        Assert.DoesNotContain("-J", runner.Calls[0].Args);
    }

    [Fact]
    public void Values_qsub_would_misread_are_refused_before_anything_is_sent()
    {
        var (client, runner, _) = Client();
        Assert.Equal("SPN3057", Assert.Throws<SpineProdException>(() => client.Submit(Request with { Key = "a,b=c" })).Code);
        Assert.Equal("SPN3057", Assert.Throws<SpineProdException>(() => client.Submit(Request with { JobName = "two words" })).Code);
        Assert.Equal("SPN3058", Assert.Throws<SpineProdException>(() => client.Submit(Request with { AfterOk = ["afterok:12"] })).Code);
        Assert.Empty(runner.Calls);
    }

    [Fact]
    public void An_unreachable_server_is_retried_with_growing_jittered_delays_without_a_lookup()
    {
        var (client, runner, clock) = Client();
        runner.Answer("qsub",
            Err("Connection refused\nqsub: cannot connect to server vm (errno=15010)", 15010 % 256),
            Err("qsub: Maximum number of jobs already in queue workq", 15046 % 256),
            Ok("9[].vm\n"));

        var job = Assert.Single(client.Submit(Request));

        Assert.Equal("9[].vm", job.JobId);
        Assert.Equal(3, job.Attempts);
        Assert.Equal(0, runner.Count("qselect"));      // a refused connection cannot have submitted anything
        Assert.Equal(2, clock.Sleeps.Count);
        Assert.True(clock.Sleeps[1] > clock.Sleeps[0]);
    }

    [Fact]
    public void After_a_lost_reply_the_job_is_looked_up_by_name_key_and_range_and_not_submitted_twice()
    {
        var (client, runner, _) = Client();
        runner.Answer("qsub", Timeout());
        runner.Answer("qselect", Ok("11[].vm\n12[].vm\n"));
        runner.Answer("qstat", Ok(ArrayJson.Replace("\"0-3\"", "\"0-4\"").Replace("\"k1\"", "\"spineprod:p:s:0:id\"")));

        var job = Assert.Single(client.Submit(Request));

        Assert.Equal("12[].vm", job.JobId);
        Assert.True(job.Reconciled);
        Assert.Equal(1, runner.Count("qsub"));
        Assert.Equal(["-x", "-N", "spine_x_0"], runner.Calls.Single(c => c.Program == "qselect").Args);
        Assert.Equal(["-E", "-x", "-f", "-F", "json", "11[].vm", "12[].vm"], runner.Calls.Single(c => c.Program == "qstat").Args);
    }

    [Fact]
    public void After_a_lost_reply_a_job_with_another_key_or_range_is_not_ours_and_qsub_runs_again()
    {
        var (client, runner, _) = Client();
        runner.Answer("qsub", Err("qsub: Batch protocol error", 15031 % 256), Ok("30[].vm"));
        runner.Answer("qselect", Ok("12[].vm\n"));
        runner.Answer("qstat", Ok(ArrayJson.Replace("\"k1\"", "\"spineprod:p:s:0:id\"")));   // same key, range 0-3, not 0-4

        var job = Assert.Single(client.Submit(Request));

        Assert.Equal("30[].vm", job.JobId);
        Assert.False(job.Reconciled);
        Assert.Equal(2, runner.Count("qsub"));
    }

    [Fact]
    public void When_the_server_cannot_be_asked_after_a_lost_reply_nothing_is_sent_again()
    {
        var (client, runner, _) = Client(attempts: 3);
        runner.Answer("qsub", Timeout());
        runner.Answer("qselect", Err("qselect: cannot connect to server vm (errno=15010)"), Err("qselect: cannot connect to server vm (errno=15010)"));

        var e = Assert.Throws<SpineProdException>(() => client.Submit(Request));

        Assert.Equal("SPN3052", e.Code);
        Assert.Equal(1, runner.Count("qsub"));
    }

    [Fact]
    public void A_permanent_rejection_fails_at_once_with_qsubs_words()
    {
        var (client, runner, clock) = Client();
        runner.Answer("qsub", Err("qsub: Illegal attribute or resource value Resource_List.walltime", 166));

        var e = Assert.Throws<SpineProdException>(() => client.Submit(Request));

        Assert.Equal("SPN3050", e.Code);
        Assert.Contains("Illegal attribute or resource value", e.Message);
        Assert.Empty(clock.Sleeps);
        Assert.Equal(1, runner.Count("qsub"));
    }

    [Fact]
    public void Transient_errors_that_never_clear_end_in_SPN3051_after_the_attempts()
    {
        var (client, runner, _) = Client(attempts: 3);
        runner.Answer("qsub", Enumerable.Repeat(Err("qsub: cannot connect to server vm (errno=15010)"), 3).ToArray());
        Assert.Equal("SPN3051", Assert.Throws<SpineProdException>(() => client.Submit(Request)).Code);
        Assert.Equal(3, runner.Count("qsub"));
    }

    [Fact]
    public void Missing_commands_and_an_accepted_submission_without_an_id_are_their_own_errors()
    {
        var (client, runner, _) = Client();
        runner.Answer("qsub", new ProcessResult(127, "", "qsub: No such file", NotFound: true), Ok("Job submitted\n"));
        Assert.Equal("SPN3054", Assert.Throws<SpineProdException>(() => client.Submit(Request)).Code);
        Assert.Equal("SPN3053", Assert.Throws<SpineProdException>(() => client.Submit(Request)).Code);
    }

    [Fact]
    public void Status_is_one_qstat_call_built_from_the_subjobs()
    {
        var (client, runner, _) = Client();
        runner.Answer("qstat", Ok(ArrayJson));

        var snap = client.Query(["12[].vm", "13.vm", "14[].vm", "15.vm"]);

        Assert.Equal(["-E", "-x", "-f", "-F", "json", "-t", "12[].vm", "13.vm", "14[].vm", "15.vm"], Assert.Single(runner.Calls).Args);
        Assert.Equal(TaskStateKind.Completed, snap.Find("12[].vm", 0)!.Kind);
        Assert.Equal("0", snap.Find("12[].vm", 0)!.ExitCode);
        Assert.Equal(TaskStateKind.Timeout, snap.Find("12[].vm", 1)!.Kind);
        Assert.Equal(TaskStateKind.Failed, snap.Find("12[].vm", 2)!.Kind);
        Assert.Equal("7", snap.Find("12[].vm", 2)!.ExitCode);
        // never ran (deleted while queued): the Exit_status 0 it inherited is not its own
        Assert.Equal(TaskStateKind.Cancelled, snap.Find("12[].vm", 3)!.Kind);
        Assert.Null(snap.Find("12[].vm", 3)!.ExitCode);
        Assert.Equal("12[3].vm", snap.Find("12[].vm", 3)!.TaskJobId);
        // a plain job deleted by PBS because its afterok job failed
        Assert.Equal((TaskStateKind.Cancelled, "DependencyNeverSatisfied"), (snap.Find("13.vm", 0)!.Kind, snap.Find("13.vm", 0)!.Reason));
        Assert.Equal(TaskStateKind.Running, snap.Find("14[].vm", 0)!.Kind);
        Assert.Equal(TaskStateKind.Pending, snap.Find("14[].vm", 1)!.Kind);
        Assert.Equal((TaskStateKind.Pending, "Dependency"), (snap.Find("15.vm", 0)!.Kind, snap.Find("15.vm", 0)!.Reason));
        Assert.Equal(8, snap.Tasks.Count);                              // parents are not tasks
    }

    [Fact]
    public void Unknown_ids_leave_the_others_and_a_silent_server_is_SPN3055()
    {
        var (client, runner, _) = Client();
        runner.Answer("qstat",
            new ProcessResult(153, """{"timestamp": 1, "pbs_version": "23.06.06", "pbs_server": "vm"}""", "qstat: Unknown Job Id 99999.vm\n"),
            new ProcessResult(15010 % 256, "", "Connection refused\nqstat: cannot connect to server vm (errno=15010)\n"));

        Assert.Empty(client.Query(["99999.vm"]).Tasks);
        Assert.Equal("SPN3055", Assert.Throws<SpineProdException>(() => client.Query(["1.vm"])).Code);
    }

    [Theory]
    [InlineData("F", 93, -27, true, TaskStateKind.OutOfMemory)]
    [InlineData("F", 93, -26, true, TaskStateKind.OutOfMemory)]
    [InlineData("F", 93, -28, true, TaskStateKind.Timeout)]
    [InlineData("F", 93, 271, true, TaskStateKind.Failed)]
    [InlineData("F", 91, 0, true, TaskStateKind.Cancelled)]         // qdel as root leaves Exit_status 0
    [InlineData("X", 92, 0, true, TaskStateKind.Completed)]
    [InlineData("E", 51, null, true, TaskStateKind.Running)]
    [InlineData("W", 30, null, false, TaskStateKind.Pending)]
    public void States_substates_and_exit_statuses_map_to_neutral_kinds(string state, int substate, int? exit, bool ran, TaskStateKind kind) =>
        Assert.Equal(kind, PbsDialect.Classify(state, substate, exit, ran).Kind);

    [Fact]
    public void Qdel_of_finished_or_unknown_jobs_is_fine_and_any_other_refusal_is_SPN3056()
    {
        var (client, runner, _) = Client();
        runner.Answer("qdel",
            Err("qdel: Job has finished 10[].vm\nqdel: Unknown Job Id 99999.vm\n", 35),
            Err("qdel: Unauthorized Request  5.vm\n", 15007 % 256));

        client.Cancel(["10[].vm", "99999.vm", "11[].vm"]);
        Assert.Equal(["10[].vm", "99999.vm", "11[].vm"], runner.Calls[0].Args);
        Assert.Equal("SPN3056", Assert.Throws<SpineProdException>(() => client.Cancel(["5.vm"])).Code);
    }

    [Fact]
    public void MaxArraySize_is_the_servers_or_PBSs_default()
    {
        var (client, runner, _) = Client();
        runner.Answer("qstat",
            Ok("""{"timestamp": 1, "Server": {"vm": {"server_state": "Active", "max_array_size": 1001}}}"""),
            Ok("""{"timestamp": 1, "Server": {"vm": {"server_state": "Active"}}}"""),
            Err("qstat: cannot connect to server vm (errno=15010)"));

        Assert.Equal(1001, client.QueryMaxArraySize(TimeSpan.FromSeconds(5), out var why1));
        Assert.Null(why1);
        Assert.Equal(10000, client.QueryMaxArraySize(TimeSpan.FromSeconds(5), out var why2));
        Assert.Contains("default", why2);
        Assert.Null(client.QueryMaxArraySize(TimeSpan.FromSeconds(5), out var why3));
        Assert.Contains("cannot connect", why3);
        Assert.Equal(["-B", "-f", "-F", "json"], runner.Calls[0].Args);
    }

    [Fact]
    public void An_id_the_servers_history_still_holds_is_sent_again_at_once()
    {
        var (client, runner, clock) = Client();
        runner.Answer("qsub", Err("qsub: Job with requested ID already exists", 15009 % 256), Err("qsub: Job with requested ID already exists", 15009 % 256), Ok("58[].vm"));

        var job = Assert.Single(client.Submit(Request));

        Assert.Equal("58[].vm", job.JobId);
        Assert.Equal(3, runner.Count("qsub"));
        Assert.Empty(clock.Sleeps);
        Assert.Equal(0, runner.Count("qselect"));
    }
}
