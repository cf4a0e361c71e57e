using Microsoft.Build.Framework;
using SpineProd.Diagnostics;
using SpineProd.Options;
using SpineProd.Planning;

namespace SpineProd.Tasks;

/// <summary>
/// Runs first in every SpineProd target: the command line's near-miss property names (SPN1060) and
/// the run-time properties' values (SPN1061–SPN1063), so a mistake is named before anything is
/// planned, submitted or waited for, whichever target the user asked for.
/// </summary>
public sealed class CheckOptions : Microsoft.Build.Utilities.Task
{
    [Required] public string ProjectFile { get; set; } = "";
    public string? Wait { get; set; }
    public string? WaitTimeout { get; set; }
    public string? PollInterval { get; set; }
    public string? FailOnProblems { get; set; }
    public string? LocalParallelism { get; set; }
    public string? SubmitRetries { get; set; }
    public string? ClusterQueryTimeout { get; set; }

    public override bool Execute() => Log.Run(ProjectFile, () =>
    {
        var globals = GlobalProperties(BuildEngine);
        foreach (var d in PropertyNames.NearMisses(globals, ProjectFile)) Log.LogSpn(d, ProjectFile);
        var options = new RunOptions(ProjectFile, globals, ProductionFile.Load(ProjectFile));
        Report(() => options.Flag("Wait", Wait));
        Report(() => options.Flag("FailOnProblems", FailOnProblems));
        Report(() => options.Duration("WaitTimeout", WaitTimeout, TimeSpan.Zero));
        Report(() => options.Duration("PollInterval", PollInterval, TimeSpan.Zero));
        Report(() => options.Duration("ClusterQueryTimeout", ClusterQueryTimeout, TimeSpan.Zero));
        Report(() => options.Count("LocalParallelism", LocalParallelism, 0));
        Report(() => options.Count("SubmitRetries", SubmitRetries, 0));
    });

    /// <summary>Every mistake at once, not one per build.</summary>
    private void Report(Action check)
    {
        try { check(); }
        catch (SpineProdException e) { Log.LogSpn(e, ProjectFile); }
    }

    internal static HashSet<string> GlobalProperties(IBuildEngine engine) =>
        engine is IBuildEngine6 e6
            ? new HashSet<string>(e6.GetGlobalProperties().Keys, StringComparer.OrdinalIgnoreCase)
            : new HashSet<string>(StringComparer.OrdinalIgnoreCase);
}
