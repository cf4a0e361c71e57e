using System.Text.RegularExpressions;
using SpineProd.Diagnostics;
using SpineProd.Planning;
using SpineProd.Profiles;

namespace SpineProd.Sites;

/// <summary>
/// The site a production runs at (<c>Site</c>), and what it decides: the profile's resources with
/// the site's account rules, and the profile of cleanup jobs.
/// </summary>
public static partial class SiteSelection
{
    /// <summary>
    /// The site's definition: from the production's profiles file when it defines sites, else from
    /// the SDK's own profiles file (a spine-prod profiles file has no <c>sites:</c>). A scheduler that
    /// is not the site's is SPN1118 (the local scheduler runs any site's scripts here).
    /// </summary>
    public static SiteDefinition Resolve(SettingValue siteSetting, string scheduler, ProfileCatalog catalog, string? sdkProfilesFile)
    {
        string name = SiteDefinition.Canonical(siteSetting.IsSet ? siteSetting.Value : SiteDefinition.DefaultSite);
        var sites = catalog.Sites;
        string from = catalog.File;
        if (sites.Count == 0 && sdkProfilesFile is not null && File.Exists(sdkProfilesFile)
            && !string.Equals(Path.GetFullPath(sdkProfilesFile), catalog.File, StringComparison.Ordinal))
        {
            sites = ProfileCatalog.Load(sdkProfilesFile).Sites;
            from = $"{catalog.File} (no sites:) and the SDK's {sdkProfilesFile}";
        }
        if (!sites.TryGetValue(name, out var site))
            throw new SpineProdException("SPN1110",
                $"Site '{siteSetting.Value}' is not a site of {from}. Sites: {(sites.Count == 0 ? "none" : string.Join(", ", sites.Keys))} (spine-prod's nersc and anl are perlmutter and polaris) (from {siteSetting.Origin}).",
                siteSetting.File, siteSetting.Line, siteSetting.Line > 0 ? 1 : 0);
        string sched = scheduler.Trim().ToLowerInvariant();
        if (sched != "local" && sched != site.Scheduler)
            throw new SpineProdException("SPN1118",
                $"Site {site.Name} runs {site.Scheduler}, but Scheduler is {sched}: leave Scheduler unset (the site picks it), or use Scheduler=local to run the site's scripts on this machine (from {siteSetting.Origin}).",
                siteSetting.File, siteSetting.Line, siteSetting.Line > 0 ? 1 : 0);
        return site;
    }

    /// <summary>
    /// A stage's resources: for each, a property &gt; the profile. The account: a property &gt; the
    /// profile's &gt; the detector's at this site &gt; the site's &gt; <c>defaults.account</c> (at S3DF, whose
    /// account it is). spine-prod v0.8 merged defaults.account into every profile, so detector
    /// accounts were never used; and gave NERSC jobs an S3DF account. A site without an account is SPN1115.
    /// </summary>
    public static Resources Resources(Profile profile, SiteDefinition site, ProfileCatalog catalog, string detector, Func<string, SettingValue> setting)
    {
        var account = setting("Account");
        string? accountValue = Pick(account, profile.Account, catalog.Detector(detector)?.AccountAt(site.Name), site.Account,
            site.Name == SiteDefinition.DefaultSite ? catalog.DefaultAccount : null);
        if (accountValue is null)
            throw new SpineProdException("SPN1115",
                $"No account for site {site.Name}: profile '{profile.Name}', detector '{detector}' and site {site.Name} name none in {catalog.File}. Set <Account> (your {(site.Name == "perlmutter" ? "NERSC project, e.g. m1234" : site.Name == "polaris" ? "ALCF project" : "allocation")}), or accounts: {{{site.Name}: ...}} under the detector in the profiles file (from {account.Origin}).",
                account.File, account.Line, account.Line > 0 ? 1 : 0);

        // Memory: per CPU (--mem-per-cpu) or of the whole task (--mem), never both (SLURM refuses both).
        var memPerCpu = setting("MemPerCpu");
        var memPerNode = setting("MemPerNode");
        if (memPerCpu.IsSet && memPerNode.IsSet)
            throw new SpineProdException("SPN1116", $"MemPerCpu and MemPerNode both set the memory ({memPerCpu.Origin}, {memPerNode.Origin}); set one of them.",
                memPerNode.File, memPerNode.Line, memPerNode.Line > 0 ? 1 : 0);
        string? mem = memPerNode.IsSet ? memPerNode.Value : memPerCpu.IsSet ? null : profile.Mem;
        string? perCpu = memPerCpu.IsSet ? memPerCpu.Value : mem is not null ? null : profile.MemPerCpu;

        return new Resources
        {
            Account = accountValue,
            Partition = Pick(setting("Partition"), profile.Partition),
            Qos = Pick(setting("Qos"), profile.Qos),
            Constraint = Pick(setting("Constraint"), profile.Constraint),
            Gpus = PickInt(setting("Gpus"), profile.Gpus, 0),
            CpusPerTask = PickInt(setting("CpusPerTask"), profile.CpusPerTask, 1),
            MemPerCpu = perCpu,
            Mem = mem,
            Time = Pick(setting("Time"), profile.Time),
            Description = profile.Description,
            Nodes = profile.Nodes ?? (site.GpusPerNode ? 1 : null),
            GpusPerNode = site.GpusPerNode,
            System = profile.System,
            Place = profile.Place,
            Filesystems = profile.Filesystems,
        };
    }

    /// <summary>The profile of cleanup jobs: the site's cleanup_profile, else defaults.cleanup_profile when it is this site's; null: the stage's own.</summary>
    public static Profile? CleanupProfile(ProfileCatalog catalog, SiteDefinition site)
    {
        foreach (var name in new[] { site.CleanupProfile, catalog.CleanupProfile })
            if (name is not null && catalog.Profiles.TryGetValue(name, out var p) && p.Site == site.Name) return p;
        return null;
    }

    private static string? Pick(SettingValue property, params string?[] fallbacks) =>
        property.IsSet ? property.Value : fallbacks.FirstOrDefault(f => !string.IsNullOrEmpty(f));

    private static int PickInt(SettingValue property, int profileValue, int min)
    {
        if (!property.IsSet) return profileValue;
        if (int.TryParse(property.Value, out int v) && v >= min) return v;
        throw new SpineProdException("SPN1026", $"'{property.Value}' is not a whole number >= {min} (from {property.Origin}).", property.File, property.Line, 1);
    }

    /// <summary>SLURM's feature expressions (<c>gpu</c>, <c>gpu&amp;hbm80g</c>, <c>a|b</c>), with nothing a shell or #SBATCH line would misread.</summary>
    [GeneratedRegex(@"^[A-Za-z0-9_.-]+([&|,][A-Za-z0-9_.-]+)*$")]
    public static partial Regex ConstraintPattern();
}
