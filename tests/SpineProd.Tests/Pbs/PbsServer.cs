using SpineProd.Scheduler;
using SpineProd.Scheduler.Pbs;
using SpineProd.Tests.Infrastructure;
using Xunit;

namespace SpineProd.Tests.Pbs;

/// <summary>
/// The real OpenPBS test server for the tests that need one, as <c>ClusterFixture</c> is for SLURM.
/// If a server already answers (.ci/run started it, or a developer did), it is used and left
/// running. Otherwise tests/cluster/pbs/start.sh starts it (building OpenPBS into /opt/pbs the first
/// time, ~2.5 min), and stop.sh stops it when the collection is done, unless another test run on
/// this machine still uses it (holder files, as for the SLURM cluster).
/// </summary>
public sealed class PbsServerFixture : IDisposable
{
    public static readonly string StateDir = Environment.GetEnvironmentVariable("SPINEPROD_PBS_DIR") ?? "/tmp/spineprod-pbs";
    public static readonly string BinDir = Path.Combine(Environment.GetEnvironmentVariable("SPINEPROD_PBS_PREFIX") ?? "/opt/pbs", "bin");
    private readonly string _holder;

    public bool Started { get; }
    public string? Problem { get; }

    /// <summary>Client options for this server: its commands, and no long waits between retries.</summary>
    public static PbsOptions Options => new() { BinDir = BinDir, Backoff = new Backoff(TimeSpan.FromMilliseconds(200), TimeSpan.FromSeconds(1)) };

    public PbsServerFixture()
    {
        Directory.CreateDirectory(Path.Combine(StateDir, "holders"));
        _holder = Path.Combine(StateDir, "holders", Environment.ProcessId.ToString());
        File.WriteAllText(_holder, DateTimeOffset.Now.ToString("O"));
        if (IsUp()) return;
        var r = ProcessRunner.Instance.Run("bash", [Repo.Path_("tests", "cluster", "pbs", "start.sh")], TimeSpan.FromMinutes(15));
        if (r.ExitCode != 0 || !IsUp())
        {
            Problem = $"tests/cluster/pbs/start.sh failed (exit {r.ExitCode}): {r.Stderr}{r.Stdout}";
            return;
        }
        Started = true;
    }

    public static bool IsUp() =>
        File.Exists(Path.Combine(BinDir, "qstat")) &&
        ProcessRunner.Instance.Run(Path.Combine(BinDir, "qstat"), ["-B"], TimeSpan.FromSeconds(15)).Succeeded;

    /// <summary>Fails the calling test with start.sh's own words when there is no server.</summary>
    public void Require() => Assert.True(Problem is null, Problem);

    public void Dispose()
    {
        try { File.Delete(_holder); } catch (IOException) { }
        if (!Started) return;
        foreach (var f in Directory.EnumerateFiles(Path.Combine(StateDir, "holders")))
            if (int.TryParse(Path.GetFileName(f), out int pid) && pid != Environment.ProcessId && Alive(pid)) return;
        ProcessRunner.Instance.Run("bash", [Repo.Path_("tests", "cluster", "pbs", "stop.sh")], TimeSpan.FromMinutes(2));
    }

    private static bool Alive(int pid)
    {
        try { using var p = System.Diagnostics.Process.GetProcessById(pid); return !p.HasExited; }
        catch (ArgumentException) { return false; }
    }
}

[CollectionDefinition("pbs", DisableParallelization = true)]
public sealed class PbsCollection : ICollectionFixture<PbsServerFixture>;
