using SpineProd.Scheduler;
using SpineProd.Scheduler.Slurm;
using SpineProd.Tests.Cluster;
using Xunit;

namespace SpineProd.Tests.Usage;

/// <summary>Per-task usage from sacct: one batched call with the steps, read as a stream.</summary>
public sealed class SacctUsageTests
{
    // Rows as Slurm 22.05 prints them for SacctRows.Format (the test cluster's own output, trimmed).
    private const string Rows = """
        953_3|958|COMPLETED|0:0|None|reco_0|61|00:20.216||400M|5|2|billing=2,cpu=2,gres/gpu=1,mem=400M,node=1|vm|2026-11-29T11:26:32|2026-11-29T11:27:33|spineprod:p-1:reco:0:s1
        953_3.batch|958.batch|COMPLETED|0:0||batch|61|00:20.216|1204K|||2|cpu=2,mem=400M,node=1|vm|2026-11-29T11:26:32|2026-11-29T11:27:33|
        953_3.0|958.0|COMPLETED|0:0||python3|60|00:19.000|3.50M|||2|cpu=2,mem=400M,node=1|vm|2026-11-29T11:26:32|2026-11-29T11:27:33|
        953_4|953|OUT_OF_MEMORY|0:125|None|reco_0|3|00:01.000||400M|5|2|billing=2,cpu=2,mem=400M,node=1|vm|2026-11-29T11:26:32|2026-11-29T11:26:35|spineprod:p-1:reco:0:s1
        953_4.batch|953.batch|OUT_OF_MEMORY|0:125||batch|3|00:01.000|409600K|||2|cpu=2,mem=400M,node=1|vm|2026-11-29T11:26:32|2026-11-29T11:26:35|
        953_[5-6%1]|953|PENDING|0:0|JobArrayTaskLimit|reco_0|0|00:00:00||400M|5|2||None assigned|Unknown|Unknown|spineprod:p-1:reco:0:s1
        960|960|TIMEOUT|0:15|None|cleanup_reco|600|1-00:00:01||1G|10|1|billing=1,cpu=1,mem=1G,node=1|vm|2026-11-29T11:27:05|2026-11-29T11:37:05|a|comment|with pipes
        960.batch|960.batch|CANCELLED|0:15||batch|600|00:00.102|2G|||1|cpu=1,mem=1G,node=1|vm|2026-11-29T11:27:05|2026-11-29T11:37:05|
        """;

    [Fact]
    public void A_task_row_and_its_steps_make_one_task_with_its_usage()
    {
        var tasks = SlurmClient.ParseSacct(Rows).ToDictionary(t => (t.ArrayJobId, t.ArrayIndex));

        var done = tasks[("953", 3)];
        Assert.Equal(TaskStateKind.Completed, done.Kind);
        Assert.Equal("spineprod:p-1:reco:0:s1", done.Comment);
        Assert.Equal("reco_0", done.Name);
        var u = done.Usage!;
        Assert.Equal(TimeSpan.FromSeconds(61), u.Elapsed);
        Assert.Equal(20.216, u.CpuTime!.Value.TotalSeconds, 3);
        Assert.Equal((long)(3.5 * 1024 * 1024), u.PeakMemoryBytes);        // the largest step's MaxRSS
        Assert.Equal(400L << 20, u.RequestedMemoryBytes);                    // from AllocTRES mem=
        Assert.Equal(TimeSpan.FromMinutes(5), u.RequestedTime);
        Assert.Equal(2, u.Cpus);
        Assert.Equal(1, u.Gpus);
        Assert.Equal("vm", u.Node);
        Assert.Equal(new DateTimeOffset(new DateTime(2026, 11, 29, 11, 26, 32, DateTimeKind.Local)), u.Start);
        Assert.Equal(20.216 / (61 * 2), u.CpuEfficiency!.Value, 4);

        var oom = tasks[("953", 4)];
        Assert.Equal(TaskStateKind.OutOfMemory, oom.Kind);
        Assert.Equal(400L << 20, oom.Usage!.PeakMemoryBytes);
        Assert.Equal(0, oom.Usage.Gpus);                                     // AllocTRES without gres/gpu: none

        // a pending array's tasks: no usage measured yet, the request known
        Assert.Equal(TaskStateKind.Pending, tasks[("953", 5)].Kind);
        Assert.Equal("JobArrayTaskLimit", tasks[("953", 6)].Reason);
        Assert.Null(tasks[("953", 6)].Usage!.Node);
        Assert.Null(tasks[("953", 6)].Usage!.Start);

        // a job that is not an array (a cleanup job): task 0 of itself; its steps never become tasks
        var cleanup = tasks[("960", 0)];
        Assert.Equal(TaskStateKind.Timeout, cleanup.Kind);
        Assert.Equal("a|comment|with pipes", cleanup.Comment);
        Assert.Equal(2L << 30, cleanup.Usage!.PeakMemoryBytes);
        Assert.Equal(TimeSpan.FromSeconds(86401), cleanup.Usage.CpuTime);
        Assert.Equal(5, tasks.Count);
    }

    [Fact]
    public void Rows_of_the_old_short_format_still_read()
    {
        var t = SlurmClient.ParseSacct("10_1|14|FAILED|3:0|None\n").Single();
        Assert.Equal(("10", 1, TaskStateKind.Failed, "3:0"), (t.ArrayJobId, t.ArrayIndex, t.Kind, t.ExitCode));
        Assert.Null(t.Usage);
    }

    [Theory]
    [InlineData("00:00.216", 0.216)]
    [InlineData("01:02", 62)]
    [InlineData("01:02:03", 3723)]
    [InlineData("2-01:02:03", 2 * 86400 + 3723)]
    [InlineData("12:34.5", 754.5)]
    public void TotalCPU_is_read_in_every_form_sacct_prints(string text, double seconds) =>
        Assert.Equal(seconds, SacctRows.ParseCpuTime(text)!.Value.TotalSeconds, 3);

    [Theory]
    [InlineData("1204K", 1204L * 1024)]
    [InlineData("3.50M", (long)(3.5 * 1048576))]
    [InlineData("8G", 8L << 30)]
    [InlineData("0", 0L)]
    [InlineData("512", 512L)]
    public void Sizes_are_read_with_SLURM_units(string text, long bytes) => Assert.Equal(bytes, SacctRows.ParseSize(text));

    [Fact]
    public void Status_asks_sacct_once_with_the_steps_and_streams_its_rows()
    {
        var runner = new FakeRunner();
        runner.Answer("sacct", FakeRunner.Ok(Rows.Replace("953_[5-6%1]|953|PENDING", "953_[5-6%1]|953|COMPLETED")));
        var client = new SlurmClient(runner, new FakeClock());

        var snap = client.Query(["953", "960"], expectedTasks: new Dictionary<string, int> { ["953"] = 4, ["960"] = 1 });

        var call = runner.Calls.Single();
        Assert.Equal("sacct", call.Program);
        Assert.DoesNotContain("-X", call.Args);                               // steps carry MaxRSS
        Assert.Contains("--format=" + SacctRows.Format, call.Args);
        Assert.Equal(5, snap.Tasks.Count);
        Assert.Equal(400L << 20, snap.Find("953", 4)!.Usage!.PeakMemoryBytes);
    }

    [Fact]
    public void Squeue_fresher_state_keeps_what_sacct_measured()
    {
        var runner = new FakeRunner();
        runner.Answer("sacct", FakeRunner.Ok("10_0|12|RUNNING|0:0|None|j|30|00:10.000||1G|60|1|cpu=1,mem=1G,node=1|vm|2026-11-29T11:00:00|Unknown|c\n10_0.batch|12.batch|RUNNING|0:0||batch|30|00:10.000|500M|||1||vm|2026-11-29T11:00:00|Unknown|\n"));
        runner.Answer("squeue", FakeRunner.Ok("10|0|RUNNING|None|12|j|c\n"));
        var snap = new SlurmClient(runner, new FakeClock()).Query(["10"]);
        var t = snap.Find("10", 0)!;
        Assert.Equal(TaskStateKind.Running, t.Kind);
        Assert.Equal(500L << 20, t.Usage!.PeakMemoryBytes);
        Assert.Null(t.Usage.End);
    }

    [Theory]
    [InlineData("2026-11-29T11:26:32", true)]
    [InlineData("2024-02-29T23:59:59", true)]
    [InlineData("2026-02-29T11:26:32", false)]
    [InlineData("2026-13-01T00:00:00", false)]
    [InlineData("2026-11-29T24:00:00", false)]
    [InlineData("2026-11-29 11:26:32", false)]
    [InlineData("Unknown", false)]
    [InlineData("None", false)]
    [InlineData("", false)]
    public void Start_and_end_are_local_times_or_nothing(string text, bool valid)
    {
        var t = SacctRows.ParseTime(text);
        Assert.Equal(valid, t is not null);
        if (t is { } v)
        {
            var local = DateTime.ParseExact(text, "yyyy-MM-dd'T'HH:mm:ss", System.Globalization.CultureInfo.InvariantCulture, System.Globalization.DateTimeStyles.AssumeLocal);
            Assert.Equal(new DateTimeOffset(local), v);
        }
    }
}
