using System.Text.RegularExpressions;
using SpineProd.Diagnostics;

namespace SpineProd.Config;

/// <summary>One component chosen for a latest composite, and the candidates that had the same date.</summary>
public sealed record ComponentPick(string Component, string File, string? Version, IReadOnlyList<string> TiedWith);

/// <summary>The newest base/io/model/post components of a detector folder.</summary>
public sealed record LatestSelection(string DetectorDir, IReadOnlyList<ComponentPick> Picks, string? LatestVersion);

/// <summary>A modifier name and its files, oldest version first.</summary>
public sealed record ModifierInfo(string Name, IReadOnlyList<ModifierFile> Files);

public sealed record ModifierFile(string Path, string Stem, string? Version);

/// <summary>What an ApplyMods spec resolved to, and why (printed by ListMods and the build).</summary>
public sealed record ModifierChoice(string Spec, string Name, string Path, string? Version, string Reason, bool IsWarning);

/// <summary>
/// spine-prod's "latest" and modifier rules (research/upstream.md §1.4), with its bugs fixed:
/// <list type="bullet">
/// <item>a version is the first <c>_YYMMDD</c> (followed by <c>_</c>, <c>.</c> or the end) of a file stem;</item>
/// <item>latest takes, per component in order base, io, model, post, the newest <c>&lt;comp&gt;/&lt;comp&gt;_*.yaml</c>
/// that is not a <c>_common</c> fragment. Between equal dates spine-prod took whatever the file system
/// listed last; we take the ordinally greatest stem (so <c>model_co_250115</c> beats <c>model_250115</c>:
/// the qualified variant is the newer line of work) and report the tie;</item>
/// <item>modifiers are discovered from the config's own folder upward (so they work for latest and for
/// <c>legacy/</c> configs, which spine-prod got wrong), in <c>modifier/&lt;name&gt;/mod_*.yaml</c>, else the
/// flat <c>&lt;det&gt;_&lt;name&gt;_mod.cfg</c> layout;</item>
/// <item>modifier version: explicit (<c>lite:240719</c>), else the one equal to the base's version, else the
/// newest earlier one, else the oldest (with a warning); no base version: the newest.</item>
/// </list>
/// </summary>
public static partial class LatestAndModifiers
{
    public static readonly string[] Components = ["base", "io", "model", "post"];

    [GeneratedRegex(@"_(\d{6})(?:_|\.|$)")]
    private static partial Regex VersionRe();

    /// <summary>The version (YYMMDD) in a file stem, or null.</summary>
    public static string? VersionOf(string stem)
    {
        var m = VersionRe().Match(stem);
        return m.Success ? m.Groups[1].Value : null;
    }

    private static IEnumerable<string> YamlFiles(string dir, string pattern) =>
        Directory.Exists(dir)
            ? Directory.EnumerateFiles(dir, pattern + ".yaml").Concat(Directory.EnumerateFiles(dir, pattern + ".yml"))
            : [];

    /// <summary>True when <paramref name="dir"/> has at least one versioned component folder.</summary>
    public static bool HasComponents(string dir) =>
        Components.Any(c => YamlFiles(Path.Combine(dir, c), c + "_*").Any());

    /// <summary>Picks the newest components; <paramref name="dependencies"/> gets the folders listed.</summary>
    public static LatestSelection SelectLatest(string detectorDir, ICollection<string> dependencies)
    {
        if (!Directory.Exists(detectorDir))
            throw new SpineProdException(ConfigErrors.DetectorDirNotFound, $"Detector config directory not found: {detectorDir}", detectorDir);
        dependencies.Add(detectorDir);
        var picks = new List<ComponentPick>();
        foreach (var comp in Components)
        {
            var dir = Path.Combine(detectorDir, comp);
            if (!Directory.Exists(dir)) continue;
            dependencies.Add(dir);
            var candidates = YamlFiles(dir, comp + "_*")
                .Select(f => (File: Path.GetFullPath(f), Stem: Path.GetFileNameWithoutExtension(f)))
                .Where(c => !c.Stem.EndsWith("_common", StringComparison.Ordinal))
                .Select(c => (c.File, c.Stem, Version: VersionOf(c.Stem)))
                .OrderBy(c => c.Version ?? "", StringComparer.Ordinal)
                .ThenBy(c => c.Stem, StringComparer.Ordinal)
                .ToList();
            if (candidates.Count == 0) continue;
            var best = candidates[^1];
            var tied = candidates.Where(c => c.Version == best.Version && c.File != best.File).Select(c => c.File).ToList();
            picks.Add(new ComponentPick(comp, best.File, best.Version, tied));
        }
        if (picks.Count == 0)
            throw new SpineProdException(ConfigErrors.NoVersionedComponents,
                $"No versioned components found in {detectorDir}. Expected files like base/base_YYMMDD.yaml, io/io_YYMMDD.yaml, model/model_YYMMDD.yaml, post/post_YYMMDD.yaml.", detectorDir);
        var latest = picks.Select(p => p.Version).Where(v => v is not null).Max(StringComparer.Ordinal);
        return new LatestSelection(detectorDir, picks, latest);
    }

    /// <summary>
    /// Finds the modifiers for a config in <paramref name="startDir"/>: that folder, else its parents up
    /// to (not above) a folder named <c>infer</c> or <paramref name="stopAt"/>.
    /// </summary>
    public static (string? Dir, IReadOnlyList<ModifierInfo> Modifiers) Discover(string startDir, string? stopAt, ICollection<string> dependencies)
    {
        var stop = stopAt is null ? null : Path.GetFullPath(stopAt).TrimEnd(Path.DirectorySeparatorChar);
        // At most three levels (a config's folder, e.g. legacy/, up to its detector folder): walking
        // further would make unrelated folders dependencies of the plan.
        var level = 0;
        for (var d = new DirectoryInfo(Path.GetFullPath(startDir)); d is not null && level < 3; d = d.Parent, level++)
        {
            if (d.Name == "infer" || stop is not null && d.FullName.TrimEnd(Path.DirectorySeparatorChar) == stop) break;
            if (!d.Exists) continue;
            dependencies.Add(d.FullName);
            var found = DiscoverIn(d.FullName, dependencies);
            if (found.Count > 0) return (d.FullName, found);
        }
        return (null, []);
    }

    private static IReadOnlyList<ModifierInfo> DiscoverIn(string dir, ICollection<string> dependencies)
    {
        var result = new List<ModifierInfo>();
        var modRoot = Path.Combine(dir, "modifier");
        if (Directory.Exists(modRoot))
        {
            dependencies.Add(modRoot);
            foreach (var sub in Directory.EnumerateDirectories(modRoot).Order(StringComparer.Ordinal))
            {
                dependencies.Add(sub);
                var files = YamlFiles(sub, "mod_*")
                    .Select(f => new ModifierFile(Path.GetFullPath(f), Path.GetFileNameWithoutExtension(f), VersionOf(Path.GetFileNameWithoutExtension(f))))
                    .Where(f => !f.Stem.EndsWith("_common", StringComparison.Ordinal))
                    .OrderBy(f => f.Stem, StringComparer.Ordinal)
                    .ToList();
                if (files.Count > 0) result.Add(new ModifierInfo(Path.GetFileName(sub), files));
            }
            if (result.Count > 0) return result;
        }
        // Flat layout of the .cfg detectors: <det>_<name>_mod.cfg, one unversioned file per name.
        var det = Path.GetFileName(dir);
        foreach (var f in Directory.EnumerateFiles(dir, det + "_*_mod.*").Order(StringComparer.Ordinal))
        {
            if (!BulkConfigResolver.Extensions.Contains(Path.GetExtension(f), StringComparer.Ordinal)) continue;
            var stem = Path.GetFileNameWithoutExtension(f);
            if (!stem.EndsWith("_mod", StringComparison.Ordinal) || stem.Length <= det.Length + 5) continue;
            var name = stem[(det.Length + 1)..^4];
            if (name.Length == 0 || result.Any(r => r.Name == name)) continue;
            result.Add(new ModifierInfo(name, [new ModifierFile(Path.GetFullPath(f), stem, VersionOf(stem))]));
        }
        return result;
    }

    /// <summary>
    /// Splits "data_lite" (from a <c>latest_data_lite</c> name) into known modifier names, longest name
    /// first at each step, because names may themselves contain '_' (<c>sce_forward</c>).
    /// </summary>
    public static IReadOnlyList<string> SplitModifierNames(string joined, IReadOnlyList<ModifierInfo> available, string spineConfig)
    {
        var result = new List<string>();
        var rest = joined;
        while (rest.Length > 0)
        {
            var hit = available.Select(m => m.Name)
                .Where(n => rest == n || rest.StartsWith(n + "_", StringComparison.Ordinal))
                .OrderByDescending(n => n.Length)
                .FirstOrDefault()
                ?? throw new SpineProdException(ConfigErrors.UnknownModifier,
                    $"'{spineConfig}' asks for latest with modifiers '{joined}', but '{rest}' does not start with a known modifier. Available: {string.Join(", ", available.Select(m => m.Name))}");
            result.Add(hit);
            rest = rest.Length == hit.Length ? "" : rest[(hit.Length + 1)..];
        }
        return result;
    }

    /// <summary>Is this ApplyMods spec a file path (spine-prod: contains '/' or ends .yaml/.yml/.cfg)?</summary>
    public static bool IsFileSpec(string spec) =>
        spec.Contains('/') || spec.Contains('\\') || spec.EndsWith(".yaml", StringComparison.Ordinal) ||
        spec.EndsWith(".yml", StringComparison.Ordinal) || spec.EndsWith(".cfg", StringComparison.Ordinal);

    /// <summary>Resolves one ApplyMods spec (<c>data</c>, <c>lite:240719</c>, or a file) against the discovered modifiers.</summary>
    public static ModifierChoice Choose(string spec, IReadOnlyList<ModifierInfo> available, string? baseVersion, string productionDir)
    {
        if (IsFileSpec(spec))
        {
            var path = Path.GetFullPath(Path.Combine(productionDir, spec));
            if (!File.Exists(path))
                throw new SpineProdException(ConfigErrors.ModifierFileNotFound, $"Custom modifier file not found: {spec} (looked for {path})");
            var stem = Path.GetFileNameWithoutExtension(path);
            var tag = stem.StartsWith("mod_", StringComparison.Ordinal) ? stem[4..] : stem;
            return new ModifierChoice(spec, tag, path, VersionOf(stem), "file given", false);
        }
        var colon = spec.IndexOf(':');
        var name = colon >= 0 ? spec[..colon] : spec;
        var version = colon >= 0 ? spec[(colon + 1)..] : null;
        var info = available.FirstOrDefault(m => m.Name == name)
            ?? throw new SpineProdException(ConfigErrors.UnknownModifier,
                $"Unknown modifier: {name}. Available: {string.Join(", ", available.Select(m => m.Name))}");
        var files = info.Files;
        if (version is not null)
        {
            var hit = files.FirstOrDefault(f => f.Stem.Contains(version, StringComparison.Ordinal))
                ?? throw new SpineProdException(ConfigErrors.ModifierVersionNotFound,
                    $"Modifier '{name}' version '{version}' not found. Available: [{string.Join(", ", files.Select(f => f.Version ?? f.Stem))}]");
            return new ModifierChoice(spec, name, hit.Path, hit.Version, $"version {version} requested", false);
        }
        var versioned = files.Where(f => f.Version is not null).OrderBy(f => f.Version, StringComparer.Ordinal).ThenBy(f => f.Stem, StringComparer.Ordinal).ToList();
        if (versioned.Count == 0)
            return new ModifierChoice(spec, name, files[^1].Path, null, "unversioned", false);
        if (baseVersion is null)
            return new ModifierChoice(spec, name, versioned[^1].Path, versioned[^1].Version, $"no version in base config, using latest version {versioned[^1].Version}", false);
        var exact = versioned.LastOrDefault(f => f.Version == baseVersion);
        if (exact is not null) return new ModifierChoice(spec, name, exact.Path, exact.Version, $"using matching version {baseVersion}", false);
        var earlier = versioned.LastOrDefault(f => string.CompareOrdinal(f.Version, baseVersion) <= 0);
        if (earlier is not null)
            return new ModifierChoice(spec, name, earlier.Path, earlier.Version, $"no exact match for {baseVersion}, using closest earlier version {earlier.Version}", false);
        return new ModifierChoice(spec, name, versioned[0].Path, versioned[0].Version, $"no earlier version found for {baseVersion}, using oldest available {versioned[0].Version}", true);
    }
}
