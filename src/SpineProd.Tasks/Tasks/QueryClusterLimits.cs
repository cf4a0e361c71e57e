using Microsoft.Build.Framework;
using SpineProd.Scheduler;

namespace SpineProd.Tasks;

/// <summary>
/// Asks the production's scheduler for its limits (SLURM: scontrol show config; PBS: qstat -B) once
/// per build. No client, no server, or a slow one: a low-importance message and nothing set, so
/// planning falls back to the profiles' default. Never an error: building must work on a laptop
/// (an unknown scheduler is Submit's error to report, at the production file).
/// </summary>
public sealed class QueryClusterLimits : Microsoft.Build.Utilities.Task
{
    public string? Scheduler { get; set; }
    public string? TimeoutSeconds { get; set; }
    [Output] public string MaxArraySize { get; private set; } = "";
    [Output] public string MaxArraySizeSource { get; private set; } = "";

    public override bool Execute()
    {
        IScheduler scheduler;
        try { scheduler = Schedulers.Factory(new SchedulerSettings { StateDir = "" })(Scheduler ?? ""); }
        catch (Diagnostics.SpineProdException e)
        {
            Log.LogMessage(MessageImportance.Low, "MaxArraySize not read from the cluster: {0}", e.Message);
            return true;
        }
        var timeout = Options.RunOptions.TryParseDuration(TimeoutSeconds ?? "", out var t) && t > TimeSpan.Zero ? t : TimeSpan.FromSeconds(5);
        if (scheduler.QueryLimits(timeout, out var why) is { MaxArraySize: int size } limits)
        {
            MaxArraySize = size.ToString(System.Globalization.CultureInfo.InvariantCulture);
            MaxArraySizeSource = "cluster";
            Log.LogMessage(MessageImportance.Normal, "MaxArraySize {0} (from {1})", size, limits.Source);
        }
        else Log.LogMessage(MessageImportance.Low, "MaxArraySize not read from the cluster: {0}", why ?? "unknown");
        return !Log.HasLoggedErrors;
    }
}
