using Microsoft.Build.Framework;
using SpineProd.Audit;
using SpineProd.Diagnostics;
using SpineProd.Scheduler;
using SpineProd.Submission;

namespace SpineProd.Tasks;

/// <summary>-t:Cancel: cancels the production's pending and running jobs (needs only its state folder, not a plan).</summary>
public sealed class CancelProduction : SpineProdTask
{
    [Required] public string StateDir { get; set; } = "";
    [Required] public string ProductionName { get; set; } = "";
    [Required] public string ProjectFile { get; set; } = "";

    [Output] public string[] CancelledJobIds { get; private set; } = [];

    public override bool Execute() => Log.Run(ProjectFile, () =>
    {
        var stateDir = Path.GetFullPath(StateDir, Path.GetDirectoryName(Path.GetFullPath(ProjectFile))!);
        var schedulers = Schedulers.Factory(stateDir, null, 0, null, ProjectFile);
        Canceller.CancelOutcome outcome;
        try
        {
            outcome = Canceller.Cancel(stateDir, ProductionName, schedulers, m => Report(m), TimeSpan.FromSeconds(10));
        }
        catch (SpineProdException e)
        {
            AuditRecords.ForCancel(stateDir, ProductionName, [], e)?.Log(Log);
            throw;
        }
        AuditRecords.ForCancel(stateDir, ProductionName, outcome.JobIds, null)?.Log(Log);
        CancelledJobIds = outcome.JobIds.ToArray();
    });
}
