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
    /// <summary>Ctrl-C: a wait ends within a second (running jobs go on; -t:Run again picks them up).</summary>
    public CancellationToken Stop { get; init; }
    /// <summary>How long a job just sent may stay invisible to the scheduler's queries before it counts as lost.</summary>
    public TimeSpan UnseenGrace { get; init; } = TimeSpan.FromMinutes(5);

    public RunOutcome Run()
    {
        var end = Clock.UtcNow + Timeout;
        int submits = 0;
        // Every round sends at least one attempt of some task, and a task has at most MaxAttempts:
        // the bound only guards against a scheduler that keeps forgetting what it ran.
        int maxRounds = Policy.Settings.MaxAttempts + Plan.Stages.Count + 2;
        var sent = new HashSet<(string Stage, int Task)>();
        for (int round = 1; ; round++)
        {
            var status = WaitQuiet(end, sent);
            sent.Clear();
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
                    foreach (var d in group) sent.Add((stage.Name, d.Task.Task));
                }
        }
    }

    /// <summary>
    /// Polls (one batched query each time, at growing intervals) until nothing runs and nothing waits
    /// but blocked tasks. A task just sent counts as waiting until the scheduler reports its new job
    /// (squeue and sacct can take a moment to show it): never taken for lost and sent twice.
    /// </summary>
    private StatusReport WaitQuiet(DateTimeOffset end, HashSet<(string Stage, int Task)> sent)
    {
        var unseenSince = Clock.UtcNow;
        var interval = FirstPoll;
        for (int poll = 1; ; poll++)
        {
            var status = StatusReport.Create(Plan, PlanDir, Schedulers, Clock);
            var t = status.Totals;
            int unseen = sent.Count == 0 ? 0 : status.State.AllTasks.Count(x => sent.Contains((x.Stage.Name, x.Task)) && !x.IsDone && x.Scheduler is null);
            // A job the scheduler still does not show after this long was lost: the policy decides (it counts as an attempt).
            if (unseen > 0 && Clock.UtcNow - unseenSince > UnseenGrace) unseen = 0;
            if (t.Running == 0 && t.Pending == t.Blocked && unseen == 0) return status;
            Progress($"{Plan.ProductionName}: waiting, poll {poll} at {Clock.UtcNow.ToLocalTime():HH:mm:ss}: {t.Completed} of {t.Total} task(s) done, " +
                     $"{t.Pending - t.Blocked + unseen} pending, {t.Running} running, {t.Failed + t.Timeout + t.OutOfMemory} failed");
            if (Clock.UtcNow >= end)
                throw new SpineProdException("SPN3018", $"{Plan.ProductionName} still has pending or running tasks after waiting {Timeout} (WaitTimeout); run -t:Run again to go on waiting", Plan.ProductionFile);
            var wake = Clock.UtcNow + (interval < end - Clock.UtcNow ? interval : end - Clock.UtcNow);
            for (var now = Clock.UtcNow; now < wake; now = Clock.UtcNow)
            {
                if (Stop.IsCancellationRequested)
                    throw new SpineProdException("SPN5032", $"{Plan.ProductionName}: Run was stopped while waiting; nothing more was submitted and the jobs sent go on running (-t:Run again picks them up, -t:Cancel stops them)", Plan.ProductionFile);
                var slice = wake - now;
                Clock.Sleep(slice < TimeSpan.FromSeconds(1) ? slice : TimeSpan.FromSeconds(1));
            }
            interval = TimeSpan.FromTicks(Math.Min(MaxPoll.Ticks, (long)(interval.Ticks * 1.5)));
        }
    }
}
