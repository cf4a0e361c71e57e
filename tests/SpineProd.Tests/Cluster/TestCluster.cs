using SpineProd.Scheduler;
using SpineProd.Tests.Infrastructure;
using Xunit;

namespace SpineProd.Tests.Cluster;

/// <summary>
/// The real SLURM test cluster for the tests that need one (tests/cluster/start.sh and stop.sh),
/// shared with every other test run on this machine as <see cref="SharedTestServer"/> says.
/// </summary>
public sealed class ClusterFixture() : SharedTestServer(StateDir,
    Repo.Path_("tests", "cluster", "start.sh"), Repo.Path_("tests", "cluster", "stop.sh"), TimeSpan.FromMinutes(10), IsUp)
{
    public static readonly string StateDir = Environment.GetEnvironmentVariable("SPINEPROD_CLUSTER_DIR") ?? "/tmp/spineprod-cluster";

    public static bool IsUp()
    {
        var r = ProcessRunner.Instance.Run("scontrol", ["ping"], TimeSpan.FromSeconds(15));
        return r.Succeeded && r.Stdout.Contains("is UP", StringComparison.Ordinal);
    }
}

[CollectionDefinition("cluster", DisableParallelization = true)]
public sealed class ClusterCollection : ICollectionFixture<ClusterFixture>;
