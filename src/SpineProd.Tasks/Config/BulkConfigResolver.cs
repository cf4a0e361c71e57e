using SpineProd.Diagnostics;
using SpineProd.IO;

namespace SpineProd.Config;

/// <summary>
/// Resolves every config under a folder the way the conformance corpus records SPINE's results:
/// one <c>REL.json</c> per <c>.yaml</c>/<c>.yml</c>/<c>.cfg</c>, either the resolved tree or the SPINE error class.
/// </summary>
public static class BulkConfigResolver
{
    public static readonly string[] Extensions = [".yaml", ".yml", ".cfg"];

    /// <summary>The config files under <paramref name="root"/>, as sorted relative paths with '/' separators.</summary>
    public static IReadOnlyList<string> ConfigFiles(string root) =>
        Directory.EnumerateFiles(root, "*", SearchOption.AllDirectories)
            .Where(f => Extensions.Contains(Path.GetExtension(f), StringComparer.Ordinal))
            .Select(f => Path.GetRelativePath(root, f).Replace('\\', '/'))
            .Order(StringComparer.Ordinal)
            .ToArray();

    /// <summary>The corpus JSON for one file. A loader error becomes {"ok": false, ...}; <paramref name="error"/> carries it.</summary>
    public static string ResolveToJson(string file, IReadOnlyDictionary<string, string?> env, out SpineProdException? error)
    {
        error = null;
        try
        {
            var loader = new SpineConfigLoader(env);
            return CanonicalJson.Ok(loader.LoadFile(file));
        }
        catch (SpineProdException e) when (ConfigErrors.SpineClass(e.Code) is not null)
        {
            error = e;
            return CanonicalJson.Error(ConfigErrors.SpineClass(e.Code)!, e.Message);
        }
    }

    /// <summary>Writes <c>outDir/REL.json</c> for each config; returns (files, errors).</summary>
    public static (int Files, int Errors) ResolveTree(string root, string outDir, IReadOnlyDictionary<string, string?> env)
    {
        var files = ConfigFiles(root);
        var errors = 0;
        foreach (var rel in files)
        {
            var json = ResolveToJson(Path.Combine(root, rel), env, out var err);
            if (err is not null) errors++;
            AtomicFile.WriteIfChanged(Path.Combine(outDir, rel + ".json"), json);
        }
        return (files.Count, errors);
    }
}
