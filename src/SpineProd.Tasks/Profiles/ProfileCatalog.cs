using SpineProd.Diagnostics;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;
using SpineProd.Sites;

namespace SpineProd.Profiles;

/// <summary>
/// One resource profile as written in profiles.yaml, with the line it starts on. <c>Partition</c> is a
/// SLURM partition or a PBS queue (spine-prod's <c>queue</c>); <c>Gpus</c> and <c>CpusPerTask</c> are
/// per task (spine-prod's <c>gpus_per_node</c>/<c>cpus_per_node</c> are the same: a task is one node share).
/// </summary>
public sealed record Profile(
    string Name, string? Partition, int Gpus, int CpusPerTask, string? MemPerCpu, string Time,
    string? Account, string? Qos, string? Description, int Line)
{
    /// <summary>The site the profile is for (canonical name); s3df when the profile says none, as spine-prod.</summary>
    public string Site { get; init; } = Sites.SiteDefinition.DefaultSite;
    public string? Constraint { get; init; }
    /// <summary>Memory of the whole task (SLURM <c>--mem</c>); "0" asks for the whole node.</summary>
    public string? Mem { get; init; }
    public int? Nodes { get; init; }
    public string? System { get; init; }
    public string? Place { get; init; }
    public string? Filesystems { get; init; }
}

/// <summary>A detector's defaults: <c>Account</c> is its S3DF account (spine-prod's), <c>SiteAccounts</c> those of other sites.</summary>
public sealed record DetectorDefaults(string Name, string? DefaultProfile, string? Account, string? ConfigsDir, int Line)
{
    public IReadOnlyDictionary<string, string> SiteAccounts { get; init; } = new Dictionary<string, string>();

    /// <summary>The detector's account at <paramref name="site"/>: its own entry, else (at S3DF, where spine-prod's accounts are) <c>account</c>.</summary>
    public string? AccountAt(string site) =>
        SiteAccounts.TryGetValue(site, out var a) ? a : site == Sites.SiteDefinition.DefaultSite ? Account : null;
}

/// <summary>
/// templates/profiles.yaml (or a site's file): profiles, detector defaults and global defaults.
/// Detectors keep file order, because detection takes the first key found in the config path.
/// </summary>
public sealed class ProfileCatalog
{
    public const string AutoProfile = "auto";
    private static readonly (string Field, string? Alternative)[] RequiredFields = [("gpus", "gpus_per_node"), ("cpus_per_task", "cpus_per_node"), ("time", null)];
    private const string RequiredList = "gpus (or gpus_per_node), cpus_per_task (or cpus_per_node) and time";

    public string File { get; }
    public IReadOnlyDictionary<string, Profile> Profiles { get; }
    public IReadOnlyList<DetectorDefaults> Detectors { get; }
    public string? DefaultAccount { get; }
    public string? DefaultProfile { get; }
    public int? MaxArraySize { get; }
    public string? CleanupProfile { get; }

    private ProfileCatalog(string file, Dictionary<string, Profile> profiles, List<DetectorDefaults> detectors,
        string? defaultAccount, string? defaultProfile, int? maxArraySize, string? cleanupProfile)
    {
        File = file; Profiles = profiles; Detectors = detectors; DefaultAccount = defaultAccount;
        DefaultProfile = defaultProfile; MaxArraySize = maxArraySize; CleanupProfile = cleanupProfile;
    }

    public static ProfileCatalog Load(string path)
    {
        if (!System.IO.File.Exists(path))
            throw new SpineProdException("SPN1301", $"The profiles file '{path}' does not exist. Set <ProfilesFile> to a profiles.yaml (see templates/profiles.yaml).");
        YamlStream yaml;
        try
        {
            yaml = IO.SafeYaml.Load(path);
        }
        catch (IO.FileRefusedException e)
        {
            throw new SpineProdException("SPN1045", $"The profiles file '{path}' cannot be read: {e.Reason}; profiles are a YAML text file.", path);
        }
        catch (YamlException e)
        {
            throw new SpineProdException("SPN1302", $"The profiles file is not valid YAML: {e.InnerException?.Message ?? e.Message}", path, (int)e.Start.Line, (int)e.Start.Column);
        }
        if (yaml.Documents.Count == 0 || yaml.Documents[0].RootNode is not YamlMappingNode root)
            throw new SpineProdException("SPN1302", "The profiles file must be a YAML mapping with 'profiles:', 'detectors:' and 'defaults:'.", path, 1, 1);

        var profiles = new Dictionary<string, Profile>(StringComparer.Ordinal);
        if (Child(root, "profiles") is { } profilesNode)
        {
            foreach (var (key, value) in Entries(profilesNode, path, "profiles"))
            {
                if (value is not YamlMappingNode p)
                    throw Error(path, value, $"Profile '{key}' must be a mapping of fields (partition, gpus, cpus_per_task, mem_per_cpu, time).");
                int line = Line(key, profilesNode);
                // Required: what every scheduler needs. Partition and memory are optional: a NERSC
                // profile has a QOS and --mem, a Polaris one a queue and whole nodes.
                foreach (var (field, alternative) in RequiredFields)
                    if (Scalar(p, field) is null && (alternative is null || Scalar(p, alternative) is null))
                        throw new SpineProdException("SPN1303", $"Profile '{key}' has no '{field}'{(alternative is null ? "" : $" (or '{alternative}')")}. Every profile needs {RequiredList}.", path, line, 1);
                string siteName = Scalar(p, "site") ?? SiteDefinition.DefaultSite;
                profiles[key] = new Profile(key,
                    Scalar(p, "partition") ?? Scalar(p, "queue"),
                    Int(p, Scalar(p, "gpus") is null ? "gpus_per_node" : "gpus", path, key),
                    Int(p, Scalar(p, "cpus_per_task") is null ? "cpus_per_node" : "cpus_per_task", path, key),
                    Scalar(p, "mem_per_cpu"),
                    Scalar(p, "time")!,
                    Scalar(p, "account"),
                    Scalar(p, "qos"),
                    Scalar(p, "description"),
                    (int)value.Start.Line)
                {
                    Site = SiteDefinition.Canonical(siteName),
                    Constraint = Scalar(p, "constraint"),
                    Mem = Scalar(p, "mem"),
                    Nodes = Scalar(p, "nodes") is null ? null : Int(p, "nodes", path, key),
                    System = Scalar(p, "system"),
                    Place = Scalar(p, "place"),
                    Filesystems = Scalar(p, "filesystems"),
                };
            }
        }
        if (profiles.Count == 0)
            throw new SpineProdException("SPN1302", "The profiles file defines no profiles (a 'profiles:' mapping is needed).", path, 1, 1);

        var detectors = new List<DetectorDefaults>();
        if (Child(root, "detectors") is { } detectorsNode)
            foreach (var (key, value) in Entries(detectorsNode, path, "detectors"))
            {
                if (value is not YamlMappingNode d)
                    throw Error(path, value, $"Detector '{key}' must be a mapping (default_profile, account, configs_dir).");
                var siteAccounts = new Dictionary<string, string>(StringComparer.Ordinal);
                if (Child(d, "accounts") is { } accounts)
                    foreach (var (site, acct) in Entries(accounts, path, $"detectors.{key}.accounts"))
                        if (acct is YamlScalarNode { Value: { Length: > 0 } v }) siteAccounts[SiteDefinition.Canonical(site)] = v;
                detectors.Add(new DetectorDefaults(key, Scalar(d, "default_profile"), Scalar(d, "account"), Scalar(d, "configs_dir"), (int)value.Start.Line)
                    { SiteAccounts = siteAccounts });
            }

        var sites = new Dictionary<string, SiteDefinition>(StringComparer.Ordinal);
        if (Child(root, "sites") is { } sitesNode)
            foreach (var (key, value) in Entries(sitesNode, path, "sites"))
            {
                if (value is not YamlMappingNode m)
                    throw Error(path, value, $"Site '{key}' must be a mapping (scheduler, default_profile, container, image, ...).");
                var site = SiteDefinition.Read(SiteDefinition.Canonical(key), k => Scalar(m, k), path, (int)value.Start.Line,
                    k => Child(m, k) is { } field ? ((int)field.Start.Line, (int)field.Start.Column) : null);
                sites[site.Name] = site;
            }

        string? account = null, defaultProfile = null, cleanupProfile = null, spineVersion = null;
        int? maxArray = null;
        if (Child(root, "defaults") is YamlMappingNode defaults)
        {
            account = Scalar(defaults, "account");
            defaultProfile = Scalar(defaults, "default_profile");
            cleanupProfile = Scalar(defaults, "cleanup_profile");
            spineVersion = Scalar(defaults, "spine_version");
            if (Scalar(defaults, "max_array_size") is { } m)
                maxArray = int.TryParse(m, out int v) && v > 0 ? v
                    : throw Error(path, Child(defaults, "max_array_size")!, $"defaults.max_array_size must be a positive integer, not '{m}'.");
        }
        var catalog = new ProfileCatalog(path, profiles, detectors, account, defaultProfile, maxArray, cleanupProfile)
            { Sites = sites, DefaultSpineVersion = spineVersion };
        foreach (var d in detectors)
            if (d.DefaultProfile is { } dp && !profiles.ContainsKey(dp))
                throw new SpineProdException("SPN1304", $"Detector '{d.Name}' names default_profile '{dp}', which is not defined. Known profiles: {catalog.KnownProfiles}.", path, d.Line, 1);
        foreach (var site in sites.Values)
            foreach (var (what, name) in new[] { ("default_profile", site.DefaultProfile), ("cpu_profile", site.CpuProfile), ("cleanup_profile", site.CleanupProfile) })
                if (name is not null && !profiles.ContainsKey(name))
                    throw new SpineProdException("SPN1304", $"Site '{site.Name}' names {what} '{name}', which is not defined. Known profiles: {catalog.KnownProfiles}.", path, site.Line, 1);
        return catalog;
    }

    /// <summary>The sites this file defines (<c>sites:</c>); empty for a spine-prod profiles file.</summary>
    public IReadOnlyDictionary<string, SiteDefinition> Sites { get; private init; } = new Dictionary<string, SiteDefinition>();
    /// <summary>defaults.spine_version: spine-prod's DEFAULT_SPINE_VERSION.</summary>
    public string? DefaultSpineVersion { get; private init; }

    public string KnownProfiles => string.Join(", ", Profiles.Keys);

    /// <summary>spine-prod's rule: the first detector key (in file order) that is a substring of the config path; else generic.</summary>
    public string DetectDetector(string configPath)
    {
        var normalized = configPath.Replace('\\', '/');
        foreach (var d in Detectors)
            if (normalized.Contains(d.Name, StringComparison.Ordinal)) return d.Name;
        return "generic";
    }

    public DetectorDefaults? Detector(string name) => Detectors.FirstOrDefault(d => d.Name == name);

    /// <summary>
    /// Resolves a profile name at a site. "auto" is the detector's default profile when it is the
    /// site's, else the site's default (its CPU default when the detector's is a CPU profile), so that
    /// a production moves to another site with one property. A named profile of another site is
    /// SPN1121: its partitions, QOS and accounts mean nothing there.
    /// </summary>
    public Profile Resolve(string requested, string detector, SiteDefinition? site = null, string? file = null, int line = 0)
    {
        string siteName = site?.Name ?? SiteDefinition.DefaultSite;
        string name = requested;
        bool auto = string.Equals(requested, AutoProfile, StringComparison.OrdinalIgnoreCase);
        if (auto)
        {
            name = Detector(detector)?.DefaultProfile ?? DefaultProfile ?? "s3df_ampere";
            if (Profiles.TryGetValue(name, out var detectorDefault) && detectorDefault.Site != siteName)
            {
                var siteDefault = detectorDefault.Gpus > 0 ? site?.DefaultProfile : site?.CpuProfile ?? site?.DefaultProfile;
                name = siteDefault ?? throw new SpineProdException("SPN1111",
                    $"Profile auto: detector '{detector}' defaults to '{name}', a profile of {detectorDefault.Site}, and site '{siteName}' names no default_profile in {site?.File ?? File}. Set <Profile> to one of {siteName}'s profiles: {ProfilesOf(siteName)}.",
                    file, line, line > 0 ? 1 : 0);
            }
        }
        if (!Profiles.TryGetValue(name, out var p))
            throw new SpineProdException("SPN1305", $"Unknown profile '{name}'. Known profiles in {File}: {KnownProfiles}.", file, line, line > 0 ? 1 : 0);
        if (p.Site != siteName)
            throw new SpineProdException("SPN1121",
                $"Profile '{name}' is a profile of site {p.Site}, but the production runs at {siteName}. Set <Site>{p.Site}</Site> (or -p:Site={p.Site}) to run there, or a profile of {siteName}: {ProfilesOf(siteName)}.",
                file, line, line > 0 ? 1 : 0);
        return p;
    }

    /// <summary>The profiles of a site, for messages.</summary>
    public string ProfilesOf(string site)
    {
        var names = Profiles.Values.Where(p => p.Site == site).Select(p => p.Name).ToList();
        return names.Count == 0 ? "(none in " + File + ")" : string.Join(", ", names);
    }

    private static YamlNode? Child(YamlMappingNode map, string key) =>
        map.Children.TryGetValue(new YamlScalarNode(key), out var v) ? v : null;

    private static string? Scalar(YamlMappingNode map, string key) =>
        Child(map, key) is YamlScalarNode s && s.Value is { } v && v != "null" && v != "~" && !(v.Length == 0 && s.Style == YamlDotNet.Core.ScalarStyle.Plain) ? v : null;

    private static int Int(YamlMappingNode map, string key, string path, string profile)
    {
        var s = Scalar(map, key);
        if (s is not null && int.TryParse(s, out int v) && v >= 0) return v;
        throw Error(path, Child(map, key) ?? map, $"Profile '{profile}': '{key}' must be a whole number, not '{s}'.");
    }

    private static IEnumerable<(string Key, YamlNode Value)> Entries(YamlNode node, string path, string section)
    {
        if (node is not YamlMappingNode map)
            throw Error(path, node, $"'{section}:' must be a mapping.");
        foreach (var (k, v) in map.Children)
            yield return (((YamlScalarNode)k).Value ?? "", v);
    }

    private static int Line(string key, YamlNode parent) =>
        parent is YamlMappingNode m ? (int)m.Children.Keys.First(k => ((YamlScalarNode)k).Value == key).Start.Line : (int)parent.Start.Line;

    private static SpineProdException Error(string path, YamlNode node, string message) =>
        new("SPN1302", message, path, (int)node.Start.Line, (int)node.Start.Column);
}
