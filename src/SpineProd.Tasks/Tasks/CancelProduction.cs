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
    /// <summary>From ResolveProductionState: the identity key, the path it hashes, whether the state folder accepts an unowned ledger.</summary>
    public string? Identity { get; set; }
    public string? IdentityPath { get; set; }
    public bool StateDirAcceptsUnownedLedger { get; set; }

    [Output] public string[] CancelledJobIds { get; private set; } = [];

    public override bool Execute() => Log.Run(ProjectFile, () =>
    {
        var stateDir = Path.GetFullPath(StateDir, Path.GetDirectoryName(Path.GetFullPath(ProjectFile))!);
        var schedulers = Schedulers.Factory(new SchedulerSettings { StateDir = stateDir }, ProjectFile);
        var owner = string.IsNullOrEmpty(Identity) ? null
            : new ProductionIdentity(ProductionName, Identity, Path.GetFullPath(ProjectFile), IdentityPath ?? "") { AcceptsUnownedLedger = StateDirAcceptsUnownedLedger };
        Canceller.CancelOutcome outcome;
        var buildId = Guid.NewGuid().ToString("N");
        // Written before the cancel command: a Cancel killed while cancelling still shows in History.
        void Started(IReadOnlyList<string> argv) => AuditRecords.ForCancel(stateDir, ProductionName, argv.Skip(1).ToList(), null, buildId, AuditRecord.Started, [argv])?.Record(Log);
        try
        {
            outcome = Canceller.Cancel(stateDir, ProductionName, owner, schedulers, m => Report(m), TimeSpan.FromSeconds(10), Started);
        }
        catch (SpineProdException e)
        {
            AuditRecords.ForCancel(stateDir, ProductionName, [], e, buildId)?.Record(Log);
            throw;
        }
        AuditRecords.ForCancel(stateDir, ProductionName, outcome.JobIds, null, buildId, commands: outcome.Commands)?.Record(Log);
        CancelledJobIds = outcome.JobIds.ToArray();
    });
}
