using SpineProd.Scheduler;
using SpineProd.Tests.Infrastructure;
using Xunit;

namespace SpineProd.Tests.Cluster;

/// <summary>
/// The real SLURM test cluster for the tests that need one. If a controller already answers
/// (.ci/run started it, or a developer did), it is used and left running. Otherwise
/// tests/cluster/start.sh starts it (installing packages the first time), and stop.sh stops it
/// when the collection is done, unless another test run on this machine still uses it: each run
/// leaves a holder file with its pid, and the last one out stops the cluster it started.
/// </summary>
public sealed class ClusterFixture : IDisposable
{
    public static readonly string StateDir = Environment.GetEnvironmentVariable("SPINEPROD_CLUSTER_DIR") ?? "/tmp/spineprod-cluster";
    private readonly string _holder;

    public bool Started { get; }
    public string? Problem { get; }

    public ClusterFixture()
    {
        Directory.CreateDirectory(Path.Combine(StateDir, "holders"));
        _holder = Path.Combine(StateDir, "holders", Environment.ProcessId.ToString());
        File.WriteAllText(_holder, DateTimeOffset.Now.ToString("O"));
        if (IsUp()) return;
        var r = ProcessRunner.Instance.Run("bash", [Repo.Path_("tests", "cluster", "start.sh")], TimeSpan.FromMinutes(10));
        if (r.ExitCode != 0 || !IsUp())
        {
            Problem = $"tests/cluster/start.sh failed (exit {r.ExitCode}): {r.Stderr}{r.Stdout}";
            return;
        }
        Started = true;
    }

    public static bool IsUp()
    {
        var r = ProcessRunner.Instance.Run("scontrol", ["ping"], TimeSpan.FromSeconds(15));
        return r.Succeeded && r.Stdout.Contains("is UP", StringComparison.Ordinal);
    }

    /// <summary>Fails the calling test with start.sh's own words when there is no cluster.</summary>
    public void Require() => Assert.True(Problem is null, Problem);

    public void Dispose()
    {
        try { File.Delete(_holder); } catch (IOException) { }
        if (!Started) return;
        // Another test process (another worktree's run) still holding the cluster keeps it up.
        foreach (var f in Directory.EnumerateFiles(Path.Combine(StateDir, "holders")))
        {
            if (int.TryParse(Path.GetFileName(f), out int pid) && pid != Environment.ProcessId && Alive(pid)) return;
        }
        ProcessRunner.Instance.Run("bash", [Repo.Path_("tests", "cluster", "stop.sh")], TimeSpan.FromMinutes(2));
    }

    private static bool Alive(int pid)
    {
        try { using var p = System.Diagnostics.Process.GetProcessById(pid); return !p.HasExited; }
        catch (ArgumentException) { return false; }
    }
}

[CollectionDefinition("cluster", DisableParallelization = true)]
public sealed class ClusterCollection : ICollectionFixture<ClusterFixture>;
