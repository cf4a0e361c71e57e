using SpineProd.Planning;
using SpineProd.Scheduler;
using Xunit;

namespace SpineProd.Tests.Pbs;

/// <summary>The plan's resources as the neutral request a scheduler's dialect takes.</summary>
public sealed class ResourceValuesTests
{
    [Fact]
    public void A_stages_resources_become_a_request_with_memory_per_task()
    {
        var r = ResourceValues.FromPlan(new Resources { Account = "ci", Partition = "workq", CpusPerTask = 4, MemPerCpuBytes = 2L << 30, Walltime = new TimeSpan(1, 0, 30, 0), Gpus = 1 });
        Assert.Equal(new ResourceRequest { Account = "ci", Queue = "workq", Cpus = 4, MemoryBytes = 8L << 30, Walltime = new TimeSpan(1, 0, 30, 0), Gpus = 1 }, r);
        Assert.Equal("24:30:00", ResourceValues.Hms(r.Walltime!.Value));
    }
}
