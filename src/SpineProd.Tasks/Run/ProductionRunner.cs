using SpineProd.Diagnostics;
using SpineProd.Planning;
using SpineProd.Scheduler;
using SpineProd.Submission;

namespace SpineProd.Run;

/// <summary>One Submit of a round: which tasks (of a stage), with which raised limits, and why (for History).</summary>
public sealed record RunSubmit(StagePlan Stage, IReadOnlyCollection<int> Tasks, RaisedLimits Limits, bool IsRetry);

public sealed record RunOutcome(StatusReport Status, IReadOnlyList<RetryDecision> GaveUp, int Rounds, int Submits);

/// <summary>
/// -t:Run: submit, wait (printing where the production stands at each poll), then let the retry
/// policy decide what goes again (out of memory: more memory; timed out: more time; a plain failure:
/// no more than allowed), and repeat until every task is complete or left for a reason. Each group of
/// tasks with the same raised limits is one Submit of its own, so every attempt is a submission in
/// the ledger and the audit trail; stages go upstream first, so a retried task's downstream waits for it.
/// </summary>
public sealed class ProductionRunner
{
    public required ProductionPlan Plan { get; init; }
    public required string PlanDir { get; init; }
    public required Func<string, IScheduler> Schedulers { get; init; }
    public required RetryPolicy Policy { get; init; }
    /// <summary>Sends one group (the task wires Submitter and the audit record).</summary>
    public required Action<RunSubmit> Submit { get; init; }
    public Action<string> Progress { get; init; } = _ => { };
    public IClock Clock { get; init; } = SystemClock.Instance;
    public TimeSpan FirstPoll { get; init; } = TimeSpan.FromSeconds(30);
    public TimeSpan MaxPoll { get; init; } = TimeSpan.FromMinutes(5);
    public TimeSpan Timeout { get; init; } = TimeSpan.FromHours(24);

    public RunOutcome Run()
    {
        var end = Clock.UtcNow + Timeout;
        int submits = 0;
        // Every round sends at least one attempt of some task, and a task has at most MaxAttempts:
        // the bound only guards against a scheduler that keeps forgetting what it ran.
        int maxRounds = Policy.Settings.MaxAttempts + Plan.Stages.Count + 2;
        for (int round = 1; ; round++)
        {
            var status = WaitQuiet(end);
            var decisions = Policy.Decide(status.State);
            var send = decisions.Where(d => d.Send).ToList();
            if (send.Count == 0 || round > maxRounds)
                return new RunOutcome(status, decisions.Where(d => !d.Send).ToList(), round - 1, submits);
            foreach (var g in send.GroupBy(d => d.Why.StartsWith("never submitted", StringComparison.Ordinal) ? "new" : "again"))
                Progress($"{Plan.ProductionName}: round {round}: {g.Count()} task(s) {(g.Key == "new" ? "to submit" : "to send again")}");
            foreach (var d in send.Where(d => d.Limits is not { IsNone: true } || !d.Why.StartsWith("never", StringComparison.Ordinal)).Take(50))
                Progress($"  {d.Task.Stage.Name} task {d.Task.Task}: {d.Why}");
            foreach (var stage in Plan.Stages)
                foreach (var group in send.Where(d => d.Task.Stage.Name == stage.Name).GroupBy(d => d.Limits).OrderBy(g => g.Key.IsNone ? 0 : 1))
                {
                    bool retry = group.Any(d => !d.Why.StartsWith("never", StringComparison.Ordinal));
                    Submit(new RunSubmit(stage, group.Select(d => d.Task.Task).ToHashSet(), group.Key, retry));
                    submits++;
                }
        }
    }

    /// <summary>Polls (one batched query each time, at growing intervals) until nothing runs and nothing waits but blocked tasks.</summary>
    private StatusReport WaitQuiet(DateTimeOffset end)
    {
        var interval = FirstPoll;
        for (int poll = 1; ; poll++)
        {
            var status = StatusReport.Create(Plan, PlanDir, Schedulers, Clock);
            var t = status.Totals;
            if (t.Running == 0 && t.Pending == t.Blocked) return status;
            Progress($"{Plan.ProductionName}: waiting, poll {poll} at {Clock.UtcNow.ToLocalTime():HH:mm:ss}: {t.Completed} of {t.Total} task(s) done, " +
                     $"{t.Pending - t.Blocked} pending, {t.Running} running, {t.Failed + t.Timeout + t.OutOfMemory} failed");
            if (Clock.UtcNow >= end)
                throw new SpineProdException("SPN3018", $"{Plan.ProductionName} still has pending or running tasks after waiting {Timeout} (WaitTimeout); run -t:Run again to go on waiting", Plan.ProductionFile);
            var left = end - Clock.UtcNow;
            Clock.Sleep(interval < left ? interval : left);
            interval = TimeSpan.FromTicks(Math.Min(MaxPoll.Ticks, (long)(interval.Ticks * 1.5)));
        }
    }
}
