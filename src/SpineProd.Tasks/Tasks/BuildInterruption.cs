using System.Runtime.InteropServices;

namespace SpineProd.Tasks;

/// <summary>
/// How a Submit learns it must stop after the array in flight, whichever way the user stopped it:
/// <list type="bullet">
/// <item>Ctrl-C on `dotnet build`: MSBuild cancels the build and calls <c>ICancelableTask.Cancel</c>,
/// also in an out-of-process task host (it forwards the cancel).</item>
/// <item>Ctrl-C in a terminal also sends SIGINT to the task host itself (same process group), and
/// SIGTERM/SIGHUP come from `kill` or a closed ssh session: while a Submit runs they cancel it
/// instead of killing the process between an sbatch and its ledger entry.</item>
/// <item>The `dotnet build` process killed outright: MSBuild's task host then waits for the task to
/// end, with nobody reading its log. The task host's parent process changes (it is re-parented),
/// which <see cref="BuildGoneProbe"/> sees, and the Submit stops; the ledger records what was sent
/// and that it was interrupted. A local Submit's tasks are ended then too (the local scheduler
/// stops on <see cref="Token"/>).</item>
/// </list>
/// </summary>
internal sealed class BuildInterruption : IDisposable
{
    private readonly CancellationTokenSource _cts = new();
    private readonly List<PosixSignalRegistration> _signals = new();
    private readonly Timer? _parentWatch;
    private volatile string? _reason;

    public BuildInterruption()
    {
        if (!OperatingSystem.IsWindows())
            foreach (var (signal, name) in new[] { (PosixSignal.SIGINT, "SIGINT (Ctrl-C)"), (PosixSignal.SIGTERM, "SIGTERM"), (PosixSignal.SIGHUP, "SIGHUP (terminal closed)") })
                _signals.Add(PosixSignalRegistration.Create(signal, ctx =>
                {
                    ctx.Cancel = true;   // stop after the array in flight, not in the middle of recording it
                    Cancel($"Submit was interrupted by {name}");
                }));
        // Only in an MSBuild node (a task host): its parent is the build the user started.
        if (BuildGoneProbe.ForThisProcess() is { } build)
            _parentWatch = new Timer(_ =>
            {
                if (build.IsGone)
                    Cancel($"Submit stopped because the build process that started it (pid {build.BuildPid}) is gone");
            }, null, TimeSpan.FromMilliseconds(250), TimeSpan.FromMilliseconds(250));
    }

    public CancellationToken Token => _cts.Token;
    public string Reason => _reason ?? "Submit was cancelled";

    public void Cancel(string reason)
    {
        _reason ??= reason;
        try { _cts.Cancel(); }
        catch (ObjectDisposedException) { }   // a late signal or timer tick after the Submit ended
    }

    public void Dispose()
    {
        _parentWatch?.Dispose();
        foreach (var s in _signals) s.Dispose();
        _cts.Dispose();
    }
}
