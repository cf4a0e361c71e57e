using Microsoft.Build.Framework;
using SpineProd.Diagnostics;
using SpineProd.Interactive;

namespace SpineProd.Tasks;

/// <summary>
/// -t:RunTask -p:TaskId=N: one task of the plan, here and now (spine-prod's --interactive --task-id),
/// its output streamed as it comes; SPINE's exit status is <see cref="ExitCode"/>, and a non-zero one
/// fails the build (SPN1157). A thin adapter over <see cref="TaskRun"/>.
/// </summary>
public sealed class RunTask : SpineProdTask, ICancelableTask
{
    private readonly CancellationTokenSource _cancel = new();

    [Required] public string PlanFile { get; set; } = "";
    [Required] public string ProjectFile { get; set; } = "";
    public string? TaskId { get; set; }
    public string? RunStage { get; set; }
    public string? RunRuntime { get; set; }
    public string? LocalSpineCommand { get; set; }

    /// <summary>SPINE's exit status (the job script passes it through).</summary>
    [Output] public int ExitCode { get; private set; }

    public void Cancel() => _cancel.Cancel();

    public override bool Execute() => Log.Run(ProjectFile, () =>
    {
        var xml = Planning.ProductionFile.Load(ProjectFile);
        if (string.IsNullOrWhiteSpace(TaskId))
            throw new SpineProdException(TaskRun.OutOfRange, "RunTask runs one task of the plan: give its number, -p:TaskId=N (the task numbers Status and Preview show).", ProjectFile);
        var plan = ClusterTaskSupport.LoadPlan(PlanFile, ProjectFile);
        var run = new TaskRun(plan, Path.GetDirectoryName(Path.GetFullPath(PlanFile))!);
        List<string>? local = null;
        if (!string.IsNullOrWhiteSpace(LocalSpineCommand))
        {
            try { local = IO.ShellQuote.SplitWords(LocalSpineCommand); }
            catch (FormatException e) { throw new SpineProdException(TaskRun.BadRuntime, $"LocalSpineCommand cannot be split into words: {e.Message}.", ProjectFile, xml.PropertyLine("LocalSpineCommand")); }
        }
        var request = new TaskRunRequest(RunStage, TaskId!, RunRuntime ?? "", local, ProjectFile, xml.PropertyLine("TaskId"));
        var (stage, task) = run.Select(request);
        var (folder, script) = run.Prepare(stage, task, request);
        Report($"SpineProd: running task {task} of stage '{stage.Name}' here ({(string.IsNullOrWhiteSpace(RunRuntime) ? "as the batch job runs it" : RunRuntime)}), in {folder}");
        ExitCode = TaskRun.Execute(folder, script, line => Report(line), _cancel.Token);
        if (_cancel.IsCancellationRequested)
            throw new SpineProdException(TaskRun.Failed, $"Task {task} was cancelled; what it wrote is in {folder}.", ProjectFile);
        if (ExitCode != 0)
            throw new SpineProdException(TaskRun.Failed, $"Task {task} of stage '{stage.Name}' failed: SPINE exited with status {ExitCode}. Its output is above; the run folder is {folder}.", ProjectFile);
        Report($"SpineProd: task {task} of stage '{stage.Name}' finished (exit status 0); outputs in {Path.Combine(folder, "output")}. It does not count as the production's: Submit runs it again.");
    });
}
