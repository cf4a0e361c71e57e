using SpineProd.Planning;
using SpineProd.Scheduler;
using Xunit;

namespace SpineProd.Tests.Pbs;

/// <summary>The plan's SLURM-spelled resources as the neutral values a second scheduler's dialect takes.</summary>
public sealed class ResourceValuesTests
{
    [Theory]
    [InlineData("4g", 4L << 30)]
    [InlineData("4000M", 4000L << 20)]
    [InlineData("512", 512L << 20)]        // SLURM's default unit is MB
    [InlineData("8GB", 8L << 30)]
    [InlineData("100k", 100L << 10)]
    [InlineData("x", null)]
    public void Slurm_sizes_become_bytes(string text, long? bytes) => Assert.Equal(bytes, ResourceValues.ParseSlurmMemory(text));

    [Fact]
    public void A_stages_resources_become_a_request_with_memory_per_task()
    {
        var r = ResourceValues.FromPlan(new Resources { Account = "ci", Partition = "workq", CpusPerTask = 4, MemPerCpu = "2g", Time = "1-00:30:00", Gpus = 1 });
        Assert.Equal(new ResourceRequest { Account = "ci", Queue = "workq", Cpus = 4, MemoryBytes = 8L << 30, Walltime = new TimeSpan(1, 0, 30, 0), Gpus = 1 }, r);
        Assert.Equal("24:30:00", ResourceValues.Hms(r.Walltime!.Value));
    }
}
