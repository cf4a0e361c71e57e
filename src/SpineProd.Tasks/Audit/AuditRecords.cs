using SpineProd.Planning;
using SpineProd.Submission;

namespace SpineProd.Audit;

/// <summary>Builds the audit records of Submit and Cancel from what they recorded (the ledger).</summary>
public static class AuditRecords
{
    /// <summary>
    /// The record of a Submit: the submission it added to the ledger (also after a failure part
    /// way, so arrays already accepted are on record). Null when nothing was submitted or tried.
    /// </summary>
    public static AuditRecord? ForSubmit(ProductionPlan plan, Ledger before, Ledger after, string? gitCommit, Exception? error, string? buildId = null)
    {
        var known = before.Submissions.Select(s => s.Id).ToHashSet(StringComparer.Ordinal);
        var added = after.Submissions.Where(s => !known.Contains(s.Id)).ToList();
        if (added.Count == 0 && error is null) return null;
        var record = new AuditRecord
        {
            Action = before.Submissions.Count == 0 ? "Submit" : "Resubmit",
            BuildId = buildId,
            SubmissionIds = added.Select(s => s.Id).ToList(),
            Production = plan.ProductionName,
            StateDir = plan.StateDir,
            GitCommit = gitCommit,
            Succeeded = error is null,
            Error = error?.Message,
        };
        foreach (var stage in plan.Stages)
        {
            var arrays = added.SelectMany(s => s.Stages).Where(s => s.Stage == stage.Name).SelectMany(s => s.Arrays).ToList();
            record.Stages.Add(new AuditStage
            {
                Stage = stage.Name,
                Config = stage.Config,
                ConfigPath = stage.ConfigArgument,
                ConfigSha256 = stage.ConfigSha256,
                Profile = stage.Profile,
                ResolvedProfile = stage.ResolvedProfile,
                Arrays = arrays.Count(a => a.JobId is not null),
                Tasks = arrays.Where(a => a.JobId is not null).Sum(a => Scheduler.ArraySpec.TryParse(a.ArraySpec, out var spec) ? spec.Indices.Count : 0),
                JobIds = arrays.Where(a => a.JobId is not null).Select(a => a.JobId!).ToList(),
            });
            record.Commands.AddRange(arrays.Where(a => a.Argv.Count > 0).Select(a => new AuditCommand { Argv = a.Argv, JobId = a.JobId, ExitCode = a.JobId is null ? 1 : 0 }));
        }
        return record;
    }

    /// <summary>
    /// The record of a Cancel that cancelled something (or failed trying). <paramref name="commands"/>:
    /// the cancel commands, each its scheduler's (<c>scancel ...</c>, <c>qdel ...</c>).
    /// </summary>
    public static AuditRecord? ForCancel(string stateDir, string production, IReadOnlyList<string> cancelledJobIds, Exception? error, string? buildId = null, string? phase = null,
        IReadOnlyList<IReadOnlyList<string>>? commands = null)
    {
        if (cancelledJobIds.Count == 0 && error is null) return null;
        var record = new AuditRecord
        {
            Action = "Cancel",
            BuildId = buildId,
            Phase = phase,
            Production = production,
            StateDir = stateDir,
            Succeeded = error is null,
            Error = error?.Message,
            Stages = [new AuditStage { Stage = "*", JobIds = cancelledJobIds.ToList() }],
        };
        foreach (var argv in commands ?? [])
            record.Commands.Add(new AuditCommand { Argv = argv.ToList() });
        return record;
    }
}
