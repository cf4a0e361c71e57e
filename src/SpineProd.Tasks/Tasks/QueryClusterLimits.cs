using Microsoft.Build.Framework;
using SpineProd.Scheduler;

namespace SpineProd.Tasks;

/// <summary>
/// Asks the cluster for its MaxArraySize (scontrol show config) once per build. No scontrol, no
/// controller, or a slow one: a low-importance message and nothing set, so planning falls back to
/// the profiles' default. Never an error: building must work on a laptop.
/// </summary>
public sealed class QueryClusterLimits : Microsoft.Build.Utilities.Task
{
    public string? TimeoutSeconds { get; set; }
    [Output] public string MaxArraySize { get; private set; } = "";
    [Output] public string MaxArraySizeSource { get; private set; } = "";

    public override bool Execute()
    {
        var client = new SlurmClient();
        var n = client.QueryMaxArraySize(Options.RunOptions.TryParseDuration(TimeoutSeconds ?? "", out var t) && t > TimeSpan.Zero ? t : TimeSpan.FromSeconds(5), out var why);
        if (n is int size)
        {
            MaxArraySize = size.ToString(System.Globalization.CultureInfo.InvariantCulture);
            MaxArraySizeSource = "cluster";
            Log.LogMessage(MessageImportance.Normal, "MaxArraySize {0} (from scontrol show config)", size);
        }
        else Log.LogMessage(MessageImportance.Low, "MaxArraySize not read from the cluster: {0}", why ?? "unknown");
        return !Log.HasLoggedErrors;
    }
}
