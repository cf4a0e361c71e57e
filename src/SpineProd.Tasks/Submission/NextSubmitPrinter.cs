using System.Text;
using SpineProd.Planning;
using SpineProd.Scheduler;

namespace SpineProd.Submission;

/// <summary>
/// Preview of a production submitted before: exactly what the next Submit sends (the
/// <see cref="SubmitSelection"/> Submit itself uses), array by array, with the reason for each group
/// of tasks, or why it would refuse.
/// </summary>
public static class NextSubmitPrinter
{
    public static string Format(SubmitSelection selection, int interruptedArrays)
    {
        var plan = selection.Plan;
        var sb = new StringBuilder();
        sb.AppendLine();
        sb.AppendLine($"Next Submit (Resubmit={selection.Mode.ToString().ToLowerInvariant()}), from the ledger and one scheduler query ({string.Join(", ", selection.State.Snapshot.Sources.Distinct())}):");
        if (interruptedArrays > 0)
            sb.AppendLine($"  {interruptedArrays} array(s) of an interrupted Submit are unconfirmed: Submit first asks the scheduler whether they were accepted, and sends their tasks only if not.");
        if (selection.State.LiveFromOtherPlans.Count > 0)
        {
            sb.AppendLine($"  Submit would refuse (SPN3008): {selection.State.LiveFromOtherPlans.Count} task(s) of an earlier version of the production are still pending or running (jobs {string.Join(", ", selection.State.LiveFromOtherPlans.Select(x => x.Array.JobId).Distinct().Take(10))}); -t:Cancel or wait first.");
            return sb.ToString();
        }
        foreach (var stage in plan.Stages)
        {
            sb.AppendLine("  " + selection.Summary(stage));
            var arrays = selection.Arrays(stage).ToList();
            if (arrays.Count == 0) continue;
            sb.AppendLine($"    {"array",-6} {"job name",-32} {"--array",-20} {"tasks",6}  why");
            foreach (var a in arrays.Take(50))
                sb.AppendLine($"    {a.Array.Index,-6} {a.Array.JobName,-32} {a.ArraySpec,-20} {a.Tasks.Count,6}  {a.Why}");
            if (arrays.Count > 50)
                sb.AppendLine($"    ... {arrays.Count - 50} more array(s), {arrays.Skip(50).Sum(a => a.Tasks.Count)} task(s)");
            int blocked = selection.Tasks[stage.Name].Count(t => t.IsBlocked && t.SchedulerId is not null);
            if (blocked > 0)
                sb.AppendLine($"    {blocked} blocked task(s) are cancelled first, to be chained to the new upstream jobs");
        }
        foreach (var stage in plan.Stages.Where(s => s.Cleanup is { Paths.Count: > 0 }))
            if (stage.Cleanup!.AfterStages.Any(s => selection.Tasks.TryGetValue(s, out var t) && t.Count > 0))
                sb.AppendLine($"  {stage.Name}: a new cleanup job {stage.Cleanup.JobName} replaces the earlier one and waits for {string.Join(", ", stage.Cleanup.AfterStages)}");
        sb.AppendLine(selection.Total == 0
            ? $"  Nothing to submit: every task is complete, pending or running."
            : $"  In all: {selection.Total} task(s) in {plan.Stages.Sum(s => selection.Arrays(s).Count())} array(s). Nothing was submitted.");
        return sb.ToString();
    }
}
