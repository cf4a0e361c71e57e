using System.Diagnostics;
using SpineProd.Diagnostics;
using SpineProd.IO;
using SpineProd.Planning;
using SpineProd.Rendering;
using SpineProd.Submission;

namespace SpineProd.Interactive;

/// <summary>What to run: a task of the plan, here, now (spine-prod's <c>--interactive --task-id N</c>).</summary>
public sealed record TaskRunRequest(
    string? Stage,
    string TaskId,
    /// <summary>"container" (the batch job's own runtime) or "local" (SPINE installed here, no container).</summary>
    string Runtime,
    IReadOnlyList<string>? LocalSpineCommand,
    string? File = null, int Line = 0);

/// <summary>
/// Runs one task of the plan on this machine with the job's own script, config, inputs, environment
/// and container, streaming its output, and returns SPINE's exit status. It runs in a run folder of
/// its own (<c>&lt;JobsDir&gt;/&lt;time&gt;_interactive_&lt;job name&gt;_task&lt;N&gt;/</c>, built under a temporary
/// name and renamed, as job folders are), which also holds its outputs and its completion marker: a
/// trial run never counts as the production's, never touches its ledger, markers or output folder.
/// </summary>
public sealed class TaskRun
{
    public const string OutOfRange = "SPN1155";   // TaskId is not a task of the plan (or not a number)
    public const string BadStage = "SPN1156";     // RunStage names no stage, or a multi-stage plan without RunStage
    public const string Failed = "SPN1157";       // SPINE exited non-zero
    public const string BadRuntime = "SPN1158";   // RunRuntime is not container or local

    private readonly ProductionPlan _plan;
    private readonly string _planDir;
    private readonly Func<DateTime> _now;

    public TaskRun(ProductionPlan plan, string planDir, Func<DateTime>? now = null)
    {
        _plan = plan;
        _planDir = planDir;
        _now = now ?? (() => DateTime.Now);
    }

    /// <summary>The stage and task the request names, checked against the plan.</summary>
    public (StagePlan Stage, int Task) Select(TaskRunRequest r)
    {
        StagePlan stage;
        if (!string.IsNullOrWhiteSpace(r.Stage))
            stage = _plan.Stages.FirstOrDefault(s => s.Name == r.Stage!.Trim())
                ?? throw new SpineProdException(BadStage, $"RunStage '{r.Stage}' is not a stage of this production. Stages: {string.Join(", ", _plan.Stages.Select(s => s.Name))}.", r.File, r.Line);
        else if (_plan.Stages.Count == 1)
            stage = _plan.Stages[0];
        else
            throw new SpineProdException(BadStage, $"This production has {_plan.Stages.Count} stages: name the one to run with -p:RunStage= ({string.Join(", ", _plan.Stages.Select(s => s.Name))}).", r.File, r.Line);
        string range = stage.TaskCount == 1 ? "task 0" : $"tasks 0-{stage.TaskCount - 1}";
        if (!int.TryParse(r.TaskId?.Trim(), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out int task) || task >= stage.TaskCount)
            throw new SpineProdException(OutOfRange, $"Task ID {r.TaskId} out of range: stage '{stage.Name}' has {range} (the numbers Status and Preview show).", r.File, r.Line);
        return (stage, task);
    }

    /// <summary>Builds the run folder and its script; returns the folder and the script's name in it.</summary>
    public (string Folder, string Script) Prepare(StagePlan stage, int task, TaskRunRequest r)
    {
        var runtime = stage.Runtime ?? throw new SpineProdException("SPN3001", "The plan was made by an earlier SpineProd and does not say how its jobs run SPINE: build it again (-t:Rebuild).", r.File);
        runtime = r.Runtime.Trim().ToLowerInvariant() switch
        {
            "" or "container" => runtime,
            "local" => runtime with { Container = "none", SpineCommand = r.LocalSpineCommand is { Count: > 0 } c ? c : ["spine"] },
            _ => throw new SpineProdException(BadRuntime, $"RunRuntime must be container (as the batch job runs) or local (SPINE installed here), not '{r.Runtime}'.", r.File, r.Line),
        };
        var array = stage.Arrays.First(a => task >= a.FirstTask && task < a.FirstTask + a.TaskCount);
        var line = File.ReadLines(Path.Combine(_planDir, stage.Name, array.ChunkFile)).Skip(task - array.FirstTask).FirstOrDefault() ?? "";

        Directory.CreateDirectory(_plan.JobsDir);
        var name = $"{_now():yyyyMMdd_HHmmss}_interactive_{stage.JobName}_task{task}";
        string script = "run_task.sh";
        var one = new ArrayPlan { Index = 0, JobName = stage.JobName, FirstTask = task, TaskCount = 1, FileCount = line.Split(',', StringSplitOptions.RemoveEmptyEntries).Length, ArraySpec = "0", Script = script, ChunkFile = "files_task.txt" };
        var template = stage.Template ?? throw new SpineProdException("SPN3001", "The plan does not name its job template: build it again (-t:Rebuild).", r.File);
        var renderer = new JobScriptRenderer(template);
        var folder = JobFolders.Create(_plan.JobsDir, name, dir =>
        {
            Directory.CreateDirectory(Path.Combine(dir, "logs"));
            AtomicFile.Write(Path.Combine(dir, one.ChunkFile), line + "\n", durable: false);
            foreach (var rel in stage.ConfigFiles)
            {
                var target = Path.Combine(dir, rel);
                Directory.CreateDirectory(Path.GetDirectoryName(target)!);
                File.Copy(Path.Combine(_planDir, stage.Name, rel), target);
            }
        }, r.File);
        // The run's own copy of the plan, rendered with the folder's final path: its outputs and
        // marker in this folder, one task, no dependency.
        var plan = ProductionPlan.FromJson(_plan.ToJson());
        plan.StateDir = folder;
        var s = plan.Stages.First(x => x.Name == stage.Name);
        var output = Path.Combine(folder, "output");
        s.OutputDir = output;
        s.Output = Path.Combine(output, Path.GetFileName(stage.Output));
        s.Dependency = null;
        s.Cleanup = null;
        s.Arrays = [one];
        AtomicFile.Write(Path.Combine(folder, script), renderer.Render(plan, s, one, runtime), durable: false);
        return (folder, script);
    }

    /// <summary>Runs the script in its folder as array task 0, each output line to <paramref name="line"/> as it comes; the exit status.</summary>
    public static int Execute(string folder, string script, Action<string> line, CancellationToken cancel)
    {
        var psi = new ProcessStartInfo("bash", [script])
        {
            WorkingDirectory = folder,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        // What an array task sees (SLURM or PBS templates); the task's number is in the script.
        psi.Environment["SLURM_ARRAY_TASK_ID"] = "0";
        psi.Environment["PBS_ARRAY_INDEX"] = "0";
        psi.Environment["PBS_O_WORKDIR"] = folder;
        psi.Environment["SPINEPROD_INTERACTIVE"] = "1";
        using var p = new Process { StartInfo = psi };
        p.OutputDataReceived += (_, e) => { if (e.Data is not null) line(e.Data); };
        p.ErrorDataReceived += (_, e) => { if (e.Data is not null) line(e.Data); };
        p.Start();
        p.BeginOutputReadLine();
        p.BeginErrorReadLine();
        using (cancel.Register(() => { try { p.Kill(entireProcessTree: true); } catch (InvalidOperationException) { } }))
            p.WaitForExit();
        return p.ExitCode;
    }
}
