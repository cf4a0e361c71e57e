using Microsoft.Build.Framework;
using Microsoft.Build.Utilities;

namespace SpineProd.Tasks;

/// <summary>Validates a production and writes its plan (placeholder until the planner lands).</summary>
public sealed class PlanProduction : Microsoft.Build.Utilities.Task
{
    [Required] public string ProjectFile { get; set; } = "";
    public ITaskItem[] Settings { get; set; } = [];
    public ITaskItem[] Sources { get; set; } = [];
    public ITaskItem[] SourceLists { get; set; } = [];
    public ITaskItem[] Stages { get; set; } = [];
    public string? PipelineFile { get; set; }
    public string? MaxArraySize { get; set; }
    public string? MaxArraySizeSource { get; set; }
    public string Scheduler { get; set; } = "slurm";
    [Required] public string JobsDir { get; set; } = "";
    [Required] public string StateDir { get; set; } = "";
    [Required] public string IntermediateDir { get; set; } = "";
    [Required] public string PlanFile { get; set; } = "";
    [Required] public string DependenciesFile { get; set; } = "";

    public override bool Execute() => !Log.HasLoggedErrors;
}
