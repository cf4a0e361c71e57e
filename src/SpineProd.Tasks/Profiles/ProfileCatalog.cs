using SpineProd.Diagnostics;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace SpineProd.Profiles;

/// <summary>One resource profile as written in profiles.yaml, with the line it starts on.</summary>
public sealed record Profile(
    string Name, string? Partition, int Gpus, int CpusPerTask, string MemPerCpu, string Time,
    string? Account, string? Qos, string? Description, int Line);

public sealed record DetectorDefaults(string Name, string? DefaultProfile, string? Account, string? ConfigsDir, int Line);

/// <summary>
/// templates/profiles.yaml (or a site's file): profiles, detector defaults and global defaults.
/// Detectors keep file order, because detection takes the first key found in the config path.
/// </summary>
public sealed class ProfileCatalog
{
    public const string AutoProfile = "auto";
    private static readonly string[] RequiredFields = ["partition", "gpus", "cpus_per_task", "mem_per_cpu", "time"];

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
                foreach (var field in RequiredFields)
                    if (Scalar(p, field) is null && !(field == "partition" && Child(p, field) is YamlScalarNode))
                        throw new SpineProdException("SPN1303", $"Profile '{key}' has no '{field}'. Every profile needs {string.Join(", ", RequiredFields)}.", path, Line(key, profilesNode), 1);
                profiles[key] = new Profile(key,
                    Scalar(p, "partition"),
                    Int(p, "gpus", path, key),
                    Int(p, "cpus_per_task", path, key),
                    Scalar(p, "mem_per_cpu")!,
                    Scalar(p, "time")!,
                    Scalar(p, "account"),
                    Scalar(p, "qos"),
                    Scalar(p, "description"),
                    (int)value.Start.Line);
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
                detectors.Add(new DetectorDefaults(key, Scalar(d, "default_profile"), Scalar(d, "account"), Scalar(d, "configs_dir"), (int)value.Start.Line));
            }

        string? account = null, defaultProfile = null, cleanupProfile = null;
        int? maxArray = null;
        if (Child(root, "defaults") is YamlMappingNode defaults)
        {
            account = Scalar(defaults, "account");
            defaultProfile = Scalar(defaults, "default_profile");
            cleanupProfile = Scalar(defaults, "cleanup_profile");
            if (Scalar(defaults, "max_array_size") is { } m)
                maxArray = int.TryParse(m, out int v) && v > 0 ? v
                    : throw Error(path, Child(defaults, "max_array_size")!, $"defaults.max_array_size must be a positive integer, not '{m}'.");
        }
        var catalog = new ProfileCatalog(path, profiles, detectors, account, defaultProfile, maxArray, cleanupProfile);
        foreach (var d in detectors)
            if (d.DefaultProfile is { } dp && !profiles.ContainsKey(dp))
                throw new SpineProdException("SPN1304", $"Detector '{d.Name}' names default_profile '{dp}', which is not defined. Known profiles: {catalog.KnownProfiles}.", path, d.Line, 1);
        return catalog;
    }

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

    /// <summary>Resolves a profile name ("auto" = the detector's default profile).</summary>
    public Profile Resolve(string requested, string detector, string? file = null, int line = 0)
    {
        string name = requested;
        if (string.Equals(requested, AutoProfile, StringComparison.OrdinalIgnoreCase))
            name = Detector(detector)?.DefaultProfile ?? DefaultProfile ?? "s3df_ampere";
        if (Profiles.TryGetValue(name, out var p)) return p;
        throw new SpineProdException("SPN1305", $"Unknown profile '{name}'. Known profiles in {File}: {KnownProfiles}.", file, line, line > 0 ? 1 : 0);
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
