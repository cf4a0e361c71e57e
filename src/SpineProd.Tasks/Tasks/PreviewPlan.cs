using Microsoft.Build.Framework;

namespace SpineProd.Tasks;

/// <summary>Prints the plan (placeholder until the planner lands).</summary>
public sealed class PreviewPlan : Microsoft.Build.Utilities.Task
{
    [Required] public string PlanFile { get; set; } = "";
    public string? ProjectFile { get; set; }
    public override bool Execute() => !Log.HasLoggedErrors;
}
