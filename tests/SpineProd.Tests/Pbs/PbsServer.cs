using SpineProd.Scheduler;
using SpineProd.Scheduler.Pbs;
using SpineProd.Tests.Infrastructure;
using Xunit;

namespace SpineProd.Tests.Pbs;

/// <summary>
/// The real OpenPBS test server for the tests that need one (tests/cluster/pbs/start.sh, which builds
/// OpenPBS into /opt/pbs the first time, ~2.5 min, and stop.sh), shared with every other test run on
/// this machine as <see cref="SharedTestServer"/> says.
/// </summary>
public sealed class PbsServerFixture() : SharedTestServer(StateDir,
    Repo.Path_("tests", "cluster", "pbs", "start.sh"), Repo.Path_("tests", "cluster", "pbs", "stop.sh"), TimeSpan.FromMinutes(15), IsUp)
{
    public static readonly string StateDir = Environment.GetEnvironmentVariable("SPINEPROD_PBS_DIR") ?? "/tmp/spineprod-pbs";
    public static readonly string BinDir = Path.Combine(Environment.GetEnvironmentVariable("SPINEPROD_PBS_PREFIX") ?? "/opt/pbs", "bin");

    /// <summary>Client options for this server: its commands, and no long waits between retries.</summary>
    public static PbsOptions Options => new() { BinDir = BinDir, Backoff = new Backoff(TimeSpan.FromMilliseconds(200), TimeSpan.FromSeconds(1)) };

    public static bool IsUp() =>
        File.Exists(Path.Combine(BinDir, "qstat")) &&
        ProcessRunner.Instance.Run(Path.Combine(BinDir, "qstat"), ["-B"], TimeSpan.FromSeconds(15)).Succeeded;
}

[CollectionDefinition("pbs", DisableParallelization = true)]
public sealed class PbsCollection : ICollectionFixture<PbsServerFixture>;
