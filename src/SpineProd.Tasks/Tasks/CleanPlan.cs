using Microsoft.Build.Framework;
using SpineProd.Diagnostics;
using SpineProd.Planning;

namespace SpineProd.Tasks;

/// <summary>Clean: removes the files the plan wrote, never a folder that holds anything else (SPN1040 names what stayed).</summary>
public sealed class CleanPlan : Microsoft.Build.Utilities.Task
{
    [Required] public string IntermediateDir { get; set; } = "";
    [Required] public string ProjectFile { get; set; } = "";

    public override bool Execute() => Log.Run(ProjectFile, () =>
    {
        var result = PlanCleaner.Clean(IntermediateDir);
        Log.LogMessage(MessageImportance.Normal, "SpineProd: Clean removed {0} plan file(s) from {1}.", result.Removed, IntermediateDir);
        if (result.Left.Count > 0)
            Log.LogSpn(new SpnDiagnostic("SPN1040", $"Clean removed the plan's files but left {IntermediateDir}: it holds files the plan did not write ({string.Join(", ", result.Left)}).", ProjectFile), ProjectFile);
    });
}
