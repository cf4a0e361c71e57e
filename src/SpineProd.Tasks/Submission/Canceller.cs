using SpineProd.Scheduler;

namespace SpineProd.Submission;

/// <summary>
/// Cancel: every array of the production that still has pending or running tasks, in one scancel
/// per scheduler. Reads only the ledger and the scheduler, not the plan, so a production that no
/// longer builds (mid-edit) can still be cancelled.
/// </summary>
public static class Canceller
{
    public sealed record CancelOutcome(int Pending, int Running, IReadOnlyList<string> JobIds);

    public static CancelOutcome Cancel(string stateDir, string production, Func<string, IScheduler> schedulers, Action<string> log, TimeSpan lockWait)
    {
        using var _ = SubmitLock.Acquire(stateDir, lockWait);
        var ledger = Ledger.Load(stateDir, production);
        // An array whose sbatch went unanswered may be queued: find it, so it is cancelled too.
        Submitter.ReconcileInterrupted(ledger, stateDir, schedulers, log);
        int pending = 0, running = 0;
        var cancelled = new List<string>();
        foreach (var group in ledger.AllArrays().Where(x => x.Array.JobId is not null).GroupBy(x => x.Submission.Scheduler))
        {
            var scheduler = schedulers(group.Key);
            // The production's pending cleanup jobs go too: they would only wait forever.
            var ids = group.Select(x => x.Array.JobId!)
                .Concat(ProductionState.LatestCleanups(ledger).Where(c => c.Submission.Scheduler == group.Key).Select(c => c.Cleanup.JobId!))
                .Distinct().ToList();
            var snap = scheduler.Query(ids, group.Min(x => x.Submission.Time));
            var live = snap.Tasks.Values.Where(t => t.IsLive).ToList();
            if (live.Count == 0) continue;
            pending += live.Count(t => t.Kind == TaskStateKind.Pending);
            running += live.Count(t => t.Kind == TaskStateKind.Running);
            var liveIds = live.Select(t => t.ArrayJobId).Distinct().ToList();
            scheduler.Cancel(liveIds);
            cancelled.AddRange(liveIds);
        }
        log(cancelled.Count == 0
            ? $"{production}: nothing to cancel, no task is pending or running."
            : $"{production}: cancelled {pending} pending and {running} running task(s) (jobs {string.Join(", ", cancelled)}).");
        return new CancelOutcome(pending, running, cancelled);
    }
}
