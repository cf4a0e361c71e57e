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

/// <summary>
/// A settled job's attempts, handed over whole (<see cref="TaskAttempts.Each"/>): its rows, and each
/// task's attempt number in <see cref="Counts"/> (valid only during the call: it goes on counting).
/// </summary>
public readonly record struct SettledAttempts(string Stage, ArraySubmission Array, SettledJob Job, int[] Counts)
{
    public int Task(int row) => Array.FirstTask + Job.Index(row);
    public int Attempt(int row) => Counts[Task(row)];
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
        foreach (var (sub, st, arr, tasks, counts) in Numbered(ledger))
        {
            if (include is not null && !include(arr)) continue;
            foreach (var task in tasks)
            {
                if (task < 0) continue;
                int index = task - arr.FirstTask;
                yield return new TaskAttempt(st.Stage, task, counts[task], sub, st, arr, index, snapshot.Find(arr.JobId!, index));
            }
        }
    }

    /// <summary>
    /// The attempts as <see cref="All"/> gives them, except that a job <paramref name="settled"/> kept
    /// is handed over whole to <paramref name="settledJob"/>: its rows are read from their columns,
    /// never built one object each.
    /// </summary>
    public static void Each(Ledger ledger, SchedulerSnapshot snapshot, SettledState? settled, Action<TaskAttempt> attempt, Action<SettledAttempts> settledJob)
    {
        foreach (var (sub, st, arr, tasks, counts) in Numbered(ledger))
        {
            if (settled?.Job(arr.JobId!) is { } job)
            {
                settledJob(new SettledAttempts(st.Stage, arr, job, counts));
                continue;
            }
            foreach (var task in tasks)
            {
                if (task < 0) continue;
                int index = task - arr.FirstTask;
                attempt(new TaskAttempt(st.Stage, task, counts[task], sub, st, arr, index, snapshot.Find(arr.JobId!, index)));
            }
        }
    }

    /// <summary>The ledger's sent arrays in order, each with its stage's attempt counts already counting it.</summary>
    private static IEnumerable<(SubmissionRecord Sub, StageSubmission St, ArraySubmission Arr, IReadOnlyList<int> Tasks, int[] Counts)> Numbered(Ledger ledger)
    {
        var attempts = new Dictionary<string, int[]>();
        foreach (var (sub, st, arr) in ledger.AllArrays())
        {
            if (arr.State == ArraySubmissionState.NotSubmitted || arr.JobId is null) continue;
            if (!ArraySpec.TryParse(arr.Tasks, out var spec)) continue;
            var tasks = spec.Indices;
            if (!attempts.TryGetValue(st.Stage, out var counts)) attempts[st.Stage] = counts = new int[16];
            // indices are sorted: the last is the largest
            if (tasks.Count > 0 && tasks[^1] >= counts.Length)
            {
                System.Array.Resize(ref counts, Math.Max(tasks[^1] + 1, counts.Length * 2));
                attempts[st.Stage] = counts;
            }
            foreach (var task in tasks) if (task >= 0) ++counts[task];
            yield return (sub, st, arr, tasks, counts);
        }
    }
}
