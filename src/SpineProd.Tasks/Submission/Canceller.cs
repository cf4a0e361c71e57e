using SpineProd.Scheduler;

namespace SpineProd.Submission;

/// <summary>
/// Cancel: every array of the production that still has pending or running tasks, in one scancel
/// per scheduler. Reads only the ledger and the scheduler, not the plan, so a production that no
/// longer builds (mid-edit) can still be cancelled.
/// </summary>
public static class Canceller
{
    public sealed record CancelOutcome(int Pending, int Running, IReadOnlyList<string> JobIds)
    {
        /// <summary>The cancel commands run, one per scheduler (<c>scancel 12 13</c>, <c>qdel 14[].srv</c>).</summary>
        public List<IReadOnlyList<string>> Commands { get; init; } = new();
    }

    public static CancelOutcome Cancel(string stateDir, string production, ProductionIdentity? owner, Func<string, IScheduler> schedulers, Action<string> log, TimeSpan lockWait,
        Action<IReadOnlyList<string>>? beforeCancelling = null)
    {
        using var _ = SubmitLock.Acquire(stateDir, lockWait);
        var ledger = Ledger.Load(stateDir, production, owner);
        // An array whose sbatch went unanswered may be queued: find it, so it is cancelled too.
        Submitter.ReconcileInterrupted(ledger, stateDir, schedulers, log);
        int pending = 0, running = 0;
        var cancelled = new List<string>();
        var commands = new List<IReadOnlyList<string>>();
        // Only jobs the scheduler confirms by name and comment: a restored or copied ledger, or an
        // id the cluster reused, never cancels an unrelated job.
        var (verified, foreign) = JobVerification.Query(ledger, owner, schedulers, strict: true);
        // (a finished job whose comment the accounting did not keep is no news: only live ones and ledger entries that name another production are)
        foreach (var f in foreign.Where(f => f.Live || (f.Name is null && f.Comment is null)))
            log($"{production}: job {f.JobId} of the ledger was left alone: {f.Why}.");
        foreach (var group in ledger.Submissions.Select(s => s.Scheduler).Distinct())
        {
            var ids = ledger.AllArrays().Where(x => x.Submission.Scheduler == group).Select(x => x.Array.JobId)
                .Concat(ProductionState.LatestCleanups(ledger).Where(c => c.Submission.Scheduler == group).Select(c => c.Cleanup.JobId))
                .OfType<string>().ToHashSet();
            var live = verified.Tasks.Values.Where(t => t.IsLive && ids.Contains(t.ArrayJobId)).ToList();
            if (live.Count == 0) continue;
            pending += live.Count(t => t.Kind == TaskStateKind.Pending);
            running += live.Count(t => t.Kind == TaskStateKind.Running);
            var liveIds = live.Select(t => t.ArrayJobId).Distinct().ToList();
            var scheduler = schedulers(group);
            IReadOnlyList<string> command = [scheduler.Dialect.CancelCommand, .. liveIds];
            beforeCancelling?.Invoke(command);
            scheduler.Cancel(liveIds);
            commands.Add(command);
            cancelled.AddRange(liveIds);
        }
        log(cancelled.Count == 0
            ? $"{production}: nothing to cancel, no task is pending or running."
            : $"{production}: cancelled {pending} pending and {running} running task(s) (jobs {string.Join(", ", cancelled)}).");
        return new CancelOutcome(pending, running, cancelled) { Commands = commands };
    }
}
