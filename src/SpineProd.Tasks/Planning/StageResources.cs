using System.Globalization;
using System.Text.RegularExpressions;
using SpineProd.Options;
using SpineProd.Profiles;
using SpineProd.Sites;

namespace SpineProd.Planning;

/// <summary>
/// The resources step: what one task of a stage asks for, as values (a time limit, bytes of memory
/// per CPU, counts, names), from the stage's settings over its profile over the detector's and the
/// file's defaults. Values are read in the forms users write (SLURM's <c>2:00:00</c>, <c>8g</c>, or
/// <c>4h</c>); each scheduler's dialect spells them its own way when it writes a script.
/// </summary>
internal static partial class StageResources
{
    /// <summary>
    /// A stage's resources at its site. The account: a setting &gt; the profile's &gt; the detector's at
    /// this site &gt; the site's &gt; <c>defaults.account</c> (at S3DF, whose account it is); spine-prod
    /// v0.8 merged defaults.account into every profile (detector accounts were never used) and gave
    /// NERSC jobs an S3DF account. Memory is per CPU (MemPerCpu) or of the whole task (MemPerNode,
    /// SLURM --mem; 0 = the whole node), never both.
    /// </summary>
    public static Resources Resolve(StageSettings s, Profile profile, SiteDefinition site, ProfileCatalog catalog, string detector, PlanProblems problems)
    {
        var account = s["Account"];
        if (!account.IsSet && FirstSet(profile.Account, catalog.Detector(detector)?.AccountAt(site.Name), site.Account,
                site.Name == SiteDefinition.DefaultSite ? catalog.DefaultAccount : null) is null)
            problems.Stop("SPN1115", account,
                $"No account for site {site.Name}: profile '{profile.Name}', detector '{detector}' and site {site.Name} name none in {catalog.File}. Set <Account> (your {(site.Name == "perlmutter" ? "NERSC project, e.g. m1234" : site.Name == "polaris" ? "ALCF project" : "allocation")}), or accounts: {{{site.Name}: ...}} under the detector in the profiles file");
        var r = new Resources
        {
            Account = Word("Account", account, problems, catalog, profile, profile.Account, catalog.Detector(detector)?.AccountAt(site.Name), site.Account,
                site.Name == SiteDefinition.DefaultSite ? catalog.DefaultAccount : null),
            Partition = Word("Partition", s["Partition"], problems, catalog, profile, profile.Partition),
            Qos = Word("Qos", s["Qos"], problems, catalog, profile, profile.Qos),
            Gpus = Count(s["Gpus"], profile.Gpus, 0, problems),
            CpusPerTask = Count(s["CpusPerTask"], profile.CpusPerTask, 1, problems),
            Description = profile.Description,
            Nodes = profile.Nodes ?? (site.GpusPerNode ? 1 : null),
            GpusPerNode = site.GpusPerNode,
            System = profile.System,
            Place = profile.Place,
            Filesystems = profile.Filesystems,
        };
        var constraint = s["Constraint"];
        string? constraintText = constraint.IsSet ? constraint.Value : profile.Constraint;
        if (constraintText is { Length: > 0 })
            r.Constraint = ConstraintPattern().IsMatch(constraintText) ? constraintText
                : Refuse<string>("SPN1025", constraint, catalog, profile, $"Constraint '{constraintText}' is not valid: expected SLURM features: letters, digits and _ . - joined by & | , (e.g. gpu&hbm80g)", problems);

        var memory = s["MemPerCpu"];
        var memPerNode = s["MemPerNode"];
        if (memory.IsSet && memPerNode.IsSet)
            problems.Stop("SPN1116", memPerNode, $"MemPerCpu and MemPerNode both set the memory ({memory.Origin}, {memPerNode.Origin}); set one of them");
        string? nodeText = memPerNode.IsSet ? memPerNode.Value : memory.IsSet ? null : profile.Mem;
        if (nodeText is { Length: > 0 })
            r.MemPerNodeBytes = nodeText == "0" ? 0 : SettingValues.TryParseMemory(nodeText, out long nodeBytes) ? nodeBytes
                : Refuse<long>("SPN1025", memPerNode, catalog, profile, $"MemPerNode '{nodeText}' is not valid: expected a size such as 54g, 4000M, or 0 for the whole node", problems);
        string? memoryText = memory.IsSet ? memory.Value : r.MemPerNodeBytes is not null ? null : profile.MemPerCpu;
        if (memoryText is { Length: > 0 })
            r.MemPerCpuBytes = SettingValues.TryParseMemory(memoryText, out long bytes) ? bytes
                : Refuse<long>("SPN1025", memory, catalog, profile, $"MemPerCpu '{memoryText}' is not valid: expected a size such as 4g, 4000M or 8G (a number alone is MB)", problems);
        var time = s["Time"];
        string? timeText = time.IsSet ? time.Value : profile.Time;
        if (timeText is { Length: > 0 })
            r.Walltime = SettingValues.TryParseTimeLimit(timeText, out var limit) ? limit
                : Refuse<TimeSpan>("SPN1021", time, catalog, profile, $"Time '{timeText}' is not valid: expected minutes, MM:SS, H:MM:SS, D-HH, D-HH:MM, D-HH:MM:SS, or a number with a unit (90m, 4h, 2d), more than zero and at most a year", problems);
        // A profile may leave memory to the node (Polaris: whole nodes); a time limit it must give.
        if (r.Walltime is null)
            problems.Stop("SPN1303", "The profile gives no time, and the production sets none.", catalog.File, profile.Line);
        return r;
    }

    private static string? FirstSet(params string?[] values) => values.FirstOrDefault(v => !string.IsNullOrEmpty(v));

    /// <summary>Account, partition, qos: a word that is safe in any scheduler's directive.</summary>
    private static string? Word(string name, SettingValue setting, PlanProblems problems, ProfileCatalog catalog, Profile profile, params string?[] fallbacks)
    {
        string? value = setting.IsSet ? setting.Value : fallbacks.FirstOrDefault(f => !string.IsNullOrEmpty(f));
        if (value is null || SafeWord().IsMatch(value)) return value;
        return Refuse<string>("SPN1025", setting, catalog, profile, $"{name} '{value}' is not valid: expected letters, digits and _ . : + -", problems);
    }

    private static int Count(SettingValue setting, int profileValue, int min, PlanProblems problems)
    {
        if (!setting.IsSet) return profileValue;
        if (int.TryParse(setting.Value, NumberStyles.None, CultureInfo.InvariantCulture, out int v) && v >= min) return v;
        problems.Stop("SPN1026", setting, $"'{setting.Value}' is not a whole number >= {min}");
        return 0;
    }

    /// <summary>A bad value: at the setting's line when the production set it, else at the profile's line.</summary>
    private static T Refuse<T>(string code, SettingValue setting, ProfileCatalog catalog, Profile profile, string message, PlanProblems problems)
    {
        if (setting.IsSet) problems.Stop(code, setting, message);
        problems.Stop(code, $"{message} (from profile '{profile.Name}' in {Path.GetFileName(catalog.File)}).", catalog.File, profile.Line);
        return default!;
    }

    /// <summary>A value safe in #SBATCH/#PBS lines and job names: letters, digits and _ . : + -</summary>
    public static bool IsSafeWord(string value) => SafeWord().IsMatch(value);

    [GeneratedRegex(@"^[A-Za-z0-9_.:+-]+$")]
    private static partial Regex SafeWord();

    /// <summary>SLURM's feature expressions (<c>gpu</c>, <c>gpu&amp;hbm80g</c>, <c>a|b</c>), with nothing a shell or #SBATCH line would misread.</summary>
    [GeneratedRegex(@"^[A-Za-z0-9_.-]+([&|,][A-Za-z0-9_.-]+)*$")]
    private static partial Regex ConstraintPattern();
}
