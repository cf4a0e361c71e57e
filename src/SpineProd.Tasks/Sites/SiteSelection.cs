using SpineProd.Planning;
using SpineProd.Profiles;

namespace SpineProd.Sites;

/// <summary>
/// The site a production runs at (<c>Site</c>), and the profile of its cleanup jobs. The site's
/// account and memory rules are the planner's resources step (Planning/StageResources).
/// </summary>
public static class SiteSelection
{
    /// <summary>
    /// The site's definition: from the production's profiles file when it defines sites, else from
    /// the SDK's own profiles file (a spine-prod profiles file has no <c>sites:</c>). A scheduler that
    /// is not the site's is SPN1118 (the local scheduler runs any site's scripts here), and planning
    /// goes on with the site; a site that is not defined ends it.
    /// </summary>
    public static SiteDefinition Resolve(SettingValue siteSetting, string scheduler, ProfileCatalog catalog, string? sdkProfilesFile, PlanProblems problems)
    {
        string name = SiteDefinition.Canonical(siteSetting.IsSet ? siteSetting.Value : SiteDefinition.DefaultSite);
        var sites = catalog.Sites;
        string from = catalog.File;
        if (sites.Count == 0 && sdkProfilesFile is not null && File.Exists(sdkProfilesFile)
            && !string.Equals(Path.GetFullPath(sdkProfilesFile), catalog.File, StringComparison.Ordinal))
        {
            sites = problems.Catch(() => ProfileCatalog.Load(sdkProfilesFile)).Sites;
            from = $"{catalog.File} (no sites:) and the SDK's {sdkProfilesFile}";
        }
        if (!sites.TryGetValue(name, out var site))
            problems.Stop("SPN1110", siteSetting,
                $"Site '{siteSetting.Value}' is not a site of {from}. Sites: {(sites.Count == 0 ? "none" : string.Join(", ", sites.Keys))} (spine-prod's nersc and anl are perlmutter and polaris)");
        string sched = scheduler.Trim().ToLowerInvariant();
        // Only a site the user chose refuses another scheduler: the SDK's default site (no <Site>
        // in the production, no -p:Site) leaves a production that names its Scheduler as it was.
        bool chosen = siteSetting.Line > 0 || siteSetting.Origin.StartsWith("-p:", StringComparison.Ordinal);
        if (chosen && sched != "local" && sched != site.Scheduler)
            problems.Error("SPN1118", siteSetting,
                $"Site {site.Name} runs {site.Scheduler}, but Scheduler is {sched}: leave Scheduler unset (the site picks it), or use Scheduler=local to run the site's scripts on this machine");
        return site;
    }

    /// <summary>The profile of cleanup jobs: the site's cleanup_profile, else defaults.cleanup_profile when it is this site's; null: the stage's own.</summary>
    public static Profile? CleanupProfile(ProfileCatalog catalog, SiteDefinition site)
    {
        foreach (var name in new[] { site.CleanupProfile, catalog.CleanupProfile })
            if (name is not null && catalog.Profiles.TryGetValue(name, out var p) && p.Site == site.Name) return p;
        return null;
    }
}
