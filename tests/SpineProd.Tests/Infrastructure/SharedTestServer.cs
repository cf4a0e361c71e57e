using SpineProd.Scheduler;
using Xunit;

namespace SpineProd.Tests.Infrastructure;

/// <summary>
/// A scheduler's test server that every test run on this machine shares (the SLURM cluster, the
/// OpenPBS server). If it already answers (.ci/run started it, or a developer did), it is used and
/// left running. Otherwise its start script starts it, and its stop script stops it when the test
/// collection is done, unless another test run (another worktree's) still uses it: each run leaves a
/// holder file with its pid, and the last one out stops the server it started.
/// </summary>
public abstract class SharedTestServer : IDisposable
{
    private readonly string _stateDir;
    private readonly string _stopScript;
    private readonly string _holder;

    public bool Started { get; }
    public string? Problem { get; }

    /// <param name="isUp">Whether the server answers now (a static check: no state of this object).</param>
    protected SharedTestServer(string stateDir, string startScript, string stopScript, TimeSpan startTimeout, Func<bool> isUp)
    {
        _stateDir = stateDir;
        _stopScript = stopScript;
        Directory.CreateDirectory(Path.Combine(stateDir, "holders"));
        _holder = Path.Combine(stateDir, "holders", Environment.ProcessId.ToString());
        File.WriteAllText(_holder, DateTimeOffset.Now.ToString("O"));
        if (isUp()) return;
        var r = ProcessRunner.Instance.Run("bash", [startScript], startTimeout);
        if (r.ExitCode != 0 || !isUp())
        {
            Problem = $"{Path.GetRelativePath(Repo.Root, startScript)} failed (exit {r.ExitCode}): {r.Stderr}{r.Stdout}";
            return;
        }
        Started = true;
    }

    /// <summary>Fails the calling test with the start script's own words when there is no server.</summary>
    public void Require() => Assert.True(Problem is null, Problem);

    public void Dispose()
    {
        try { File.Delete(_holder); } catch (IOException) { }
        if (!Started) return;
        foreach (var f in Directory.EnumerateFiles(Path.Combine(_stateDir, "holders")))
            if (int.TryParse(Path.GetFileName(f), out int pid) && pid != Environment.ProcessId && Alive(pid)) return;
        ProcessRunner.Instance.Run("bash", [_stopScript], TimeSpan.FromMinutes(2));
    }

    private static bool Alive(int pid)
    {
        try { using var p = System.Diagnostics.Process.GetProcessById(pid); return !p.HasExited; }
        catch (ArgumentException) { return false; }
    }
}
