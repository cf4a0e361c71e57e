using Microsoft.Build.Framework;
using SpineProd.Diagnostics;
using SpineProd.Planning;

namespace SpineProd.Tasks;

/// <summary>Preview: prints the plan Build wrote. Never calls a scheduler.</summary>
public sealed class PreviewPlan : SpineProdTask
{
    [Required] public string PlanFile { get; set; } = "";
    [Required] public string ProjectFile { get; set; } = "";

    public override bool Execute() => Log.Run(ProjectFile, () =>
    {
        if (!File.Exists(PlanFile))
            throw new SpineProdException("SPN1401", $"No plan at '{PlanFile}': run the Build target first.", ProjectFile);
        var plan = ProductionPlan.Load(PlanFile);
        Report(PlanPrinter.Format(plan, Path.GetDirectoryName(PlanFile)!));
    });
}
