using SpineProd.Audit;
using SpineProd.Submission;
using SpineProd.Tests.Infrastructure;
using Xunit;

namespace SpineProd.Tests.Identity;

/// <summary>History from the audit journal and the ledger: every build that changed the cluster, also killed ones.</summary>
public sealed class AuditTrailTests
{
    private static Ledger LedgerWith(params (string Id, string[] JobIds)[] submissions)
    {
        var ledger = new Ledger { Production = "p" };
        foreach (var (id, jobs) in submissions)
            ledger.Submissions.Add(new SubmissionRecord
            {
                Id = id, Time = DateTimeOffset.Parse("2026-11-29T08:00:00Z").AddMinutes(ledger.Submissions.Count), User = "u", Host = "h",
                Stages = { new StageSubmission { Stage = "s", JobFolder = "/nowhere", Arrays = jobs.Select((j, i) => new ArraySubmission
                    { Array = i, JobName = "n", JobId = j, State = ArraySubmissionState.Submitted, ArraySpec = "0-1", Argv = ["sbatch", "x"] }).ToList() } },
            });
        return ledger;
    }

    [Fact]
    public void A_submit_killed_before_its_audit_record_is_in_history_from_the_ledger()
    {
        var dir = Repo.Scratch("trail");
        var ledger = LedgerWith(("1", ["10", "11"]), ("2", ["12", "13", "14"]));
        AuditLog.Append(dir, new AuditRecord { Action = "Submit", BuildId = "b1", SubmissionIds = ["1"], StateDir = dir, Succeeded = true, Time = ledger.Submissions[0].Time,
            Stages = { new AuditStage { Stage = "s", JobIds = ["10", "11"] } } });

        var (rows, skipped) = AuditTrail.Read(dir, ledger);

        Assert.Empty(skipped);
        Assert.Equal(["Resubmit", "Submit"], rows.Select(r => r.Record.Action));
        Assert.Equal(["12", "13", "14"], rows[0].Record.Stages.Single().JobIds);
        Assert.False(rows[0].Record.Succeeded);
        Assert.StartsWith(AuditTrail.Interrupted, rows[0].Record.Error);
        Assert.True(rows[1].Record.Succeeded);
    }

    [Fact]
    public void A_cancel_killed_while_cancelling_shows_as_interrupted_and_a_line_cut_short_is_skipped()
    {
        var dir = Repo.Scratch("trail");
        AuditLog.Append(dir, new AuditRecord { Action = "Cancel", BuildId = "c1", Phase = AuditRecord.Started, StateDir = dir, Stages = { new AuditStage { Stage = "*", JobIds = ["10"] } } });
        AuditLog.Append(dir, new AuditRecord { Action = "Cancel", BuildId = "c2", Phase = AuditRecord.Started, StateDir = dir, Stages = { new AuditStage { Stage = "*", JobIds = ["11"] } } });
        AuditLog.Append(dir, new AuditRecord { Action = "Cancel", BuildId = "c2", StateDir = dir, Succeeded = true, Stages = { new AuditStage { Stage = "*", JobIds = ["11"] } } });
        File.AppendAllText(AuditLog.PathIn(dir), "{\"format\":1,\"action\":\"Subm");        // a kill in the middle of a write

        var (rows, skipped) = AuditTrail.Read(dir, new Ledger());

        Assert.Equal(2, rows.Count);
        var killed = rows.Single(r => r.Record.BuildId == "c1").Record;
        Assert.False(killed.Succeeded);
        Assert.Equal(AuditTrail.Interrupted, killed.Error);
        Assert.True(rows.Single(r => r.Record.BuildId == "c2").Record.Succeeded);
        Assert.Contains("line 4", Assert.Single(skipped).Problem);
    }
}
