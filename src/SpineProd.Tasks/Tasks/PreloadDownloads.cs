using SpineProd.Diagnostics;
using SpineProd.Downloads;

namespace SpineProd.Tasks;

/// <summary>
/// Before Submit and RunTask: fetches every !download of the plan's configs into the download cache
/// on this (submit) host and verifies it, skipping what is cached and verified (spine-prod's
/// --preload). A thin adapter over <see cref="DownloadCache"/>.
/// </summary>
public sealed class PreloadDownloads : SpineProdTask, Microsoft.Build.Framework.ICancelableTask
{
    private readonly CancellationTokenSource _cancel = new();

    [Microsoft.Build.Framework.Required] public string PlanFile { get; set; } = "";
    [Microsoft.Build.Framework.Required] public string ProjectFile { get; set; } = "";

    public void Cancel() => _cancel.Cancel();

    public override bool Execute() => Log.Run(ProjectFile, () =>
    {
        var plan = ClusterTaskSupport.LoadPlan(PlanFile, ProjectFile);
        var downloads = plan.Stages.SelectMany(s => s.Downloads).ToList();
        if (downloads.Count == 0) return;
        var (fetched, cached) = new DownloadCache(m => Report($"SpineProd: preload: {m}")).Preload(downloads, ProjectFile, _cancel.Token);
        Report($"SpineProd: preload: {fetched} file(s) fetched, {cached} already cached, in {string.Join(", ", downloads.Select(d => Path.GetDirectoryName(d.CachedFile)).Distinct())}");
    });
}
