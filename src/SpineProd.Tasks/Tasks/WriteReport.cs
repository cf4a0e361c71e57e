using Microsoft.Build.Framework;
using SpineProd.Diagnostics;
using SpineProd.Report;
using SpineProd.Scheduler;
using SpineProd.Submission;

namespace SpineProd.Tasks;

/// <summary>-t:Report: one self-contained HTML page of where the production stands and what it used; prints its summary.</summary>
public sealed class WriteReport : SpineProdTask
{
    [Required] public string PlanFile { get; set; } = "";
    [Required] public string ProjectFile { get; set; } = "";
    /// <summary>Where the page goes (default: report.html in the state folder).</summary>
    public string? ReportFile { get; set; }
    public string? RepositoryRoot { get; set; }

    [Output] public string WrittenFile { get; private set; } = "";

    public override bool Execute() => Log.Run(ProjectFile, () =>
    {
        var plan = ClusterTaskSupport.LoadPlan(PlanFile, ProjectFile);
        var planDir = Path.GetDirectoryName(Path.GetFullPath(PlanFile))!;
        var schedulers = Schedulers.Factory(new SchedulerSettings { StateDir = plan.StateDir }, ProjectFile);
        var model = ProductionReport.Make(plan, planDir, schedulers, ClusterTaskSupport.GitCommit(RepositoryRoot), e =>
            Log.LogWarning(null, "SPN3023", null, Layout.ProductionLayout.Of(plan).StatusFile, 0, 0, 0, 0,
                "status.json could not be written ({0}); the report is written all the same.", e.Message));
        var file = string.IsNullOrEmpty(ReportFile) ? Layout.ProductionLayout.Of(plan).ReportFile : Path.GetFullPath(ReportFile, Path.GetDirectoryName(ProjectFile)!);
        var watch = System.Diagnostics.Stopwatch.StartNew();
        HtmlReport.Write(model, file);
        model.Timings.Add("page", watch);
        Log.LogMessage(MessageImportance.Low, "SpineProd report timings: {0}", model.Timings);
        WrittenFile = file;
        foreach (var line in model.Summary(file)) Report(line);
    });
}
