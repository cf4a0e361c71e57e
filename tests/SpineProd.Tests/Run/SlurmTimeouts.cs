using SpineProd.Submission;
using SpineProd.Tests.Cluster;
using SpineProd.Tests.Infrastructure;

namespace SpineProd.Tests.Run;

/// <summary>
/// The first attempts of the productions on the SLURM test cluster that wait for a real TIMEOUT,
/// submitted together so that their waits overlap. SLURM counts limits in whole minutes and checks
/// them about every 30 s, so a task over a one-minute limit ends 60 to 90 s after it starts,
/// whatever the test: before, three test classes each waited for a timeout of their own, one after
/// another. Each fact that only reads an outcome reads it from here; the one that goes on (-t:Run's
/// retries, the fault test's Submit with a longer Time) has its production to itself.
/// <list type="bullet">
/// <item><see cref="Mixed"/>: tasks that succeed, fail, run out of memory and time out. The usage
/// facts read its Status after the first attempt (<see cref="MixedStatusOutput"/>, and status.json
/// and trace.tsv as they were then); <see cref="SlurmRunTests"/> then lets -t:Run retry it.</item>
/// <item><see cref="Sleeper"/>: a task over its limit and a quick one, for the fault test's
/// resubmission with a longer Time.</item>
/// </list>
/// Both sleepers should start together, or they may straddle a 30 s check and the later one end
/// 30 s later. The node has two CPUs and runs the earlier array's tasks first: the mixed production
/// is submitted first, its sleeper sorted last (its quick tasks take both CPUs for a moment), and the
/// other is submitted as soon as it is (its plan built meanwhile), its sleeper sorted first.
/// </summary>
public sealed class SlurmTimeouts : EndToEndScenarios
{
    protected override string Scheduler => "slurm";

    /// <summary>What -t:Run's retry gives the sleeper: longer than SLURM may let it run over its first one-minute limit (90 s).</summary>
    public const int MixedSleep = 100;
    public static readonly string[] MixedInputs = ["run_FAIL.root", "run_OOM600.root", "run_ok1.root", "run_ok2.root", $"run_wait_SLEEP{MixedSleep}.root"];
    public const string MixedMemPerCpu = "250M";

    public required ScratchProduction Mixed { get; init; }
    public required StatusReport MixedFirst { get; init; }
    public required string MixedStatusOutput { get; init; }
    public required string MixedStatusJson { get; init; }
    public required string[] MixedTrace { get; init; }
    public required ScratchProduction Sleeper { get; init; }
    public required StatusReport SleeperFirst { get; init; }

    private static readonly Lazy<SlurmTimeouts> Shared = new(FirstAttempts, LazyThreadSafetyMode.ExecutionAndPublication);

    /// <summary>Both productions after their first attempt (submitted and waited for once, by the first fact that asks).</summary>
    public static SlurmTimeouts Get(ClusterFixture cluster)
    {
        cluster.Require();
        return Shared.Value;
    }

    private static SlurmTimeouts FirstAttempts()
    {
        var mixed = ClusterProductionOf("slurm-timeouts-mixed", ClusterResources(memPerCpu: MixedMemPerCpu, time: "00:01:00"), MixedInputs);
        var sleeper = ClusterProductionOf("slurm-timeouts-sleeper", ClusterResources(memPerCpu: "100M", time: "1"), "run_0_SLEEP300.root", "run_quick.root");
        Parallel.Invoke(() => Run(mixed, "Submit"), () => Run(sleeper, "Build"));
        Run(sleeper, "Submit");
        var mixedFirst = WaitFinished(mixed);
        var sleeperFirst = WaitFinished(sleeper);
        var status = Run(mixed, "Status").Output;
        var layout = SpineProd.Layout.ProductionLayout.Of(Plan(mixed));
        return new SlurmTimeouts
        {
            Mixed = mixed, MixedFirst = mixedFirst, MixedStatusOutput = status,
            MixedStatusJson = File.ReadAllText(Path.Combine(mixed.StateDir, "status.json")),
            MixedTrace = File.ReadAllLines(layout.TraceFile),
            Sleeper = sleeper, SleeperFirst = sleeperFirst,
        };
    }
}
