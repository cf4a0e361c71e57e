using SpineProd.Diagnostics;
using SpineProd.Scheduler;
using SpineProd.Scheduler.Pbs;
using SpineProd.Tests.Cluster;
using SpineProd.Tests.Infrastructure;
using Xunit;

namespace SpineProd.Tests.Pbs;

/// <summary>The PBS client against the real OpenPBS test server, where a fake could only guess what PBS says.</summary>
[Collection("pbs")]
public sealed class PbsServerTests(PbsServerFixture server)
{
    private static string Script(string dir, string body, string name = "job.pbs")
    {
        var path = Path.Combine(dir, name);
        File.WriteAllText(path, "#!/bin/bash\n#PBS -o /dev/null\n#PBS -e /dev/null\ncd \"$PBS_O_WORKDIR\" || exit 1\n" + body + "\n");
        return path;
    }

    private static string Unique(string what) => $"sp-{what}-{Guid.NewGuid():N}"[..Math.Min(what.Length + 12, 40)];

    private static JobRequest Request(string script, string dir, string name, ArraySpec? tasks, params string[] afterOk) =>
        new(script, dir, name, tasks, afterOk, $"spineprod:test:{name}");

    /// <summary>Polls (one qstat per round) until no task of these jobs is queued or running.</summary>
    private static SchedulerSnapshot WaitDone(PbsClient client, IReadOnlyCollection<string> ids, int expectedTasks, int seconds = 90)
    {
        var deadline = DateTime.UtcNow.AddSeconds(seconds);
        while (true)
        {
            var snap = client.Query(ids);
            if (snap.Tasks.Count >= expectedTasks && snap.Tasks.Values.All(t => !t.IsLive)) return snap;
            if (DateTime.UtcNow > deadline)
                Assert.Fail($"not done after {seconds}s: {string.Join(", ", snap.Tasks.Values.Select(t => $"{t.TaskJobId}={t.RawState}"))}");
            Thread.Sleep(300);
        }
    }

    [Fact]
    public void An_array_runs_each_index_once_and_its_status_is_built_from_the_subjobs_in_one_call()
    {
        server.Require();
        var dir = Repo.Scratch("pbs-array");
        var client = new PbsClient(options: PbsServerFixture.Options);
        var script = Script(dir, "echo \"$PBS_ARRAY_INDEX $PBS_ARRAY_ID\" > out.$PBS_ARRAY_INDEX\n[ \"$PBS_ARRAY_INDEX\" = 2 ] && exit 7\nexit 0");

        var jobs = client.Submit(Request(script, dir, Unique("array"), ArraySpec.Parse("0-3%2")));
        var job = Assert.Single(jobs);
        Assert.Matches(@"^\d+\[\]\.", job.JobId);
        client.Calls.Clear();
        var snap = WaitDone(client, [job.JobId], 4);

        Assert.Equal(TaskStateKind.Completed, snap.Find(job.JobId, 0)!.Kind);
        Assert.Equal(TaskStateKind.Completed, snap.Find(job.JobId, 3)!.Kind);
        Assert.Equal((TaskStateKind.Failed, "7"), (snap.Find(job.JobId, 2)!.Kind, snap.Find(job.JobId, 2)!.ExitCode));
        Assert.Equal(4, snap.Tasks.Count);
        Assert.Equal(client.Calls["qstat"], client.Calls.Values.Sum());          // only qstat, one call per round
        Assert.Equal($"1 {job.JobId}", File.ReadAllText(Path.Combine(dir, "out.1")).Trim());
    }

    [Fact]
    public void One_index_and_scattered_indices_run_as_one_element_and_several_arrays()
    {
        server.Require();
        var dir = Repo.Scratch("pbs-scattered");
        var client = new PbsClient(options: PbsServerFixture.Options);
        var script = Script(dir, "touch ran.$PBS_ARRAY_INDEX");

        var jobs = client.Submit(Request(script, dir, Unique("scatter"), ArraySpec.Parse("1,4,5,9")));
        var snap = WaitDone(client, jobs.Select(j => j.JobId).ToList(), 4);

        Assert.Equal(["1-4:3", "5-9:4"], jobs.Select(j => PbsDialect.Ranges(j.Tasks!).Single().JOption(null)));
        Assert.All(snap.Tasks.Values, t => Assert.Equal(TaskStateKind.Completed, t.Kind));
        Assert.Equal(["ran.1", "ran.4", "ran.5", "ran.9"], Directory.GetFiles(dir, "ran.*").Select(Path.GetFileName).Order());
    }

    [Fact]
    public void Afterok_on_an_array_waits_for_every_subjob_and_a_failed_upstream_deletes_the_dependent()
    {
        server.Require();
        var dir = Repo.Scratch("pbs-afterok");
        var client = new PbsClient(options: PbsServerFixture.Options);
        var upstream = Assert.Single(client.Submit(Request(Script(dir, "sleep 1; touch up.$PBS_ARRAY_INDEX"), dir, Unique("up"), ArraySpec.Parse("0-1")))).JobId;
        var down = Assert.Single(client.Submit(Request(Script(dir, "ls up.* > seen", "down.pbs"), dir, Unique("down"), null, upstream))).JobId;
        var failing = Assert.Single(client.Submit(Request(Script(dir, "exit 3", "fail.pbs"), dir, Unique("fail"), ArraySpec.Parse("0-1")))).JobId;
        var blocked = Assert.Single(client.Submit(Request(Script(dir, "touch never", "blocked.pbs"), dir, Unique("blocked"), null, failing))).JobId;

        var snap = WaitDone(client, [upstream, down, failing, blocked], 6);

        Assert.Equal(TaskStateKind.Completed, snap.Find(down, 0)!.Kind);
        Assert.Equal(["up.0", "up.1"], File.ReadAllLines(Path.Combine(dir, "seen")));
        Assert.Equal(TaskStateKind.Failed, snap.Find(failing, 0)!.Kind);
        Assert.Equal((TaskStateKind.Cancelled, "DependencyNeverSatisfied"), (snap.Find(blocked, 0)!.Kind, snap.Find(blocked, 0)!.Reason));
        Assert.False(File.Exists(Path.Combine(dir, "never")));
    }

    [Fact]
    public void Qdel_cancels_whole_arrays_in_one_call_and_again_is_harmless()
    {
        server.Require();
        var dir = Repo.Scratch("pbs-qdel");
        var client = new PbsClient(options: PbsServerFixture.Options);
        var script = Script(dir, "sleep 60");
        var running = Assert.Single(client.Submit(Request(script, dir, Unique("run"), ArraySpec.Parse("0-1")))).JobId;
        var held = Assert.Single(client.Submit(Request(script, dir, Unique("held"), ArraySpec.Parse("0-2")) with { ExtraOptions = ["-h"] })).JobId;
        // cancel mid-run: as root, a subjob killed while it is still starting can end as substate
        // 92 with Exit_status 0, which PBS itself reports as a success
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (client.Query([running]).Tasks.Values.Count(t => t.Kind == TaskStateKind.Running && t.RawState.StartsWith("R(42)")) < 2 && DateTime.UtcNow < deadline)
            Thread.Sleep(300);
        Thread.Sleep(1000);
        client.Calls.Clear();

        client.Cancel([running, held]);
        var snap = WaitDone(client, [running, held, "999999.vm"], 5);          // an unknown id leaves the others
        client.Cancel([running, held]);                                          // already finished: fine

        Assert.All(snap.Tasks.Values, t => Assert.Equal(TaskStateKind.Cancelled, t.Kind));
        Assert.Equal(2, client.Calls["qdel"]);
    }

    [Fact]
    public void A_task_over_its_walltime_ends_as_Timeout()
    {
        server.Require();
        var dir = Repo.Scratch("pbs-walltime");
        var client = new PbsClient(options: PbsServerFixture.Options);
        var request = Request(Script(dir, "sleep 60"), dir, Unique("wall"), ArraySpec.Parse("0-1")) with
        {
            Resources = new ResourceRequest { Walltime = TimeSpan.FromSeconds(2) },
        };

        var job = Assert.Single(client.Submit(request)).JobId;
        var snap = WaitDone(client, [job], 2, seconds: 60);

        Assert.All(snap.Tasks.Values, t => Assert.Equal((TaskStateKind.Timeout, "-29"), (t.Kind, t.ExitCode)));
    }

    [Fact]
    public void A_qsub_that_was_accepted_but_lost_its_reply_is_found_and_not_submitted_again()
    {
        server.Require();
        var dir = Repo.Scratch("pbs-lost");
        // qsub as seen through a flaky network: the real qsub accepts the job, the reply is lost.
        var shim = Path.Combine(dir, "qsub-lost-reply");
        // (a real refusal, e.g. an id collision, is passed on as it is)
        File.WriteAllText(shim, $"#!/bin/bash\n{PbsServerFixture.BinDir}/qsub \"$@\" >/dev/null || exit\necho 'qsub: Batch protocol error' >&2\nexit 31\n");
        File.SetUnixFileMode(shim, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        var name = Unique("lost");
        var client = new PbsClient(clock: new FakeClock(), options: PbsServerFixture.Options with { Qsub = shim });

        var job = Assert.Single(client.Submit(Request(Script(dir, "sleep 30"), dir, name, ArraySpec.Parse("0-1")) with { ExtraOptions = ["-h"] }));
        try
        {
            Assert.True(job.Reconciled);
            Assert.Equal(1, client.Calls["qselect"]);                            // looked up once, found, not sent again
            var listed = ProcessRunner.Instance.Run(Path.Combine(PbsServerFixture.BinDir, "qselect"), ["-x", "-N", name], TimeSpan.FromSeconds(30));
            Assert.Equal([job.JobId], listed.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(s => s.Trim()));
        }
        finally
        {
            client.Cancel([job.JobId]);
        }
    }

    [Fact]
    public void A_request_the_server_cannot_satisfy_is_rejected_at_once_with_qsubs_words()
    {
        server.Require();
        var dir = Repo.Scratch("pbs-rejected");
        var clock = new FakeClock();
        var client = new PbsClient(clock: clock, options: PbsServerFixture.Options);
        var script = Script(dir, "true");

        var queue = Assert.Throws<SpineProdException>(() => client.Submit(Request(script, dir, Unique("noq"), ArraySpec.Parse("0-1")) with { ExtraOptions = ["-q", "nosuch"] }));
        int max = client.QueryMaxArraySize(TimeSpan.FromSeconds(10), out _) ?? 0;
        var tooBig = Assert.Throws<SpineProdException>(() => client.Submit(Request(script, dir, Unique("big"), new ArraySpec(Enumerable.Range(0, max + 1)))));

        Assert.Equal("SPN3050", queue.Code);
        Assert.Contains("Unknown queue", queue.Message);
        Assert.Equal("SPN3050", tooBig.Code);
        Assert.Contains("Array job exceeds server or queue size limit", tooBig.Message);
        Assert.Empty(clock.Sleeps);
    }

    [Fact]
    public void MaxArraySize_comes_from_the_server()
    {
        server.Require();
        var client = new PbsClient(options: PbsServerFixture.Options);
        // what the administrator's own tool says ("max_array_size = N", or nothing: PBS's default)
        var qmgr = ProcessRunner.Instance.Run(Path.Combine(PbsServerFixture.BinDir, "qmgr"), ["-c", "list server max_array_size"], TimeSpan.FromSeconds(30));
        var line = qmgr.Stdout.Split('\n').FirstOrDefault(l => l.Contains("max_array_size"));
        var expected = line is null ? PbsDialect.DefaultMaxArraySize : int.Parse(line.Split('=')[1].Trim());

        Assert.True(qmgr.Succeeded, qmgr.Message);
        Assert.Equal(expected, client.QueryMaxArraySize(TimeSpan.FromSeconds(10), out _));
    }
}
