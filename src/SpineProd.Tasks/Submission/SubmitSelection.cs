using SpineProd.Planning;
using SpineProd.Scheduler;

namespace SpineProd.Submission;

/// <summary>One array of the next Submit: which tasks, the --array spec, and why each group of tasks goes.</summary>
public sealed record SelectedArray(StagePlan Stage, ArrayPlan Array, IReadOnlyList<TaskInfo> Tasks, string ArraySpec, string Why);

/// <summary>
/// What the next Submit sends, and why: the one place that decides it. Submit sends exactly this;
/// Preview prints exactly this (a dry run that, like Snakemake's, gives a reason per group of tasks).
/// </summary>
public sealed class SubmitSelection
{
    public required ProductionPlan Plan { get; init; }
    public required ProductionState State { get; init; }
    public required ResubmitMode Mode { get; init; }
    /// <summary>Per stage, the tasks the next Submit sends.</summary>
    public Dictionary<string, List<TaskInfo>> Tasks { get; } = new();

    public int Total => Tasks.Values.Sum(l => l.Count);

    public static SubmitSelection Choose(ProductionPlan plan, ProductionState state, ResubmitMode mode)
    {
        var selection = new SubmitSelection { Plan = plan, State = state, Mode = mode };
        foreach (var stage in plan.Stages)
            selection.Tasks[stage.Name] = state.Stages[stage.Name]
                .Where(t => t.IsBlocked || (!t.IsDone && !t.IsLive && (mode != ResubmitMode.Failed || t.Status != TaskState.NotSubmitted)))
                .ToList();
        return selection;
    }

    /// <summary>"10 task(s): 7 complete, 0 pending or running, 3 to submit": the stage's line in Submit and Preview.</summary>
    public string Summary(StagePlan stage)
    {
        var tasks = State.Stages[stage.Name];
        var chosen = Tasks[stage.Name];
        int done = tasks.Count(t => t.IsDone), live = tasks.Count(t => t.IsLive && !t.IsBlocked);
        int waiting = tasks.Count(t => !t.IsDone && !t.IsLive) - chosen.Count(t => !t.IsBlocked);
        return $"{stage.Name}: {tasks.Count} task(s): {done} complete, {live} pending or running, {chosen.Count} to submit" +
            (waiting > 0 ? $", {waiting} never submitted left out (Resubmit=failed)" : "");
    }

    /// <summary>The arrays the stage's chosen tasks go in: one per planned array that has any, indices and throttle as Submit sends them.</summary>
    public IEnumerable<SelectedArray> Arrays(StagePlan stage)
    {
        foreach (var group in Tasks[stage.Name].GroupBy(t => t.Array.Index).OrderBy(g => g.Key))
        {
            var array = group.First().Array;
            var tasks = group.ToList();
            string why = string.Join("; ", tasks.GroupBy(Submitter.ReasonLabel)
                .Select(g => $"{g.Key}: {ArraySpec.FormatRanges(g.Select(t => t.Task))}"));
            yield return new SelectedArray(stage, array, tasks, Submitter.SubsetSpec(stage, array, tasks.Select(t => t.IndexInArray).ToList()), why);
        }
    }
}
