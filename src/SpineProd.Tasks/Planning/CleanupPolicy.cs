using SpineProd.IO;
using SpineProd.Profiles;

namespace SpineProd.Planning;

/// <summary>
/// The cleanup policy: a stage's Cleanup paths are removed by a small job that waits (afterok) on
/// every stage downstream of it. A Cleanup path must be the stage's own output folder (compared as
/// real paths, so a checkout reached through a symbolic link works), and is refused when another
/// stage also writes there (SPN4013), when it is or holds the production's bookkeeping (SPN4014), or
/// when it exists and this production did not create it (SPN4015). The job checks all of it again.
/// </summary>
internal sealed class CleanupPolicy
{
    private readonly PlanRequest _request;
    private readonly PlanProblems _problems;

    public CleanupPolicy(PlanRequest request, PlanProblems problems)
    {
        _request = request;
        _problems = problems;
    }

    /// <summary>Sets <see cref="StagePlan.Cleanup"/> of every stage that asks for one and may have it.</summary>
    public void Plan(IReadOnlyList<PlannedStage> stages, ProfileCatalog catalog, Sites.SiteDefinition site)
    {
        var plans = stages.Select(s => s.Plan).ToList();
        foreach (var stage in stages)
        {
            var raw = StageSettings.SplitList(stage.Request.Metadata.GetValueOrDefault("Cleanup"));
            if (raw.Count == 0) continue;
            int line = stage.Request.LineOf("Cleanup");
            var paths = new List<string>();
            foreach (var p in raw)
            {
                string full = Path.TrimEndingDirectorySeparator(Path.GetFullPath(p, _request.StateDir));
                if (Refusal(p, full, stage.Plan, plans) is { } r)
                    _problems.Error(r.Code, $"Cleanup path '{p}' of stage '{stage.Plan.Name}' is refused: {r.Why}.", stage.Request.File, line);
                else
                    paths.Add(full);
            }
            var downstream = StageOrder.Downstream(stage.Plan.Name, plans);
            if (downstream.Count == 0)
            {
                _problems.Warn("SPN4007", $"Stage '{stage.Plan.Name}' has Cleanup paths but no stage depends on it, so nothing would tell when its files are no longer needed; no cleanup job is planned.", stage.Request.File, line);
                continue;
            }
            // The partition: a Partition property or -p: (a site's choice for everything) wins; else
            // the site's cleanup_profile (defaults.cleanup_profile when it is this site's); else the
            // stage's own. The account is the stage's (spine-prod hard-coded one, at every site).
            var cleanupProfile = Sites.SiteSelection.CleanupProfile(catalog, site);
            var partition = new StageSettings(_request, null)["Partition"];
            stage.Plan.Cleanup = new CleanupPlan
            {
                JobName = $"cleanup_{stage.Plan.JobName}",
                Script = Layout.ProductionLayout.Job.CleanupScript(stage.Plan.Name, Scheduler.Schedulers.Dialect(_request.Scheduler)),
                Paths = paths,
                AfterStages = downstream,
                Account = stage.Plan.Resources.Account,
                Partition = partition.IsSet ? partition.Value : cleanupProfile?.Partition ?? stage.Plan.Resources.Partition,
                Qos = cleanupProfile is null ? stage.Plan.Resources.Qos : cleanupProfile.Qos,
                Constraint = cleanupProfile is null ? stage.Plan.Resources.Constraint : cleanupProfile.Constraint,
                System = cleanupProfile?.System ?? stage.Plan.Resources.System,
                Filesystems = cleanupProfile?.Filesystems ?? stage.Plan.Resources.Filesystems,
                Protected = ProductionFolders().Concat(plans.Where(s => s != stage.Plan).Select(s => Path.TrimEndingDirectorySeparator(s.OutputDir))).Distinct().ToList(),
                Bookkeeping = BookkeepingFolders(),
            };
        }
    }

    /// <summary>The production's own folders: its state (markers, ledger), the production, the repository, job folders, the plan.</summary>
    private IEnumerable<string> ProductionFolders() =>
        new[] { _request.StateDir, _request.ProductionDir, _request.RepoRoot, _request.JobsDir, _request.IntermediateDir }
            .Select(Path.TrimEndingDirectorySeparator);

    /// <summary>The production's bookkeeping folders: nothing inside them is ever removed by a cleanup.</summary>
    private List<string> BookkeepingFolders() =>
        new Layout.ProductionLayout(_request.StateDir).Bookkeeping.Append(_request.IntermediateDir)
            .Select(Path.TrimEndingDirectorySeparator).ToList();

    /// <summary>Why a Cleanup path may not be removed (code and reason), or null when it may.</summary>
    public (string Code, string Why)? Refusal(string raw, string full, StagePlan stage, IReadOnlyList<StagePlan> stages)
    {
        if (raw.Replace('\\', '/').Split('/').Contains(".."))
            return ("SPN4008", "it contains '..'");
        string own = stage.OutputDir;
        string real = RealPath.Of(full), realOwn = RealPath.Of(own);
        if (real != realOwn)
            return ("SPN4008", $"it is not the stage's output folder ({own}){(real != full ? $"; it leads through a symbolic link to '{real}'" : "")}. A stage's Cleanup removes only the output folder its own jobs created; put Cleanup on the stage whose output it is");
        foreach (var p in ProductionFolders())
            if (RealPath.IsSameOrAncestor(realOwn, RealPath.Of(p)))
                return ("SPN4014", $"it holds {p}, the production's own files (its state: markers and submissions.json, its plan, or the production itself)");
        foreach (var b in BookkeepingFolders())
            if (RealPath.IsSameOrAncestor(RealPath.Of(b), realOwn))
                return ("SPN4014", $"it is inside {b}, the production's bookkeeping");
        foreach (var other in stages.Where(s => s != stage))
            if (RealPath.IsSameOrAncestor(realOwn, RealPath.Of(other.OutputDir)))
                return ("SPN4013", $"stage '{other.Name}' also writes to {other.OutputDir}, so its outputs would go too; give each stage its own OutputDir");
        var existing = new DirectoryInfo(full);
        if ((existing.Exists || File.Exists(full) || existing.LinkTarget is not null)
            && !(existing.Exists && existing.LinkTarget is null && OwnedFolder.IsOwnedBy(full, OwnedFolder.OwnerLine(_request.ProductionFile))))
            return ("SPN4015", $"{full} exists and this production did not create it (it has no {OwnedFolder.RecordName} naming {_request.ProductionFile}): it existed before, or another production made it. A cleanup removes only folders the production's jobs created; choose an OutputDir that does not exist yet, or remove the folder yourself");
        return null;
    }
}
