using Microsoft.Build.Framework;
using SpineProd.Audit;
using SpineProd.Diagnostics;
using SpineProd.Scheduler;
using SpineProd.Submission;

namespace SpineProd.Tasks;

/// <summary>-t:Submit: submits the built plan (or what is missing of it) to the production's scheduler.</summary>
public sealed class SubmitProduction : SpineProdTask, ICancelableTask
{
    private volatile BuildInterruption? _interruption;

    [Required] public string PlanFile { get; set; } = "";
    [Required] public string ProjectFile { get; set; } = "";
    public string? Resubmit { get; set; }
    public string? SdkVersion { get; set; }
    public string? RepositoryRoot { get; set; }
    public string? LocalParallelism { get; set; }
    public string? SubmitRetries { get; set; }

    [Output] public string[] JobIds { get; private set; } = [];

    /// <summary>MSBuild's cancel (Ctrl-C on the build): Submit stops after the array in flight.</summary>
    public void Cancel() => _interruption?.Cancel("Submit was cancelled (Ctrl-C)");

    public override bool Execute()
    {
        using var interruption = _interruption = new BuildInterruption();
        try { return Submit(interruption); }
        finally { _interruption = null; }
    }

    private bool Submit(BuildInterruption interruption) => Log.Run(ProjectFile, () =>
    {
        var options = new Options.RunOptions(ProjectFile, CheckOptions.GlobalProperties(BuildEngine), Planning.ProductionFile.Load(ProjectFile));
        int retries = options.Count("SubmitRetries", SubmitRetries, 5), parallelism = options.Count("LocalParallelism", LocalParallelism, 0);
        var plan = ClusterTaskSupport.LoadPlan(PlanFile, ProjectFile);
        var planDir = Path.GetDirectoryName(Path.GetFullPath(PlanFile))!;
        var context = new SubmitContext
        {
            SdkVersion = SdkVersion ?? "",
            GitCommit = ClusterTaskSupport.GitCommit(RepositoryRoot),
            Command = ClusterTaskSupport.CommandLine(BuildEngine, ProjectFile, "Submit"),
            Resubmit = SubmitContext.ParseResubmit(Resubmit, ProjectFile),
            // A build process killed mid-Submit takes its logger with it: logging must never stop the
            // Submit between an sbatch and its ledger entry.
            Log = (level, message) => Quietly(() => ClusterTaskSupport.Log(Log, level, message, UnderTerminalLogger)),
            Warn = (code, message) => Quietly(() => Log.LogWarning(null, code, null, ProjectFile, 0, 0, 0, 0, "{0}", message)),
            Cancellation = interruption.Token,
            CancellationReason = () => interruption.Reason,
        };
        var schedulers = Schedulers.Factory(new SchedulerSettings
        {
            StateDir = plan.StateDir,
            Log = m => Quietly(() => Report(m)),
            MaxAttempts = retries + 1,
            LocalParallelism = parallelism,
            Stop = interruption.Token,
            StopReason = () => interruption.Reason,
        }, ProjectFile);
        // The audit record (kept in this build's binlog) says what reached the cluster, also when
        // the Submit stops part way: it is built from the ledger, which records every job id.
        var before = Ledger.Load(plan.StateDir, plan.ProductionName, plan.Owner);
        var buildId = Guid.NewGuid().ToString("N");
        SubmitOutcome outcome;
        try
        {
            outcome = new Submitter(schedulers, context).Submit(plan, planDir);
        }
        catch (Exception e) when (e is SpineProdException or IOException)
        {
            AuditRecords.ForSubmit(plan, before, Ledger.Load(plan.StateDir, plan.ProductionName, plan.Owner), context.GitCommit, e, buildId)?.Record(Log);
            throw;
        }
        AuditRecords.ForSubmit(plan, before, Ledger.Load(plan.StateDir, plan.ProductionName, plan.Owner), context.GitCommit, null, buildId)?.Record(Log);
        JobIds = outcome.Arrays.Select(a => a.JobId).ToArray();
        if (outcome.Arrays.Count > 0)
            Report($"{plan.ProductionName}: submitted {outcome.TasksSubmitted} task(s) in {outcome.Arrays.Count} array(s): jobs {string.Join(", ", JobIds)}. See where they stand with -t:Status.");
    });

    private static void Quietly(Action log)
    {
        try { log(); }
        catch (Exception e) when (e is InvalidOperationException or IOException) { }
    }
}
