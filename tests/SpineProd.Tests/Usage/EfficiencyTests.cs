using SpineProd.Scheduler;
using SpineProd.Scheduler.Slurm;
using SpineProd.Submission;
using SpineProd.Tests.Infrastructure;
using SpineProd.Usage;
using Xunit;

namespace SpineProd.Tests.Usage;

/// <summary>Per-stage efficiency, the request that would have fitted, and the trace file.</summary>
public sealed class EfficiencyTests
{
    private const long GB = 1L << 30;

    private static readonly SubmissionRecord Sub = new() { Id = "20261129_120000", Scheduler = "slurm" };
    private static readonly StageSubmission Stage = new() { Stage = "reco", JobFolder = "/jobs/x" };

    private static TaskAttempt Attempt(int task, string state, double elapsed, double? cpu, long? peak, long request = 8 * GB,
        double limitMinutes = 60, int cpus = 1, int gpus = 0, int attempt = 1, string jobId = "12")
    {
        var array = new ArraySubmission { JobId = jobId, JobName = "reco", FirstTask = 0, Tasks = task.ToString() };
        var usage = new TaskUsage
        {
            Start = DateTimeOffset.Parse("2026-11-29T12:00:00+00:00"),
            End = DateTimeOffset.Parse("2026-11-29T12:00:00+00:00").AddSeconds(elapsed),
            Elapsed = TimeSpan.FromSeconds(elapsed),
            CpuTime = cpu is null ? null : TimeSpan.FromSeconds(cpu.Value),
            PeakMemoryBytes = peak,
            RequestedMemoryBytes = request,
            RequestedTime = TimeSpan.FromMinutes(limitMinutes),
            Cpus = cpus,
            Gpus = gpus,
            Node = "vm",
        };
        var row = new SchedulerTask(jobId, task, state, SlurmDialect.Classify(state), "0:0") { Usage = usage };
        return new TaskAttempt("reco", task, attempt, Sub, Stage, array, task, row);
    }

    private static ResourceRequest Request(long perCpu = 8 * GB, int cpus = 1, double hours = 1) =>
        new() { MemoryBytes = perCpu * cpus, Cpus = cpus, Walltime = TimeSpan.FromHours(hours) };

    [Fact]
    public void Tasks_using_far_less_memory_and_time_than_asked_get_the_values_that_would_have_fitted()
    {
        var u = new StageUsage();
        for (int i = 0; i < 100; i++) u.Add(Attempt(i, "COMPLETED", elapsed: 600 + i, cpu: 300, peak: (long)(3.1 * GB)));
        u.Add(Attempt(100, "COMPLETED", elapsed: 900, cpu: 300, peak: (long)(3.4 * GB)));
        u.Complete();

        var advice = u.Advise(Request(), outOfMemory: 0, timedOut: 0);

        var mem = advice.Single(a => a.Property == "MemPerCpu");
        Assert.Equal("5g", mem.Value);                                          // 3.4 GB + 20%, whole GB
        Assert.Contains("peak 3.1 GB for 99% of tasks (3.4 GB at most) of 8 GB requested: -p:MemPerCpu=5g would fit", mem.Why);
        var time = advice.Single(a => a.Property == "Time");
        Assert.Equal("00:25:00", time.Value);                                   // 15 min + 50%, whole 5 minutes
        Assert.Equal(101, u.Measured);
        Assert.InRange(u.CpuEfficiency!.Value, 0.45, 0.5);
    }

    [Fact]
    public void Out_of_memory_and_timed_out_tasks_ask_for_more_never_less()
    {
        var u = new StageUsage();
        u.Add(Attempt(0, "COMPLETED", 60, 30, 1 * GB));
        u.Add(Attempt(1, "OUT_OF_MEMORY", 30, 10, 8 * GB));
        u.Add(Attempt(2, "TIMEOUT", 3600, 3000, 2 * GB));
        u.Complete();

        var advice = u.Advise(Request(perCpu: 4 * GB, cpus: 2), outOfMemory: 1, timedOut: 1);

        Assert.Equal("8g", advice.Single(a => a.Property == "MemPerCpu").Value);  // twice the 4g per CPU
        Assert.Contains("1 task(s) ran out of memory at 8 GB", advice.Single(a => a.Property == "MemPerCpu").Why);
        Assert.Equal("02:00:00", advice.Single(a => a.Property == "Time").Value);
        // a stage of a pipeline is told as stage metadata
        var staged = u.Advise(Request(perCpu: 4 * GB, cpus: 2), 1, 1, (p, v) => $"{p}=\"{v}\" on stage reco");
        Assert.Contains("MemPerCpu=\"8g\" on stage reco", staged[0].Why);
    }

    [Fact]
    public void A_request_that_fits_gets_no_advice_and_GPU_hours_are_counted()
    {
        var u = new StageUsage();
        for (int i = 0; i < 4; i++) u.Add(Attempt(i, "COMPLETED", elapsed: 1800, cpu: 1700, peak: 6 * GB, gpus: 1));
        u.Complete();
        Assert.Empty(u.Advise(Request(), 0, 0));
        Assert.Equal(2.0, u.GpuHoursUsed, 3);        // 4 × 0.5 h × 1 GPU
        Assert.Equal(4.0, u.GpuHoursRequested, 3);   // 4 × 1 h limit × 1 GPU
    }

    [Theory]
    [InlineData(100L << 20, "256M")]
    [InlineData(700L << 20, "768M")]
    [InlineData((1L << 30) + 1, "2g")]
    public void Memory_is_rounded_up_to_values_a_person_would_write(long bytes, string expected) =>
        Assert.Equal(expected, StageUsage.MemPerCpu(bytes));

    [Fact]
    public void The_trace_file_has_one_row_per_attempt_with_a_header_pandas_reads()
    {
        var dir = Repo.Scratch("trace");
        var path = Path.Combine(dir, "trace.tsv");
        var first = Attempt(3, "OUT_OF_MEMORY", 30, 10, 8 * GB, jobId: "12");
        var second = Attempt(3, "COMPLETED", 40, 20, 9 * GB, request: 16 * GB, attempt: 2, jobId: "15");
        var odd = Attempt(4, "FAILED", 1, 1, 1) with { Scheduler = first.Scheduler! with { Reason = "tab\there\nnewline" } };

        Assert.Equal(3, TraceFile.Write(path, [first, second, odd]));

        var lines = File.ReadAllLines(path);
        Assert.Equal(4, lines.Length);
        var head = lines[0].Split('\t');
        Assert.Equal(TraceFile.Columns, head);
        var row = head.Zip(lines[2].Split('\t')).ToDictionary(p => p.First, p => p.Second);
        Assert.Equal("reco", row["stage"]);
        Assert.Equal("2", row["attempt"]);
        Assert.Equal("15_3", row["job_id"]);
        Assert.Equal("COMPLETED", row["state"]);
        Assert.Equal((9 * GB).ToString(), row["peak_memory_bytes"]);
        Assert.Equal("40", row["elapsed_s"]);
        Assert.Equal("2026-11-29T12:00:00+00:00", row["start"]);
        Assert.Equal("/jobs/x/logs/reco_15_3.err", row["log_err"]);
        Assert.All(lines, l => Assert.Equal(head.Length, l.Split('\t').Length));   // a tab in a value never shifts a column
    }
}
