using SpineProd.Rendering;
using SpineProd.Sites;

namespace SpineProd.Planning;

/// <summary>
/// How a stage's job runs SPINE: the command words, the SPINE version, the container (image, binds,
/// command), LArCV and flash-matching set-up, CVMFS and modules, from the stage's settings over its
/// site's entry in the profiles file (<see cref="SiteRuntime"/> holds the site rules).
/// </summary>
internal static class StageRuntime
{
    public static JobRuntime Resolve(StageSettings s, SiteDefinition site, string? defaultSpineVersion, string productionDir, int gpus,
        Action<string> dependency, PlanProblems problems) =>
        SiteRuntime.Resolve(n => s[n], site, defaultSpineVersion, productionDir, gpus, problems, dependency);
}
