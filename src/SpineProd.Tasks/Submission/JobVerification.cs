using SpineProd.Scheduler;

namespace SpineProd.Submission;

/// <summary>A job id of the ledger that the scheduler reports as some other job: left alone, never counted.</summary>
public sealed record ForeignJob(string JobId, string ExpectedName, string ExpectedComment, string? Name, string? Comment, string Why, bool Live = false);

/// <summary>
/// Trusts no job id of the ledger before the scheduler has confirmed it: the job it reports under
/// that id must have the name and <c>--comment</c> the ledger recorded for it, and that comment must
/// carry this production's identity (<c>spineprod:&lt;key&gt;:</c>). A ledger restored from a backup,
/// copied from elsewhere, or meeting an id the cluster reused therefore never makes Status count,
/// or Cancel and Submit <c>scancel</c>, an unrelated job. The check rides on the one batched query
/// (squeue <c>%j %k</c>, sacct <c>JobName,Comment</c>), never a call per job.
/// </summary>
public static class JobVerification
{
    public sealed record Expected(string Name, string Comment);

    /// <summary>
    /// One batched query per scheduler for the ledger's arrays and latest cleanup jobs, keeping only
    /// the rows the scheduler confirms. <paramref name="strict"/> (for cancelling): the name and the
    /// comment must both be reported and equal; otherwise (for status) what is reported must be equal
    /// (sacct without AccountingStoreFlags=job_comment reports no comments).
    /// </summary>
    public static (SchedulerSnapshot Verified, List<ForeignJob> Foreign) Query(Ledger ledger, ProductionIdentity? owner,
        Func<string, IScheduler> schedulers, bool strict, Func<string, bool>? settled = null)
    {
        var verified = new SchedulerSnapshot();
        var foreign = new List<ForeignJob>();
        var jobs = new List<(string Scheduler, string JobId, Expected Expected, int Tasks, DateTimeOffset Since)>();
        // A settled job (every task final, its rows kept by an earlier Status) is not asked again.
        foreach (var (sub, _, arr) in ledger.AllArrays().Where(x => x.Array.JobId is not null && settled?.Invoke(x.Array.JobId) != true))
            jobs.Add((sub.Scheduler, arr.JobId!, new Expected(arr.JobName, arr.Comment),
                ArraySpec.TryParse(arr.ArraySpec, out var spec) ? spec.Indices.Count : 1, sub.Time));
        foreach (var (sub, c) in ProductionState.LatestCleanups(ledger))
            jobs.Add((sub.Scheduler, c.JobId!, new Expected(c.JobName, CleanupComment(ledger, sub, c)), 1, sub.Time));

        foreach (var group in jobs.GroupBy(j => j.Scheduler))
        {
            var expected = new Dictionary<string, Expected>();
            var ask = new List<string>();
            foreach (var j in group)
            {
                if (expected.TryGetValue(j.JobId, out var other) && other != j.Expected)
                {
                    // One id recorded for two different jobs: the ledger was pieced together; trust neither.
                    foreign.Add(new ForeignJob(j.JobId, j.Expected.Name, j.Expected.Comment, null, null, "the ledger records this id for two different jobs"));
                    continue;
                }
                if (owner is not null && !CarriesIdentity(j.Expected.Comment, owner))
                {
                    foreign.Add(new ForeignJob(j.JobId, j.Expected.Name, j.Expected.Comment, null, null, $"its recorded comment does not name this production ({owner.CommentPrefix}...)"));
                    continue;
                }
                expected[j.JobId] = j.Expected;
                ask.Add(j.JobId);
            }
            ask = ask.Distinct().Where(id => !foreign.Any(f => f.JobId == id)).ToList();
            if (ask.Count == 0) continue;
            var counts = group.GroupBy(j => j.JobId).ToDictionary(g => g.Key, g => g.Max(j => j.Tasks));
            var snap = schedulers(group.Key).Query(ask, group.Min(j => j.Since), counts);
            var rejected = new HashSet<string>();
            var drop = new List<(string, int)>();
            foreach (var (key, row) in snap.Tasks)
            {
                if (!expected.TryGetValue(key.JobId, out var want)) { drop.Add(key); continue; }
                var why = Mismatch(row, want, strict);
                if (why is null) continue;
                if (rejected.Add(key.JobId))
                    foreign.Add(new ForeignJob(key.JobId, want.Name, want.Comment, row.Name, row.Comment, why, row.IsLive));
            }
            // One foreign row makes the whole id suspect (an array job has one name and comment).
            if (rejected.Count > 0) drop.AddRange(snap.Tasks.Keys.Where(k => rejected.Contains(k.JobId)));
            foreach (var key in drop) snap.Tasks.Remove(key);
            // What is left is verified: the first scheduler's answer is kept as it is (a million rows are not copied).
            if (verified.Tasks.Count == 0 && verified.Sources.Count == 0) { verified = snap; continue; }
            verified.Sources.AddRange(snap.Sources);
            foreach (var (key, row) in snap.Tasks) verified.Tasks[key] = row;
        }
        return (verified, foreign);
    }

    /// <summary>Null when the row is the job the ledger recorded; else why not.</summary>
    public static string? Mismatch(SchedulerTask row, Expected want, bool strict)
    {
        bool nameKnown = row.Name is not null, commentKnown = !string.IsNullOrEmpty(row.Comment);
        if (nameKnown && row.Name != want.Name) return $"the scheduler's job {row.ArrayJobId} is named '{row.Name}', not '{want.Name}'";
        if (commentKnown && row.Comment != want.Comment) return $"the scheduler's job {row.ArrayJobId} has comment '{row.Comment}', not '{want.Comment}'";
        if (strict && !(nameKnown && commentKnown)) return $"the scheduler did not report the name and comment of job {row.ArrayJobId}, so it cannot be shown to be this production's";
        return null;
    }

    /// <summary>The comment names this production: its identity key, or (in a first-version folder proved ours) its bare name.</summary>
    public static bool CarriesIdentity(string comment, ProductionIdentity owner) =>
        comment.StartsWith(owner.CommentPrefix, StringComparison.Ordinal)
        || (owner.AcceptsUnownedLedger && comment.StartsWith(owner.LegacyCommentPrefix, StringComparison.Ordinal));

    /// <summary>A cleanup job's comment: recorded, or (first-version ledgers) as that version made it.</summary>
    public static string CleanupComment(Ledger ledger, SubmissionRecord sub, CleanupSubmission c) =>
        c.Comment ?? $"spineprod:{ledger.Production}:{c.Stage}:cleanup:{sub.Id}";
}
