using SpineProd.Audit;
using SpineProd.Planning;
using SpineProd.Scheduler;
using SpineProd.Submission;

namespace SpineProd.Report;

/// <summary>
/// -t:Report (and the end of -t:Run): one batched status query (or the one Run just made), status.json
/// and trace.tsv as Status writes them, the report's model from the same attempts, the audit trail.
/// <paramref name="statusWriteFailed"/> hears why status.json could not be written (a read-only
/// colleague still gets the page elsewhere).
/// </summary>
public static class ProductionReport
{
    public static ReportModel Make(ProductionPlan plan, string planDir, Func<string, IScheduler> schedulers, string? gitCommit,
        Action<Exception>? statusWriteFailed = null, StatusReport? status = null)
    {
        status ??= StatusReport.Create(plan, planDir, schedulers);
        try { status.Write(); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or Diagnostics.SpineProdException) { statusWriteFailed?.Invoke(e); }
        var watch = System.Diagnostics.Stopwatch.StartNew();
        var model = ReportModel.Create(status, gitCommit);
        model.Timings.Add("report model", watch);
        var (rows, _) = AuditTrail.Read(plan.StateDir, status.State.Ledger);
        model.History.AddRange(rows);
        model.Timings.Add("audit trail", watch);
        return model;
    }
}
