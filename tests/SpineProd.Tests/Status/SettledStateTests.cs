using SpineProd.Layout;
using SpineProd.Planning;
using SpineProd.Scheduler;
using SpineProd.Submission;
using SpineProd.Tests.Cluster;
using SpineProd.Tests.Infrastructure;
using Xunit;

namespace SpineProd.Tests.Status;

/// <summary>
/// What a Status settles (<see cref="SettledState"/>): a job whose every task ended is not asked
/// again, its trace rows are written once and kept, a stage whose every task is complete is not
/// re-checked marker by marker, and none of it outlives a change that could make it wrong.
/// </summary>
public sealed class SettledStateTests
{
    private static readonly DateTimeOffset T0 = new(2026, 11, 29, 10, 0, 0, TimeSpan.Zero);

    private sealed class FixedClock(DateTimeOffset now) : IClock
    {
        public DateTimeOffset UtcNow { get; set; } = now;
        public void Sleep(TimeSpan duration) { }
        public double NextDouble() => 0.5;
    }

    /// <summary>A production of <paramref name="tasks"/> tasks in arrays of 5, sent to a fake scheduler whose tasks all ended at T0 + 10 min.</summary>
    private static (ProductionPlan Plan, string Dir, FakeScheduler Scheduler) Finished(string name, int tasks, Func<int, string>? state = null)
    {
        var (plan, dir) = HandPlan.Create(Repo.Scratch(name), filesPerTask: 1, arraySize: 5, ("reco", tasks, []));
        var s = new FakeScheduler();
        s.StateOf = (_, _) => "COMPLETED";
        new Submitter(_ => s, new SubmitContext
        {
            SdkVersion = "0.1.0", Command = "dotnet build hand.spineproj -t:Submit", Clock = new FakeClock(), LockWait = TimeSpan.FromSeconds(1),
            Log = (_, _) => { }, Warn = (_, _) => { },
        }).Submit(plan, dir);
        var first = s.Submitted.Select((r, k) => (r.JobName, plan.Stages[0].Arrays[k].FirstTask)).ToDictionary(x => x.JobName, x => x.FirstTask);
        foreach (var (key, t) in s.Tasks.ToList())
        {
            int n = first[t.Name!] + key.Item2;
            var st = state?.Invoke(n) ?? "COMPLETED";
            s.Tasks[key] = t with
            {
                RawState = st, Kind = st switch { "COMPLETED" => TaskStateKind.Completed, "RUNNING" => TaskStateKind.Running, _ => TaskStateKind.Failed },
                ExitCode = st == "FAILED" ? "1:0" : "0:0",
                Usage = new TaskUsage
                {
                    Start = T0, End = st == "RUNNING" ? null : T0.AddMinutes(10), Elapsed = TimeSpan.FromMinutes(10), CpuTime = TimeSpan.FromMinutes(8),
                    PeakMemoryBytes = (n + 1) << 20, RequestedMemoryBytes = 1L << 30, RequestedTime = TimeSpan.FromHours(1), Cpus = 1, Node = "node" + n % 3,
                },
            };
            if (st == "COMPLETED") FakeScheduler.WriteMarker(plan, "reco", n, HandPlan.TaskInputs(dir, plan.Stages[0], n));
        }
        return (plan, dir, s);
    }

    private static StatusReport Status(ProductionPlan plan, string dir, FakeScheduler s, IClock clock)
    {
        var r = StatusReport.Create(plan, dir, _ => s, clock);
        r.Write();
        return r;
    }

    // Real time (the marker folder's times are real) plus an hour: every fake job ended long before.
    private static FixedClock Later() => new(DateTimeOffset.UtcNow.AddHours(1));

    [Fact]
    public void A_finished_job_is_asked_once_and_its_rows_are_kept_with_the_same_numbers()
    {
        var (plan, dir, s) = Finished("settle-once", 10);
        var clock = Later();
        var first = Status(plan, dir, s, clock);
        var trace = File.ReadAllText(ProductionLayout.Of(plan).TraceFile);
        var asked = s.Queries;

        var second = Status(plan, dir, s, clock);

        Assert.Equal(asked, s.Queries);   // both jobs settled: nothing asked
        Assert.Equal(10, second.Totals.Completed);
        Assert.Equal(first.Usage["reco"].Measured, second.Usage["reco"].Measured);
        Assert.Equal(first.Usage["reco"].CompletedPeaks, second.Usage["reco"].CompletedPeaks);
        Assert.Equal(first.Usage["reco"].CpuSeconds, second.Usage["reco"].CpuSeconds);
        Assert.Equal(trace, File.ReadAllText(ProductionLayout.Of(plan).TraceFile));
        Assert.Equal(11, trace.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length);
        Assert.Contains(second.State.Timings.Phases, p => p.Phase.Contains("settled: every task complete"));
        Assert.Contains("(2 finished job(s) not asked again)", second.Render()[0]);
    }

    [Fact]
    public void A_job_with_a_running_task_or_one_that_just_ended_is_asked_again()
    {
        var (plan, dir, s) = Finished("settle-live", 10, n => n == 7 ? "RUNNING" : "COMPLETED");
        Status(plan, dir, s, new FixedClock(T0.AddMinutes(10.5)));   // every task ended 30 s ago: not settled yet
        Status(plan, dir, s, Later());                                // the first array settles; the second still runs
        Status(plan, dir, s, Later());
        Assert.Equal(3, s.Queries);
        Assert.Equal([s.Tasks.Keys.Single(k => s.Tasks[k].IsLive).Item1], s.Asked[^1]);
    }

    [Fact]
    public void A_deleted_marker_unsettles_its_stage_and_the_task_is_no_longer_complete()
    {
        var (plan, dir, s) = Finished("settle-marker", 10);
        var clock = Later();
        Status(plan, dir, s, clock);
        File.Delete(ProductionLayout.Of(plan).Marker("reco", 3));

        var after = Status(plan, dir, s, clock);

        Assert.Equal(9, after.Totals.Completed);
        Assert.Equal(TaskState.Failed, after.State.Stages["reco"][3].Status);   // COMPLETED by its settled row, without a marker
        Assert.Contains("left no valid completion marker", after.State.Stages["reco"][3].Detail);
    }

    [Fact]
    public void Rows_of_jobs_settled_later_are_appended_and_the_settled_part_is_never_rewritten()
    {
        var (plan, dir, s) = Finished("settle-append", 10, n => n == 7 ? "RUNNING" : "COMPLETED");
        var clock = Later();
        Status(plan, dir, s, clock);
        var path = ProductionLayout.Of(plan).TraceFile;
        var before = File.ReadAllText(path);
        var inode = IO.SafeFile.Identify(path)!.Value.Inode;
        Assert.Contains("\tRUNNING\t", before);

        var key = s.Tasks.Keys.Single(k => s.Tasks[k].Kind == TaskStateKind.Running);
        s.Tasks[key] = s.Tasks[key] with { RawState = "COMPLETED", Kind = TaskStateKind.Completed, Usage = s.Tasks[key].Usage! with { End = T0.AddMinutes(10) } };
        FakeScheduler.WriteMarker(plan, "reco", 7, HandPlan.TaskInputs(dir, plan.Stages[0], 7));
        Status(plan, dir, s, clock);
        var after = File.ReadAllText(path);

        Assert.Equal(inode, IO.SafeFile.Identify(path)!.Value.Inode);   // appended in place, not rewritten
        var settledPart = before[..before.IndexOf("\tRUNNING\t", StringComparison.Ordinal)];
        Assert.StartsWith(settledPart[..settledPart.LastIndexOf('\n')], after);
        Assert.DoesNotContain("\tRUNNING\t", after);
        Assert.Equal(11, after.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length);
    }

    [Fact]
    public void A_damaged_settled_file_or_a_replaced_trace_is_rebuilt_from_the_scheduler()
    {
        var (plan, dir, s) = Finished("settle-damaged", 10);
        var clock = Later();
        Status(plan, dir, s, clock);
        var layout = ProductionLayout.Of(plan);
        var trace = File.ReadAllText(layout.TraceFile);
        File.WriteAllBytes(layout.SettledFile, File.ReadAllBytes(layout.SettledFile)[..40]);
        File.Delete(layout.TraceFile);
        int asked = s.Queries;

        var again = Status(plan, dir, s, clock);

        Assert.Equal(asked + 1, s.Queries);
        Assert.Equal(10, again.Totals.Completed);
        Assert.Equal(trace, File.ReadAllText(layout.TraceFile));
        Status(plan, dir, s, clock);
        Assert.Equal(asked + 1, s.Queries);   // settled again
    }

    [Fact]
    public void A_settled_job_the_ledger_no_longer_records_is_not_trusted()
    {
        var (plan, dir, s) = Finished("settle-ledger", 10);
        var clock = Later();
        Status(plan, dir, s, clock);
        var layout = ProductionLayout.Of(plan);
        var ledger = Ledger.Load(plan.StateDir, plan.ProductionName, plan.Owner);
        var settled = SettledState.Load(layout.SettledFile, ledger);
        Assert.Equal(2, settled.JobCount);

        // the same ids recorded for other tasks (a ledger pieced together elsewhere): nothing of it is trusted
        foreach (var (_, _, arr) in ledger.AllArrays()) arr.Tasks = arr.Tasks + ",99";
        Assert.Equal(0, SettledState.Load(layout.SettledFile, ledger).JobCount);
    }
}
