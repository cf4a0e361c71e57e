using SpineProd.Scheduler;
using SpineProd.Submission;

namespace SpineProd.Audit;

/// <summary>
/// History's sources, merged: the audit journal (<see cref="AuditLog"/>) and the ledger are the truth,
/// the binlogs a detail. Every build that changed the cluster is a row: one with an audit record; a
/// Cancel that was killed while cancelling (its "started" record); a Submit that was killed before it
/// could write its record, from the submission it left in the ledger; and builds of SpineProd versions
/// that kept audit records only in binlogs.
/// </summary>
public static class AuditTrail
{
    public const string Interrupted = "interrupted: the build stopped before it finished";

    public static (List<HistoryRow> Rows, List<(string File, string Problem)> Skipped) Read(string stateDir, Ledger ledger)
    {
        var (journal, skipped) = AuditLog.Read(stateDir);
        var rows = new List<HistoryRow>();
        // The last record of each build: a "started" one alone means the build never finished.
        foreach (var g in journal.GroupBy(r => r.BuildId ?? Guid.NewGuid().ToString("N")))
        {
            var last = g.Last();
            if (last.Phase == AuditRecord.Started) { last.Succeeded = false; last.Error ??= Interrupted; }
            rows.Add(new HistoryRow(null, last));
        }

        var (binlogRows, binlogSkipped) = BinlogArchive.History(stateDir);
        skipped.AddRange(binlogSkipped);
        foreach (var b in binlogRows)
        {
            int i = b.Record.BuildId is null ? -1 : rows.FindIndex(r => r.Record.BuildId == b.Record.BuildId);
            if (i >= 0) rows[i] = rows[i] with { Binlog = b.Binlog };
            else rows.Add(b);   // kept only in its binlog (an earlier SpineProd)
        }

        for (int n = 0; n < ledger.Submissions.Count; n++)
        {
            var s = ledger.Submissions[n];
            var ids = s.Stages.SelectMany(st => st.Arrays).Select(a => a.JobId).Concat(s.Cleanups.Select(c => c.JobId)).OfType<string>().ToHashSet();
            bool reached = ids.Count > 0 || s.Stages.Any(st => st.Arrays.Any(a => a.State == ArraySubmissionState.Submitting));
            if (!reached || rows.Any(r => Covers(r.Record, s, ids))) continue;
            rows.Add(new HistoryRow(null, FromLedger(stateDir, ledger, s, n == 0 ? "Submit" : "Resubmit")));
        }
        rows.Sort((a, b) => b.Record.Time.CompareTo(a.Record.Time));
        return (rows, skipped);
    }

    /// <summary>Whether an audit record is the one of this submission (by id; for older records, by the job ids it names).</summary>
    private static bool Covers(AuditRecord r, SubmissionRecord s, HashSet<string> ids) =>
        r.SubmissionIds.Contains(s.Id)
        || (r.SubmissionIds.Count == 0 && r.Action is "Submit" or "Resubmit" && r.Stages.SelectMany(st => st.JobIds).Any(ids.Contains));

    /// <summary>The row of a Submit killed before it wrote its audit record: what the ledger says it sent.</summary>
    private static AuditRecord FromLedger(string stateDir, Ledger ledger, SubmissionRecord s, string action)
    {
        var record = new AuditRecord
        {
            Action = action, Time = s.Time, User = s.User, Host = s.Host, Production = ledger.Production, StateDir = stateDir,
            SdkVersion = "", Succeeded = false, Error = Interrupted + " (from the ledger; no audit record)", SubmissionIds = [s.Id],
        };
        foreach (var st in s.Stages)
        {
            var sent = st.Arrays.Where(a => a.JobId is not null).ToList();
            record.Stages.Add(new AuditStage
            {
                Stage = st.Stage,
                Config = JobMetadata.ReadString(st.JobFolder, "original_config") ?? "",
                ConfigPath = JobMetadata.ReadString(st.JobFolder, "config"),
                ConfigSha256 = JobMetadata.ReadString(st.JobFolder, "config_sha256"),
                Profile = JobMetadata.ReadString(st.JobFolder, "profile") ?? "",
                ResolvedProfile = JobMetadata.ReadString(st.JobFolder, "resolved_profile"),
                Arrays = sent.Count,
                Tasks = sent.Sum(a => ArraySpec.TryParse(a.ArraySpec, out var spec) ? spec.Indices.Count : 0),
                JobIds = sent.Select(a => a.JobId!).ToList(),
            });
            record.Commands.AddRange(st.Arrays.Where(a => a.Argv.Count > 0).Select(a => new AuditCommand { Argv = a.Argv, JobId = a.JobId, ExitCode = a.JobId is null ? 1 : 0 }));
        }
        record.Commands.AddRange(s.Cleanups.Where(c => c.Argv.Count > 0).Select(c => new AuditCommand { Argv = c.Argv, JobId = c.JobId, ExitCode = c.JobId is null ? 1 : 0 }));
        return record;
    }
}
