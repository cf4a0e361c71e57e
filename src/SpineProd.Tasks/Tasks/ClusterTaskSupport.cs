using Microsoft.Build.Framework;
using Microsoft.Build.Utilities;
using SpineProd.Diagnostics;
using SpineProd.Planning;
using SpineProd.Scheduler;
using SpineProd.Submission;

namespace SpineProd.Tasks;

/// <summary>What the Submit, Status and Cancel tasks share: reading the plan, logging, the command line.</summary>
internal static class ClusterTaskSupport
{
    public static ProductionPlan LoadPlan(string planFile, string projectFile)
    {
        if (!File.Exists(planFile))
            throw new SpineProdException("SPN3001", $"no plan at {planFile}; build the production first (dotnet build {Path.GetFileName(projectFile)})", projectFile);
        ProductionPlan plan;
        try { plan = ProductionPlan.Load(planFile); }
        catch (System.Text.Json.JsonException e)
        {
            throw new SpineProdException("SPN3001", $"the plan {planFile} is not readable ({e.Message}); build the production again (-t:Rebuild)", projectFile);
        }
        // The job scripts run in their job folders: a relative state folder would put markers and
        // outputs inside each job folder, where Status would never find them.
        foreach (var (what, path) in new[] { ("SpineProdStateDir", plan.StateDir), ("JobsDir", plan.JobsDir) })
            if (!Path.IsPathRooted(path))
                throw new SpineProdException("SPN3019", $"{what} '{path}' in the plan is a relative path; give a full path (or let the SDK derive it) and build again", projectFile);
        return plan;
    }

    public static void Log(TaskLoggingHelper log, Submission.LogLevel level, string message, bool terminalLogger = false)
    {
        if (level == Submission.LogLevel.Warning) { log.LogWarning(message); return; }
        if (level == Submission.LogLevel.High) { log.LogReport(message, terminalLogger); return; }
        var importance = level switch
        {
            Submission.LogLevel.High => MessageImportance.High,
            Submission.LogLevel.Normal => MessageImportance.Normal,
            _ => MessageImportance.Low,
        };
        log.LogMessage(importance, "{0}", message);
    }

    /// <summary>What the user ran, for job_metadata.json: the target and every -p: given.</summary>
    public static string CommandLine(IBuildEngine engine, string projectFile, string target)
    {
        var words = new List<string> { "dotnet", "build", projectFile, $"-t:{target}" };
        if (engine is IBuildEngine6 e6)
            foreach (var (k, v) in e6.GetGlobalProperties().OrderBy(p => p.Key, StringComparer.OrdinalIgnoreCase))
                // the CLI's own (NuGetInteractive, MSBuild*, _*) are not what the user typed
                if (!k.StartsWith('_') && !k.StartsWith("MSBuild", StringComparison.OrdinalIgnoreCase) && k != "NuGetInteractive")
                    words.Add(IO.ShellQuote.Literal($"-p:{k}={v}"));
        return string.Join(' ', words);
    }

    /// <summary>The repository's commit (with -dirty when files are modified); null outside git or without git.</summary>
    public static string? GitCommit(string? folder)
    {
        if (string.IsNullOrEmpty(folder) || !Directory.Exists(folder)) return null;
        var runner = ProcessRunner.Instance;
        var head = runner.Run("git", ["-C", folder, "rev-parse", "HEAD"], TimeSpan.FromSeconds(5));
        if (!head.Succeeded) return null;
        var dirty = runner.Run("git", ["-C", folder, "status", "--porcelain", "--untracked-files=no"], TimeSpan.FromSeconds(10));
        return head.Stdout.Trim() + (dirty.Succeeded && dirty.Stdout.Trim().Length > 0 ? "-dirty" : "");
    }
}
