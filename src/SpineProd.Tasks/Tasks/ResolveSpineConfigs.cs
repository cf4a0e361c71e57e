using Microsoft.Build.Framework;
using SpineProd.Config;
using SpineProd.Diagnostics;

namespace SpineProd.Tasks;

/// <summary>
/// -t:ResolveConfigs and -t:ValidateConfigs. Three modes:
/// ConfigRoot + ResolvedConfigDir: one corpus-format JSON per config (loader errors are data there);
/// ConfigRoot + Validate: every top-level config must resolve, else an SPN error at its YAML line;
/// neither: resolve the production's SpineConfig (+ ApplyMods) and print it as YAML.
/// </summary>
public sealed partial class ResolveSpineConfigs : SpineProdTask
{
    public string? ProjectFile { get; set; }
    public string? ConfigRoot { get; set; }
    public string? ResolvedConfigDir { get; set; }
    public bool Validate { get; set; }
    public string? SpineConfig { get; set; }
    public string? ApplyMods { get; set; }
    /// <summary>SPINE's --set overrides (SpineSet), applied as the jobs apply them.</summary>
    public string? SpineSet { get; set; }
    [Required] public string ProductionDir { get; set; } = "";
    [Required] public string RepoRoot { get; set; } = "";
    /// <summary>Where dotnet was run: a -p:SpineConfig typed there is found there too (after the production's folder).</summary>
    public string? StartupDir { get; set; }

    public override bool Execute() => Log.Run(ProjectFile, () =>
    {
        var env = ConfigTaskSupport.Environment();
        if (!string.IsNullOrEmpty(ConfigRoot))
        {
            if (!Directory.Exists(ConfigRoot))
                throw new SpineProdException(ConfigErrors.BadTaskInput, $"ConfigRoot '{ConfigRoot}' is not a folder.");
            if (Validate)
            {
                var files = ConfigValidation.TopLevelConfigs(ConfigRoot);
                foreach (var file in files)
                {
                    try
                    {
                        var loader = new SpineConfigLoader(env);
                        loader.LoadFile(file);
                        foreach (var w in loader.Warnings) Log.LogSpn(w, file);
                    }
                    catch (SpineProdException e)
                    {
                        Log.LogSpn(e, file);
                    }
                }
                Report($"Validated {files.Count} top-level SPINE configs under {ConfigRoot}.");
                return;
            }
            if (string.IsNullOrEmpty(ResolvedConfigDir))
                throw new SpineProdException(ConfigErrors.BadTaskInput, "ResolveConfigs with ConfigRoot needs ResolvedConfigDir (-p:ResolvedConfigDir=OUT).");
            var (count, errors) = BulkConfigResolver.ResolveTree(ConfigRoot, ResolvedConfigDir, env);
            Report($"Resolved {count} configs under {ConfigRoot} into {ResolvedConfigDir} ({errors} refused by the loader, recorded as errors).");
            return;
        }
        if (string.IsNullOrWhiteSpace(SpineConfig))
            throw new SpineProdException(ConfigErrors.BadTaskInput, "ResolveConfigs needs -p:ConfigRoot=DIR -p:ResolvedConfigDir=OUT, or a SpineConfig to print.");
        var spec = SpineConfig.Trim();
        if (!Path.IsPathRooted(spec) && !string.IsNullOrEmpty(StartupDir) && !Exists(Path.Combine(ProductionDir, spec)) && Exists(Path.Combine(StartupDir, spec)))
            spec = Path.GetFullPath(Path.Combine(StartupDir, spec));
        var set = SpineOverrides.Split(SpineSet);
        foreach (var e in set) SpineOverrides.Validate(e);
        var r = JobConfigResolver.Resolve(spec, JobConfigResolver.SplitModifierSpecs(ApplyMods), ProductionDir, RepoRoot, env, set, ProjectFile);
        foreach (var w in r.Warnings) Log.LogSpn(w, ProjectFile);
        foreach (var m in r.Messages) Report(m);
        Report($"# {r.DisplayName}: SPINE gets -c {r.ConfigArgument} (sha256 {r.ResolvedSha256})\n{r.FilesToWrite["resolved.yaml"]}");
    });
}

public sealed partial class ResolveSpineConfigs
{
    private static bool Exists(string p) => File.Exists(p) || Directory.Exists(p);
}

/// <summary>-t:ListMods: the modifiers available to the production's config and the version each would get.</summary>
public sealed class ListModifiers : SpineProdTask
{
    public string? ProjectFile { get; set; }
    [Required] public string SpineConfig { get; set; } = "";
    [Required] public string ProductionDir { get; set; } = "";
    [Required] public string RepoRoot { get; set; } = "";

    public override bool Execute() => Log.Run(ProjectFile, () =>
    {
        foreach (var line in ModifierListing.Describe(SpineConfig, ProductionDir, RepoRoot, ConfigTaskSupport.Environment()))
            Report(line);
        // spine-prod's --list-mods ends with how to use them; so does this.
        string production = ProjectFile is null ? "<production>.spineproj" : Path.GetFileName(ProjectFile);
        Report($"Usage: dotnet build {production} -p:ApplyMods=<name>[:YYMMDD],... (e.g. -p:ApplyMods=data,lite; several with ',' on the command line, ';' in the file), or <ApplyMods> in the production; -t:ResolveConfigs shows the result.");
    });
}

internal static class ConfigTaskSupport
{
    public static IReadOnlyDictionary<string, string?> Environment()
    {
        var d = new Dictionary<string, string?>(StringComparer.Ordinal);
        foreach (System.Collections.DictionaryEntry e in System.Environment.GetEnvironmentVariables())
            d[(string)e.Key] = e.Value as string;
        return d;
    }
}
