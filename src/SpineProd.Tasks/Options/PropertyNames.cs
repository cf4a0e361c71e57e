using SpineProd.Diagnostics;
using SpineProd.Planning;

namespace SpineProd.Options;

/// <summary>
/// -p:FilesPerTsk=5 is accepted by MSBuild and ignored by everyone: a global property whose name
/// is one or two letters from a SpineProd property is almost certainly a typo, so it is named.
/// </summary>
public static class PropertyNames
{
    /// <summary>Properties a user may set that the SDK itself reads but are not SpineProd's to check (MSBuild's, the CLI's).</summary>
    private static bool IsToolProperty(string name) =>
        name.StartsWith('_') || name.StartsWith("MSBuild", StringComparison.OrdinalIgnoreCase) || name == "NuGetInteractive";

    /// <summary>SPN1060 warnings for global properties close to, but not, a SpineProd property.</summary>
    public static IEnumerable<SpnDiagnostic> NearMisses(IEnumerable<string> globalProperties, string productionFile)
    {
        foreach (var name in globalProperties)
        {
            if (IsToolProperty(name) || ProductionFile.Properties.Contains(name, StringComparer.OrdinalIgnoreCase)) continue;
            var near = ProductionFile.Nearest(name, ProductionFile.Properties);
            if (near is not null)
                yield return new SpnDiagnostic("SPN1060",
                    $"-p:{name} on the command line is not a SpineProd property and is ignored; did you mean -p:{near}?", productionFile);
        }
    }
}
