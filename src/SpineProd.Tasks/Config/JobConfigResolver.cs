using SpineProd.Diagnostics;

namespace SpineProd.Config;

// Placeholder: replaced by the SPINE config loader (issue 3). It passes the user's file through.
public sealed record ResolvedJobConfig(
    string DisplayName,
    string ConfigStem,
    string? Detector,
    IReadOnlyDictionary<string, string> FilesToWrite,
    string ConfigArgument,
    string ResolvedSha256,
    IReadOnlyList<string> Dependencies);

public static class JobConfigResolver
{
    public static ResolvedJobConfig Resolve(string spineConfig, IReadOnlyList<string> applyMods, string productionDir, string repoRoot, IReadOnlyDictionary<string, string?> env)
    {
        var path = Path.GetFullPath(spineConfig, productionDir);
        var stem = Path.GetFileNameWithoutExtension(path);
        if (!File.Exists(path) && !Directory.Exists(path) && stem != "latest")
            throw new SpineProdException("SPN2001", $"SPINE config '{spineConfig}' not found ({path}).");
        return new ResolvedJobConfig(spineConfig, stem, null, new Dictionary<string, string>(), path, "", File.Exists(path) ? [path] : []);
    }
}
