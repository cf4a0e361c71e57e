using SpineProd.Scheduler.Pbs;
using Xunit;

namespace SpineProd.Tests.Usage;

/// <summary>Usage from PBS's batched <c>qstat -x -f -F json -t</c>: each subjob's resources_used.</summary>
public sealed class PbsUsageTests
{
    // trimmed from the test server's own answer (OpenPBS 23)
    private const string Json = """
        {"timestamp":1764416885,"pbs_version":"23.06.06","pbs_server":"vm","Jobs":{
         "1016[].vm":{"Job_Name":"reco","job_state":"F","Exit_status":0,"stime":"Sun Nov 29 11:47:57 2026","obittime":"Sun Nov 29 11:48:05 2026",
                      "Resource_List":{"ncpus":2,"mem":"4gb","ngpus":1,"walltime":"01:00:00"}},
         "1016[0].vm":{"Job_Name":"reco","job_state":"F","substate":92,"Exit_status":0,"array_id":"1016[].vm","array_index":0,"exec_host":"vm/0*2",
                      "stime":"Sun Nov 29 11:47:57 2026","obittime":"Sun Nov 29 11:48:04 2026","run_count":1,
                      "resources_used":{"cpupercent":150,"cput":"00:01:30","mem":"1048576kb","ncpus":2,"vmem":"2097152kb","walltime":"00:01:05"},
                      "Resource_List":{"ncpus":2,"mem":"4gb","ngpus":1,"walltime":"01:00:00"}},
         "1016[1].vm":{"Job_Name":"reco","job_state":"Q","array_id":"1016[].vm","array_index":1,
                      "Resource_List":{"ncpus":2,"mem":"4gb","ngpus":1,"walltime":"01:00:00"}}}}
        """;

    [Fact]
    public void A_subjob_carries_its_walltime_cput_memory_and_request()
    {
        var jobs = PbsJobStatus.ParseJson(Json).ToDictionary(j => j.Id);
        var u = jobs["1016[0].vm"].Usage!;
        Assert.Equal(TimeSpan.FromSeconds(65), u.Elapsed);
        Assert.Equal(TimeSpan.FromSeconds(90), u.CpuTime);
        Assert.Equal(1L << 30, u.PeakMemoryBytes);
        Assert.Equal(4L << 30, u.RequestedMemoryBytes);
        Assert.Equal(TimeSpan.FromHours(1), u.RequestedTime);
        Assert.Equal((2, 1, "vm"), (u.Cpus, u.Gpus, u.Node));
        Assert.Equal(new DateTimeOffset(new DateTime(2026, 11, 29, 11, 47, 57, DateTimeKind.Local)), u.Start);
        Assert.Equal(new DateTimeOffset(new DateTime(2026, 11, 29, 11, 48, 4, DateTimeKind.Local)), u.End);

        var queued = jobs["1016[1].vm"].Usage!;
        Assert.Null(queued.Elapsed);
        Assert.Equal(4L << 30, queued.RequestedMemoryBytes);
    }

    [Theory]
    [InlineData("100mb", 100L << 20)]
    [InlineData("0kb", 0L)]
    [InlineData("512", 512L)]
    [InlineData("2w", 16L)]
    [InlineData("3gb", 3L << 30)]
    public void PBS_sizes(string text, long bytes) => Assert.Equal(bytes, PbsUsage.Size(text));
}
