using SpineProd.Scheduler;
using SpineProd.Scheduler.Local;
using SpineProd.Scheduler.Pbs;
using SpineProd.Scheduler.Slurm;
using Xunit;

namespace SpineProd.Tests.Scheduler;

/// <summary>Each scheduler spells the plan's values itself: the plan and the core hold durations and bytes.</summary>
public sealed class DialectTests
{
    [Theory]
    [InlineData(4 * 3600, "4:00:00", "04:00:00")]
    [InlineData(600, "0:10:00", "00:10:00")]
    [InlineData(86400 + 1800, "1-00:30:00", "24:30:00")]
    [InlineData(0.2, "0:00:01", "00:00:01")]
    public void Each_dialect_spells_a_time_limit(double seconds, string slurm, string pbs)
    {
        var t = TimeSpan.FromSeconds(seconds);
        Assert.Equal(slurm, ((ISchedulerDialect)SlurmDialect.Instance).Time(t));
        Assert.Equal(pbs, PbsSchedulerDialect.Instance.Time(t));
        Assert.Equal(pbs, ResourceValues.Hms(t));
    }

    [Theory]
    [InlineData(8L << 30, "8G", "8gb")]
    [InlineData(4000L << 20, "4000M", "4000mb")]
    [InlineData(1L << 40, "1T", "1tb")]
    [InlineData(100L << 10, "1M", "100kb")] // SLURM's smallest useful unit: rounded up
    public void Each_dialect_spells_a_size(long bytes, string slurm, string pbs)
    {
        Assert.Equal(slurm, ((ISchedulerDialect)SlurmDialect.Instance).Memory(bytes));
        Assert.Equal(pbs, PbsSchedulerDialect.Instance.Memory(bytes));
    }

    [Fact]
    public void A_size_setting_is_parsed_once_for_every_scheduler()
    {
        Assert.Equal(4L << 30, SpineProd.Options.SettingValues.ParseMemory("4g"));
        Assert.Equal(512L << 20, SpineProd.Options.SettingValues.ParseMemory("512"));
        Assert.Null(SpineProd.Options.SettingValues.ParseMemory("lots"));
        Assert.Null(SpineProd.Options.SettingValues.ParseMemory(null));
    }
}
