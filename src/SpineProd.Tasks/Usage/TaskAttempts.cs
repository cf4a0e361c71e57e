using SpineProd.Scheduler;
using SpineProd.Submission;

namespace SpineProd.Usage;

/// <summary>
/// One run of one task: a task sent again (after a failure, with a raised limit) has one attempt
/// per submission that covered it, each with the scheduler's row for it (null: the scheduler no
/// longer knows it, or its id was not this production's job).
/// </summary>
public readonly record struct TaskAttempt(
    string Stage,
    int Task,
    int Attempt,
    SubmissionRecord Submission,
    StageSubmission StageSubmission,
    ArraySubmission Array,
    int Index,
    SchedulerTask? Scheduler)
{
    /// <summary>"12_3": the task as the scheduler names it.</summary>
    public string? JobId => Array.JobId is null ? null : $"{Array.JobId}_{Index}";

    public string? LogPath(bool error) => TaskInfo.LogFile(Submission, StageSubmission, Array, Index, error);
}

public static class TaskAttempts
{
    /// <summary>
    /// Every attempt of every task the ledger sent, oldest submission first, numbered 1, 2, ... per
    /// task, read against one snapshot (the one batched query Status made). Streams: a million tasks
    /// are never held as a list here.
    /// </summary>
    public static IEnumerable<TaskAttempt> All(Ledger ledger, SchedulerSnapshot snapshot) => All(ledger, snapshot, null);

    /// <summary>The attempts of the arrays <paramref name="include"/> takes (numbered as among all of them).</summary>
    public static IEnumerable<TaskAttempt> All(Ledger ledger, SchedulerSnapshot snapshot, Func<ArraySubmission, bool>? include)
    {
        var attempts = new Dictionary<string, int[]>();
        foreach (var (sub, st, arr) in ledger.AllArrays())
        {
            if (arr.State == ArraySubmissionState.NotSubmitted || arr.JobId is null) continue;
            if (!ArraySpec.TryParse(arr.Tasks, out var tasks)) continue;
            if (!attempts.TryGetValue(st.Stage, out var counts)) attempts[st.Stage] = counts = new int[16];
            bool included = include?.Invoke(arr) ?? true;
            foreach (var task in tasks.Indices)
            {
                if (task < 0) continue;
                if (task >= counts.Length)
                {
                    System.Array.Resize(ref counts, Math.Max(task + 1, counts.Length * 2));
                    attempts[st.Stage] = counts;
                }
                ++counts[task];
                if (!included) continue;
                int index = task - arr.FirstTask;
                yield return new TaskAttempt(st.Stage, task, counts[task], sub, st, arr, index, snapshot.Find(arr.JobId, index));
            }
        }
    }
}
