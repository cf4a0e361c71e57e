using Microsoft.Build.Framework;
using SpineProd.Diagnostics;
using SpineProd.Planning;
using SpineProd.Scheduler;
using SpineProd.Submission;

namespace SpineProd.Tasks;

/// <summary>
/// Preview: prints the plan Build wrote and exactly what the next Submit would send. Before the
/// first Submit that is the whole plan, with no scheduler call; afterwards it is the Submitter's own
/// selection, from the ledger and one batched scheduler query. Never submits, cancels or writes.
/// </summary>
public sealed class PreviewPlan : SpineProdTask
{
    [Required] public string PlanFile { get; set; } = "";
    [Required] public string ProjectFile { get; set; } = "";
    public string? Resubmit { get; set; }

    public override bool Execute() => Log.Run(ProjectFile, () =>
    {
        if (!File.Exists(PlanFile))
            throw new SpineProdException("SPN1401", $"No plan at '{PlanFile}': run the Build target first.", ProjectFile);
        var plan = ProductionPlan.Load(PlanFile);
        var planDir = Path.GetDirectoryName(PlanFile)!;
        var mode = SubmitContext.ParseResubmit(Resubmit, ProjectFile);
        var ledger = Ledger.Load(plan.StateDir, plan.ProductionName, plan.Owner);
        if (!ledger.Submissions.Any(s => s.Stages.Any(st => st.Arrays.Any(a => a.JobId is not null || a.State == ArraySubmissionState.Submitting))))
        {
            Report(PlanPrinter.Format(plan, planDir));
            Report($"Next Submit: the first, every task above ({plan.Stages.Sum(s => s.TaskCount)} task(s) in {plan.Stages.Sum(s => s.Arrays.Count)} array(s)). Nothing was submitted.");
            return;
        }
        Report(PlanPrinter.Format(plan, planDir, includeFirstScript: false, includeArrays: false));
        if (mode == ResubmitMode.None)
        {
            Report("Next Submit: refused (SPN3012): the production was submitted before and Resubmit=none.");
            return;
        }
        ProductionState state;
        try
        {
            state = ProductionState.Resolve(plan, planDir, ledger, Schedulers.Factory(new SchedulerSettings { StateDir = plan.StateDir }, ProjectFile));
        }
        catch (SpineProdException e) when (e.Code is "SPN3009" or "SPN3014")
        {
            Log.LogWarning(null, "SPN1064", null, ProjectFile, 0, 0, 0, 0,
                "Preview cannot say what the next Submit sends: the scheduler did not answer where the submitted tasks stand ({0}: {1}).", e.Code, e.Message);
            return;
        }
        int interrupted = ledger.AllArrays().Count(x => x.Array.State == ArraySubmissionState.Submitting);
        Report(NextSubmitPrinter.Format(SubmitSelection.Choose(plan, state, mode), interrupted));
    });
}
