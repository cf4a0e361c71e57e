using Microsoft.Build.Framework;
using SpineProd.Diagnostics;
using SpineProd.Scheduler;
using SpineProd.Submission;

namespace SpineProd.Tasks;

/// <summary>-t:Status: the table of where every task stands; writes status.json. With Wait, polls until nothing is pending or running.</summary>
public sealed class ProductionStatus : SpineProdTask
{
    [Required] public string PlanFile { get; set; } = "";
    [Required] public string ProjectFile { get; set; } = "";
    public bool Wait { get; set; }
    /// <summary>Seconds Wait may take at most (default 24 h).</summary>
    public string? WaitTimeout { get; set; }
    /// <summary>Seconds between polls: the first interval; it grows to 5 minutes at most.</summary>
    public string? PollInterval { get; set; }
    public bool FailOnProblems { get; set; }

    [Output] public bool Complete { get; private set; }
    [Output] public bool Finished { get; private set; }

    public override bool Execute() => Log.Run(ProjectFile, () =>
    {
        var plan = ClusterTaskSupport.LoadPlan(PlanFile, ProjectFile);
        var planDir = Path.GetDirectoryName(Path.GetFullPath(PlanFile))!;
        var schedulers = Schedulers.Factory(plan.StateDir, null, 0, null, ProjectFile);
        StatusReport report;
        if (Wait)
        {
            var poller = new StatusPoller(SystemClock.Instance,
                TimeSpan.FromSeconds(ClusterTaskSupport.ParseInt(PollInterval, 30)), TimeSpan.FromMinutes(5),
                TimeSpan.FromSeconds(ClusterTaskSupport.ParseInt(WaitTimeout, 86400)));
            report = poller.WaitUntilFinished(() => StatusReport.Create(plan, planDir, schedulers),
                r => Report($"{plan.ProductionName}: waiting, poll {poller.Polls} at {DateTime.Now:HH:mm:ss}: {r.Totals.Completed} of {r.Totals.Total} task(s) done, " +
                            $"{r.Totals.Pending} pending, {r.Totals.Running} running, {r.Totals.Failed + r.Totals.Timeout + r.Totals.OutOfMemory} failed"));
        }
        else report = StatusReport.Create(plan, planDir, schedulers);
        report.Write();
        foreach (var line in report.Render()) Report(line);
        Log.LogMessage(MessageImportance.Normal, "status written to {0}", StatusReport.StatusFile(plan));
        Complete = report.IsComplete;
        Finished = report.IsFinished;
        if (FailOnProblems && report.Problems.Count > 0)
            throw new SpineProdException("SPN3017", $"{report.Problems.Count} task(s) of {plan.ProductionName} did not succeed (see the table above and {StatusReport.StatusFile(plan)})", ProjectFile);
        if (Wait && !report.IsFinished)
            throw new SpineProdException("SPN3018", $"{plan.ProductionName} still has pending or running tasks after waiting {WaitTimeout ?? "86400"} s", ProjectFile);
    });
}
