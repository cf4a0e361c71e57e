namespace SpineProd.Config;

/// <summary>What a CI validation build resolves: the top-level configs of every detector folder.</summary>
public static class ConfigValidation
{
    /// <summary>
    /// <c>*.yaml|yml|cfg</c> directly in <c>root/&lt;det&gt;/</c>, except modifiers (<c>*_mod.*</c>: they only make
    /// sense after a base) and <c>flashmatch*.cfg</c> (OpT0Finder files that SPINE passes on, not YAML).
    /// Components, modifiers and legacy composites are covered through the configs that include them.
    /// </summary>
    public static IReadOnlyList<string> TopLevelConfigs(string root) =>
        Directory.EnumerateDirectories(root)
            .SelectMany(d => Directory.EnumerateFiles(d))
            .Where(f => BulkConfigResolver.Extensions.Contains(Path.GetExtension(f), StringComparer.Ordinal))
            .Where(f =>
            {
                var stem = Path.GetFileNameWithoutExtension(f);
                return !stem.EndsWith("_mod", StringComparison.Ordinal) && !stem.StartsWith("flashmatch", StringComparison.Ordinal);
            })
            .Order(StringComparer.Ordinal)
            .ToList();
}

/// <summary>The ListMods report.</summary>
public static class ModifierListing
{
    public static IReadOnlyList<string> Describe(string spineConfig, string productionDir, string repoRoot, IReadOnlyDictionary<string, string?> env)
    {
        var (file, latestDir) = JobConfigResolver.LocateConfig(spineConfig, productionDir, repoRoot, env);
        var deps = new List<string>();
        string? baseVersion;
        string start;
        if (latestDir is not null)
        {
            baseVersion = LatestAndModifiers.SelectLatest(latestDir, deps).LatestVersion;
            start = latestDir;
        }
        else
        {
            baseVersion = LatestAndModifiers.VersionOf(Path.GetFileNameWithoutExtension(JobConfigResolver.LinkTarget(file!)));
            start = Path.GetDirectoryName(file!)!;
        }
        var (dir, mods) = LatestAndModifiers.Discover(start, repoRoot, deps);
        var lines = new List<string>
        {
            dir is null
                ? $"No modifiers found for {spineConfig} (looked in {start} and its parents up to infer/)."
                : $"Modifiers for {spineConfig} (base version {baseVersion ?? "none"}), from {dir}:",
        };
        foreach (var m in mods)
        {
            var c = LatestAndModifiers.Choose(m.Name, mods, baseVersion, productionDir);
            var versions = string.Join(", ", m.Files.Select(f => f.Version ?? f.Stem));
            lines.Add($"  {m.Name,-10} -> {Path.GetFileName(c.Path)}  ({c.Reason}; available: {versions})");
        }
        return lines;
    }
}
