using System.Security.Cryptography;
using System.Text;
using SpineProd.Diagnostics;

namespace SpineProd.Config;

public sealed record ResolvedJobConfig(
    string DisplayName,                 // e.g. "infer/icarus/latest" or the file as the user gave it
    string ConfigStem,                  // for the default job name spine_<detector>_<stem>
    string? Detector,                   // detector implied by the config location if known, else null
    IReadOnlyDictionary<string, string> FilesToWrite, // relative path under the job's "config/" dir -> content
    string ConfigArgument,              // what SPINE gets as -c
    string ResolvedSha256,
    IReadOnlyList<string> Dependencies  // absolute paths of every file and folder read
)
{
    /// <summary>The fully resolved tree (as in resolved.yaml).</summary>
    public ConfigMap Config { get; init; } = new();

    /// <summary>File name of the generated composite under config/, or null when SPINE gets the user's file.</summary>
    public string? CompositeFileName { get; init; }

    /// <summary>What was chosen and why (latest picks, modifier versions, rewritten relative paths), for the build log.</summary>
    public IReadOnlyList<string> Messages { get; init; } = [];

    /// <summary>SPN warnings (strict: warn problems, duplicate keys, modifier fallbacks).</summary>
    public IReadOnlyList<SpnDiagnostic> Warnings { get; init; } = [];
}

/// <summary>
/// Turns a production's SpineConfig + ApplyMods into what the job runs and what was validated.
/// <para>
/// Composite location and <c>parent_path</c> (research/upstream.md §4.5): SPINE's run.py sets
/// <c>base.parent_path</c> to the folder of the file given with <c>-c</c>, overwriting any value, and
/// resolves relative path strings (e.g. <c>cfg: flashmatch/flashmatch_250214.cfg</c>) against it.
/// So: with no latest and no modifiers there is no composite and SPINE gets the user's file by its
/// absolute path (parent_path is exactly what the config's author meant). Otherwise the composite is
/// written into the job's <c>config/</c> folder (per-job, never into the source tree), its includes are
/// absolute paths (valid wherever the job folder is, checked by sources.sha256), and every relative
/// path value that exists relative to the base config's folder (or, failing that, next to the file
/// that wrote it, or any file read) is pinned to its absolute path by a top-level <c>override:</c> in
/// the composite, so it resolves on the compute node although parent_path is now the job's config/
/// folder. Without a composite, a relative value SPINE would look for in the wrong folder is SPN2033.
/// </para>
/// </summary>
public static class JobConfigResolver
{
    /// <summary>ApplyMods as written: specs separated by ';' (MSBuild's list separator) or ','.</summary>
    public static IReadOnlyList<string> SplitModifierSpecs(string? mods) =>
        (mods ?? "").Split([';', ','], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

    /// <param name="spineSet">SPINE's --set entries (SpineSet), applied to the resolved tree as SPINE's CLI applies them;
    /// <paramref name="setFile"/> and <paramref name="setLine"/> say where they were written, for errors and warnings.</param>
    public static ResolvedJobConfig Resolve(string spineConfig, IReadOnlyList<string> applyMods, string productionDir, string repoRoot,
        IReadOnlyDictionary<string, string?> env, IReadOnlyList<string>? spineSet = null, string? setFile = null, int setLine = 0)
    {
        if (string.IsNullOrWhiteSpace(spineConfig))
            throw new SpineProdException(ConfigErrors.SpineConfigNotFound, "SpineConfig is empty: set it to a SPINE config file, a detector folder (infer/icarus) or a 'latest' name.");
        productionDir = Path.GetFullPath(productionDir);
        repoRoot = Path.GetFullPath(repoRoot);
        var deps = new SortedSet<string>(StringComparer.Ordinal);
        var messages = new List<string>();
        var warnings = new List<SpnDiagnostic>();
        var located = Locate(spineConfig.Trim(), productionDir, repoRoot, env);
        var display = spineConfig.Trim().Replace('\\', '/');

        // What the composite includes, and the version modifiers are matched against.
        var includes = new List<string>();
        string baseStem, configStem, intendedParent;
        string? baseVersion;
        if (located.LatestDir is { } detDir)
        {
            var sel = LatestAndModifiers.SelectLatest(detDir, deps);
            foreach (var p in sel.Picks)
            {
                includes.Add(p.File);
                messages.Add($"latest: {p.Component,-6} -> {Path.GetFileName(p.File)}" +
                    (p.TiedWith.Count > 0 ? $" (same date as {string.Join(", ", p.TiedWith.Select(Path.GetFileName))}: ordinally greatest name wins)" : ""));
            }
            baseVersion = sel.LatestVersion;
            baseStem = $"{Path.GetFileName(detDir)}_latest{(baseVersion is null ? "" : "_" + baseVersion)}";
            configStem = located.ImpliedMods is null ? "latest" : "latest_" + located.ImpliedMods;
            intendedParent = detDir;
        }
        else
        {
            var file = located.File!;
            includes.Add(file);
            configStem = Path.GetFileNameWithoutExtension(file);
            // A latest*.cfg link names its target's version: modifiers match that, composites carry it.
            var target = LinkTarget(file);
            baseStem = Path.GetFileNameWithoutExtension(target);
            baseVersion = LatestAndModifiers.VersionOf(baseStem);
            intendedParent = Path.GetDirectoryName(file)!;
        }

        var mods = applyMods.Select(m => m.Trim()).Where(m => m.Length > 0).ToList();
        var modNames = new List<string>();
        if (mods.Count > 0 || located.ImpliedMods is not null)
        {
            var (_, available) = LatestAndModifiers.Discover(intendedParent, repoRoot, deps);
            if (located.ImpliedMods is not null)
                mods.InsertRange(0, LatestAndModifiers.SplitModifierNames(located.ImpliedMods, available, display));
            foreach (var spec in mods)
            {
                var choice = LatestAndModifiers.Choose(spec, available, baseVersion, productionDir);
                includes.Add(choice.Path);
                modNames.Add(choice.Name);
                var line = $"modifier {choice.Name}: {Path.GetFileName(choice.Path)} ({choice.Reason})";
                messages.Add(line);
                if (choice.IsWarning) warnings.Add(new SpnDiagnostic(ConfigErrors.ModifierOldest, line, choice.Path));
            }
        }

        var loader = new SpineConfigLoader(env);
        ConfigMap config;
        string? compositeName = null;
        string? compositeText = null;
        string configArgument;
        if (located.LatestDir is null && mods.Count == 0) // (an implied latest_<mods> always has a LatestDir)
        {
            config = loader.LoadFile(located.File!);
            // SPINE resolves relative path values against the config's folder (base.parent_path). One
            // that only exists next to the file that wrote it (e.g. post/flashmatch/...) fails on the node.
            foreach (var (key, rel, abs, mark, _) in RelativePathPins(config, intendedParent, DirsOf(loader.FilesRead), pinUnderParent: false))
                warnings.Add(new SpnDiagnostic(ConfigErrors.RelativeValuePath,
                    $"{key}: '{rel}' does not exist relative to {intendedParent}, where SPINE will look for it (base.parent_path); it exists as {abs}. Write it as '!path {rel}' in its file.",
                    mark?.File, mark?.Line ?? 0, mark?.Column ?? 0));
            // SPINE on the node must read YAML, not a Git symlink placeholder: point it at the target.
            var arg = located.File!;
            for (var hop = 0; hop < 8 && File.Exists(arg) && SpineConfigLoader.LinkPlaceholderTarget(arg, Yaml11Reader.ReadText(arg)) is { } t; hop++) arg = t;
            configArgument = arg;
        }
        else
        {
            compositeName = baseStem + string.Concat(modNames.Select(n => "_" + n)) + "_composite.yaml";
            var header = new List<string>
            {
                "# Auto-generated by SpineProd on every build; do not edit.",
                $"# Base: {display}",
            };
            if (mods.Count > 0) header.Add($"# Modifiers: {string.Join(", ", mods)}");
            if (located.LatestDir is not null && baseVersion is not null) header.Add($"# Latest version: {baseVersion}");
            var virtualPath = Path.Combine(productionDir, Layout.ProductionLayout.Job.Config, compositeName);
            compositeText = Composite(header, includes, []);
            config = loader.LoadString(compositeText, virtualPath, intendedParent);

            var pins = RelativePathPins(config, intendedParent, DirsOf(loader.FilesRead), pinUnderParent: true);
            if (pins.Count > 0)
            {
                foreach (var (key, rel, abs, _, underParent) in pins)
                    messages.Add($"{key}: relative path '{rel}' pinned to {abs} (the composite's folder is not the base config's" +
                        (underParent ? ")" : "; SPINE alone would have looked for it next to the base config, where it is not)"));
                compositeText = Composite(header, includes, pins.Select(p => (p.Key, p.Absolute)).ToList());
                loader = new SpineConfigLoader(env);
                config = loader.LoadString(compositeText, virtualPath, intendedParent);
            }
            configArgument = Layout.ProductionLayout.Job.ConfigFile(compositeName);
        }

        foreach (var f in loader.FilesRead) deps.Add(f);
        warnings.InsertRange(0, loader.Warnings);
        if (spineSet is { Count: > 0 })
        {
            try
            {
                foreach (var w in SpineOverrides.Apply(config, spineSet))
                    warnings.Add(new SpnDiagnostic(SpineOverrides.NewKey, w, setFile, setLine, setLine > 0 ? 1 : 0));
            }
            catch (SpineProdException e) when (e.File is null)
            {
                throw new SpineProdException(e.Code, e.Message, setFile, setLine, setLine > 0 ? 1 : 0);
            }
        }

        var resolvedYaml = "# Fully resolved SPINE configuration (what the job's SPINE sees; written by SpineProd).\n" + YamlWriter.Write(config);
        var resolvedSha = Sha256Hex(Encoding.UTF8.GetBytes(resolvedYaml));
        var files = new SortedDictionary<string, string>(StringComparer.Ordinal);
        if (compositeName is not null) files[compositeName] = compositeText!;
        files["resolved.yaml"] = resolvedYaml;
        files["resolved.sha256"] = $"{resolvedSha}  resolved.yaml\n";
        var manifest = new StringBuilder();
        foreach (var f in loader.FilesRead.Order(StringComparer.Ordinal))
        {
            // sha256sum's format: a name with a backslash or newline is escaped and the line starts with '\'.
            var escaped = f.Contains('\\') || f.Contains('\n');
            var name = escaped ? f.Replace("\\", "\\\\").Replace("\n", "\\n") : f;
            manifest.Append(escaped ? "\\" : "").Append(Sha256OfFile(f)).Append("  ").Append(name).Append('\n');
        }
        files[Layout.ProductionLayout.Job.ConfigSourcesName] = manifest.ToString();

        return new ResolvedJobConfig(display, configStem, DetectorOf(located.LatestDir ?? located.File!), files, configArgument,
            resolvedSha, deps.ToList())
        {
            Config = config,
            CompositeFileName = compositeName,
            Messages = messages,
            Warnings = warnings,
        };
    }

    /// <summary><paramref name="ImpliedMods"/>: the "data_lite" of a missing <c>latest_data_lite</c> name.</summary>
    private sealed record Located(string? File, string? LatestDir, string? ImpliedMods = null);

    /// <summary>Where a SpineConfig points: a file, or a detector folder whose latest composite is built.</summary>
    public static (string? File, string? LatestDir) LocateConfig(string spineConfig, string productionDir, string repoRoot, IReadOnlyDictionary<string, string?> env)
    {
        if (string.IsNullOrWhiteSpace(spineConfig))
            throw new SpineProdException(ConfigErrors.SpineConfigNotFound, "SpineConfig is empty: set it to a SPINE config file, a detector folder (infer/icarus) or a 'latest' name.");
        var l = Locate(spineConfig.Trim(), Path.GetFullPath(productionDir), Path.GetFullPath(repoRoot), env);
        return (l.File, l.LatestDir);
    }

    /// <summary>
    /// Finds the SpineConfig: relative to the production, the repository root, its <c>config/</c> folder
    /// (the newer <c>config/infer/&lt;det&gt;</c> layout) and each SPINE_CONFIG_PATH entry; a file (with
    /// .yaml/.yml/.cfg tried), a detector folder (latest), or a missing <c>latest</c> name in a folder.
    /// </summary>
    private static Located Locate(string spec, string productionDir, string repoRoot, IReadOnlyDictionary<string, string?> env)
    {
        var roots = Path.IsPathRooted(spec)
            ? new List<string> { "" }
            : new List<string> { productionDir, repoRoot, Path.Combine(repoRoot, "config") }.Concat(SpineConfigLoader.SearchPath(env)).ToList();
        foreach (var root in roots)
        {
            var p = Path.TrimEndingDirectorySeparator(Path.GetFullPath(root.Length == 0 ? spec : Path.Combine(root, spec)));
            if (Directory.Exists(p))
            {
                if (LatestAndModifiers.HasComponents(p)) return new Located(null, p);
                foreach (var ext in new[] { ".cfg", ".yaml", ".yml" })
                    if (File.Exists(Path.Combine(p, "latest" + ext))) return new Located(Path.Combine(p, "latest" + ext), null);
                return new Located(null, p); // SelectLatest reports "no versioned components"
            }
            if (File.Exists(p)) return new Located(p, null);
            foreach (var ext in new[] { ".yaml", ".yml", ".cfg" })
                if (File.Exists(p + ext)) return new Located(p + ext, null);
            // "infer/icarus/latest": no such file, so build the latest composite of its folder.
            var parent = Path.GetDirectoryName(p);
            var stem = Path.GetFileNameWithoutExtension(p);
            if (stem == "latest" && parent is not null && Directory.Exists(parent) && LatestAndModifiers.HasComponents(parent))
                return new Located(null, parent);
            // "infer/icarus/latest_data": what spine-prod's latest_data.cfg links mean, for modular folders.
            if (stem.StartsWith("latest_", StringComparison.Ordinal) && stem.Length > 7 && parent is not null && Directory.Exists(parent) && LatestAndModifiers.HasComponents(parent))
                return new Located(null, parent, stem[7..]);
        }
        var near = NearNames(spec, roots);
        throw new SpineProdException(ConfigErrors.SpineConfigNotFound,
            $"SpineConfig '{spec}' not found" + (near.Count > 0 ? $"; did you mean {string.Join(" or ", near.Select(n => $"'{n}'"))}?" : ".") +
            $" Searched relative to: {string.Join(", ", roots.Where(r => r.Length > 0))}" +
            (spec.Contains("latest_", StringComparison.Ordinal) && near.Count == 0 ? ". For a latest variant use SpineConfig=<dir>/latest with ApplyMods (e.g. ApplyMods=data)." : "."));
    }

    /// <summary>
    /// Names the user probably meant, written as they wrote the missing one: the same name with
    /// another extension (.cfg / .yaml / .yml), a near name in the same folder, and for a modular
    /// folder its latest (and latest_&lt;modifier&gt;) names.
    /// </summary>
    private static List<string> NearNames(string spec, List<string> roots)
    {
        int slash = spec.Replace('\\', '/').LastIndexOf('/');
        string prefix = slash >= 0 ? spec[..(slash + 1)] : "", name = spec[(slash + 1)..];
        string stem = Path.GetFileNameWithoutExtension(name).ToLowerInvariant();
        var found = new List<(string Name, int Rank)>();
        foreach (var root in roots)
        {
            var dir = Path.GetFullPath(root.Length == 0 ? (prefix.Length > 0 ? prefix : ".") : Path.Combine(root, prefix));
            if (!Directory.Exists(dir)) continue;
            var candidates = Directory.EnumerateFiles(dir).Select(Path.GetFileName)
                .Where(f => f!.EndsWith(".yaml", StringComparison.Ordinal) || f.EndsWith(".yml", StringComparison.Ordinal) || f.EndsWith(".cfg", StringComparison.Ordinal))
                .Select(f => f!).ToList();
            if (LatestAndModifiers.HasComponents(dir))
            {
                candidates.Add("latest");
                var modifiers = Path.Combine(dir, "modifier");
                if (Directory.Exists(modifiers))
                    candidates.AddRange(Directory.EnumerateDirectories(modifiers).Select(m => "latest_" + Path.GetFileName(m)));
            }
            foreach (var c in candidates.Distinct())
            {
                string cstem = Path.GetFileNameWithoutExtension(c).ToLowerInvariant();
                int rank = cstem == stem ? 0 : Planning.ProductionFile.Distance(cstem, stem) is int d && d <= Math.Max(2, stem.Length / 4) ? d
                    : stem.Length >= 4 && (cstem.StartsWith(stem, StringComparison.Ordinal) || stem.StartsWith(cstem, StringComparison.Ordinal)) ? 10 : -1;
                if (rank >= 0 && c != name) found.Add((prefix + c, rank));
            }
            if (found.Count > 0) break;
        }
        return found.OrderBy(f => f.Rank).ThenBy(f => f.Name, StringComparer.Ordinal).Select(f => f.Name).Distinct().Take(3).ToList();
    }

    private static string? PlaceholderText(string file)
    {
        try { return IO.SafeFile.ReadAllText(file, 1024); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or System.Text.DecoderFallbackException) { return null; }
    }

    /// <summary>The file a symlink or Git symlink placeholder finally points at (the file itself otherwise).</summary>
    public static string LinkTarget(string file)
    {
        var f = file;
        for (var hop = 0; hop < 8; hop++)
        {
            var info = new FileInfo(f);
            if (info.LinkTarget is not null && info.ResolveLinkTarget(returnFinalTarget: true) is { } real) { f = real.FullName; continue; }
            if (info.Exists && info.Length <= 1024 && PlaceholderText(f) is { } text && SpineConfigLoader.LinkPlaceholderTarget(f, text) is { } t) { f = t; continue; }
            break;
        }
        return f;
    }

    /// <summary>The detector folder name after the last <c>infer</c> in the path, if any.</summary>
    public static string? DetectorOf(string path)
    {
        var parts = Path.GetFullPath(path).Split(Path.DirectorySeparatorChar, StringSplitOptions.RemoveEmptyEntries);
        for (var i = parts.Length - 2; i >= 0; i--)
            if (parts[i] == "infer") return i + 1 < parts.Length - (File.Exists(path) ? 1 : 0) ? parts[i + 1] : null;
        return null;
    }

    private static string Composite(List<string> header, List<string> includes, List<(string Key, string Absolute)> pins)
    {
        var sb = new StringBuilder();
        foreach (var h in header) sb.Append(h).Append('\n');
        sb.Append('\n').Append("include:\n");
        foreach (var i in includes) sb.Append("  - ").Append(YamlWriter.Str(i)).Append('\n');
        if (pins.Count > 0)
        {
            sb.Append("\n# Relative paths resolved against the base config's folder (SPINE resolves them against this file's folder).\noverride:\n");
            foreach (var (k, abs) in pins) sb.Append("  ").Append(YamlWriter.Str(k)).Append(": ").Append(YamlWriter.Str(abs)).Append('\n');
        }
        return sb.ToString();
    }

    private static List<string> DirsOf(IEnumerable<string> files) => files.Select(f => Path.GetDirectoryName(f)!).Distinct().ToList();

    /// <summary>
    /// String values (under map-only dotted paths) that are relative paths to existing files: first
    /// looked for next to the base config (parent_path), then next to the file that wrote the value,
    /// then next to any file read. With <paramref name="pinUnderParent"/> false only those NOT found next
    /// to the base config are returned (the ones SPINE would miss).
    /// </summary>
    private static List<(string Key, string Relative, string Absolute, SourceMark? Mark, bool UnderParent)> RelativePathPins(
        ConfigMap config, string intendedParent, List<string> readDirs, bool pinUnderParent)
    {
        var result = new List<(string, string, string, SourceMark?, bool)>();
        void Walk(ConfigMap m, string prefix)
        {
            foreach (var (k, v, mark) in m.EntriesWithMarks())
            {
                if (k is not string ks || ks.Length == 0 || ks.Contains('.') || ks.EndsWith('+') || ks.EndsWith('-')) continue;
                var key = prefix.Length == 0 ? ks : prefix + "." + ks;
                if (v is ConfigMap sub) { Walk(sub, key); continue; }
                if (v is not string s || !LooksLikeRelativeFile(s)) continue;
                var underParent = Path.GetFullPath(Path.Combine(intendedParent, s));
                if (File.Exists(underParent))
                {
                    if (pinUnderParent) result.Add((key, s, underParent, mark, true));
                    continue;
                }
                var candidates = new List<string>();
                if (mark?.File is { } mf && Path.IsPathRooted(mf)) candidates.Add(Path.GetDirectoryName(mf)!);
                candidates.AddRange(readDirs);
                foreach (var dir in candidates)
                {
                    var abs = Path.GetFullPath(Path.Combine(dir, s));
                    if (File.Exists(abs)) { result.Add((key, s, abs, mark, false)); break; }
                }
            }
        }
        Walk(config, "");
        return result;
    }

    private static bool LooksLikeRelativeFile(string s) =>
        s.Length > 0 && !Path.IsPathRooted(s) && !s.StartsWith('$') && !s.StartsWith('~') && !s.Contains("://") &&
        !s.Any(char.IsWhiteSpace) && (s.Contains('/') || Path.HasExtension(s)) && s.IndexOfAny(Path.GetInvalidPathChars()) < 0;

    public static string Sha256Hex(byte[] bytes) => Convert.ToHexStringLower(SHA256.HashData(bytes));

    /// <summary>A file's SHA-256, streamed (a !path target may be gigabytes of weights); a FIFO or device is SPN2050.</summary>
    private static string Sha256OfFile(string file)
    {
        try
        {
            using var stream = IO.SafeFile.OpenRead(file);
            return Convert.ToHexStringLower(SHA256.HashData(stream));
        }
        catch (IO.FileRefusedException e)
        {
            throw new SpineProdException(ConfigErrors.NotRegularFile, $"{file}: {e.Reason}; SpineProd records a checksum of every file the config reads", file);
        }
    }
}
