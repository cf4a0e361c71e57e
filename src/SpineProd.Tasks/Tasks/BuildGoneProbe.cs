using System.Runtime.InteropServices;

namespace SpineProd.Tasks;

/// <summary>
/// Whether the `dotnet build` that started this process is gone. When a user kills `dotnet build`
/// outright, MSBuild's node or task host (<c>/nodemode:</c>) is not killed with it: it runs the task
/// to its end with nobody reading its log. It is re-parented then, and that is what this sees. In
/// the build's own process (no node) there is nothing to watch: its death ends the task with it.
/// The one place that knows this; <see cref="BuildInterruption"/> polls it for Submit and Run.
/// </summary>
internal sealed class BuildGoneProbe
{
    private BuildGoneProbe(int buildPid) => BuildPid = buildPid;

    /// <summary>The process that started this one: the build the user ran.</summary>
    public int BuildPid { get; }

    /// <summary>True once this process has another parent than the build that started it.</summary>
    public bool IsGone => getppid() != BuildPid;

    /// <summary>A probe when this process is an MSBuild node on Linux or macOS with a live parent; null otherwise.</summary>
    public static BuildGoneProbe? ForThisProcess()
    {
        if (!OperatingSystem.IsLinux() && !OperatingSystem.IsMacOS()) return null;
        if (!Environment.GetCommandLineArgs().Any(a => a.Contains("nodemode:", StringComparison.OrdinalIgnoreCase))) return null;
        int parent = getppid();
        return parent <= 1 ? null : new BuildGoneProbe(parent);
    }

    [DllImport("libc")]
    private static extern int getppid();
}
