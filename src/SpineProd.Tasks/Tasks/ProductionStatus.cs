using Microsoft.Build.Framework;
using SpineProd.Diagnostics;
using SpineProd.Options;
using SpineProd.Scheduler;
using SpineProd.Submission;
using SpineProd.Layout;

namespace SpineProd.Tasks;

/// <summary>
/// -t:Status: the table of where every task stands; writes status.json. With Wait, polls until
/// nothing is pending or running; Ctrl-C stops the waiting within a second (in-proc, as a packed SDK
/// runs it, MSBuild would otherwise wait for the task to end: hours).
/// </summary>
public sealed class ProductionStatus : SpineProdTask, ICancelableTask
{
    private readonly CancellationTokenSource _stop = new();

    public void Cancel() => _stop.Cancel();

    [Required] public string PlanFile { get; set; } = "";
    [Required] public string ProjectFile { get; set; } = "";
    /// <summary>true: poll until nothing is pending or running (strings: a typo is SPN1063, not MSB4030).</summary>
    public string? Wait { get; set; }
    /// <summary>How long Wait may take at most (default 24 h): seconds, 4h, 4:00:00 (<see cref="RunOptions.Duration"/>).</summary>
    public string? WaitTimeout { get; set; }
    /// <summary>Between polls: the first interval (default 30 s); it grows to 5 minutes at most.</summary>
    public string? PollInterval { get; set; }
    public string? FailOnProblems { get; set; }

    [Output] public bool Complete { get; private set; }
    [Output] public bool Finished { get; private set; }

    public override bool Execute() => Log.Run(ProjectFile, () =>
    {
        var options = new RunOptions(ProjectFile, CheckOptions.GlobalProperties(BuildEngine), Planning.ProductionFile.Load(ProjectFile));
        bool wait = options.Flag("Wait", Wait), failOnProblems = options.Flag("FailOnProblems", FailOnProblems);
        var timeout = options.Duration("WaitTimeout", WaitTimeout, TimeSpan.FromHours(24));
        var poll = options.Duration("PollInterval", PollInterval, TimeSpan.FromSeconds(30));
        var plan = ClusterTaskSupport.LoadPlan(PlanFile, ProjectFile);
        var planDir = Path.GetDirectoryName(Path.GetFullPath(PlanFile))!;
        var schedulers = Schedulers.Factory(new SchedulerSettings { StateDir = plan.StateDir }, ProjectFile);
        StatusReport report;
        if (wait)
        {
            var poller = new StatusPoller(SystemClock.Instance, poll, TimeSpan.FromMinutes(5), timeout);
            try
            {
                report = poller.WaitUntilFinished(() => StatusReport.Create(plan, planDir, schedulers),
                    r => Report($"{plan.ProductionName}: waiting, poll {poller.Polls} at {DateTime.Now:HH:mm:ss}: {r.Totals.Completed} of {r.Totals.Total} task(s) done, " +
                                $"{r.Totals.Pending} pending, {r.Totals.Running} running, {r.Totals.Failed + r.Totals.Timeout + r.Totals.OutOfMemory} failed"),
                    _stop.Token);
            }
            catch (OperationCanceledException)
            {
                throw new SpineProdException("SPN3024", $"{plan.ProductionName}: Status stopped waiting (Ctrl-C) after {poller.Polls} poll(s); nothing was changed and the tasks go on running (-t:Status shows them, -t:Cancel stops them)", ProjectFile);
            }
        }
        else report = StatusReport.Create(plan, planDir, schedulers);
        var rendering = System.Diagnostics.Stopwatch.StartNew();
        foreach (var line in report.Render()) Report(line);
        report.State.Timings.Add("table", rendering);
        // A colleague who may only read the production still gets the table: status.json is a copy of it.
        try
        {
            report.Write();
            Log.LogMessage(MessageImportance.Normal, "status written to {0}", ProductionLayout.Of(plan).StatusFile);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or SpineProdException)
        {
            Log.LogWarning(null, "SPN3023", null, ProductionLayout.Of(plan).StatusFile, 0, 0, 0, 0,
                "The status above could not be written to {0} ({1}); nothing else needs writing for Status.", ProductionLayout.Of(plan).StatusFile, e.Message);
        }
        Log.LogMessage(MessageImportance.Low, "SpineProd status timings: {0}", report.State.Timings);
        Complete = report.IsComplete;
        Finished = report.IsFinished;
        if (failOnProblems && report.Problems.Count > 0)
            throw new SpineProdException("SPN3017", $"{report.Problems.Count} task(s) of {plan.ProductionName} did not succeed (see the table above and {ProductionLayout.Of(plan).StatusFile})", ProjectFile);
        if (wait && !report.IsFinished)
            throw new SpineProdException("SPN3018", $"{plan.ProductionName} still has pending or running tasks after waiting {timeout} (WaitTimeout)", ProjectFile);
    });
}
