using SpineProd.Diagnostics;

namespace SpineProd.Config;

/// <summary>
/// SPINE's <c>--set KEY=VALUE</c> (spine-prod's <c>--set</c>, the <c>SpineSet</c> property): validated
/// as spine-prod validates it, applied to the resolved config the way SPINE's CLI applies it (the value
/// read as YAML, missing parents created), and passed to SPINE in the job, so what SpineProd records
/// (resolved.yaml) is what SPINE runs. A key the config does not have is a warning here, not a
/// surprise on the node.
/// </summary>
public static class SpineOverrides
{
    public const string Invalid = "SPN2070";       // an entry spine-prod refuses (no '=', whitespace, quotes)
    public const string NewKey = "SPN2071";        // warning: the key is not in the config (SPINE creates it)
    public const string ThroughValue = "SPN2072";  // the dotted path runs through a value that is not a mapping

    /// <summary>
    /// The entries of a SpineSet value: separated by ';' (MSBuild's list separator; on the command line
    /// quote it, <c>'-p:SpineSet="a=1;b=2"'</c>) or by newlines in a property written over several lines.
    /// A ',' is part of a value (<c>model.modules=[a,b]</c>), never a separator.
    /// </summary>
    public static IReadOnlyList<string> Split(string? value) =>
        (value ?? "").Split([';', '\n', '\r'], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

    /// <summary>spine-prod's checks, with its words: KEY=VALUE, no whitespace and no quotes (the value goes through a shell there).</summary>
    public static void Validate(string entry)
    {
        int eq = entry.IndexOf('=');
        if (eq < 0)
            throw new SpineProdException(Invalid, $"Invalid --set override '{entry}'. Expected KEY=VALUE.");
        if (entry.Any(char.IsWhiteSpace) || entry.IndexOfAny(['\'', '"']) >= 0)
            throw new SpineProdException(Invalid, $"Invalid --set override '{entry}'. Whitespace and quotes are not supported in --set values (as in spine-prod's submit.py).");
        var key = entry[..eq];
        if (key.Length == 0 || key.Split('.').Any(k => k.Length == 0))
            throw new SpineProdException(Invalid, $"Invalid --set override '{entry}'. Expected KEY=VALUE with a dotted key such as io.loader.batch_size.");
    }

    /// <summary>
    /// Applies the entries to <paramref name="config"/> in order, as SPINE's CLI does after loading
    /// (<c>set_nested_value</c> creating missing parents). Returns one warning message per key the
    /// config did not have.
    /// </summary>
    public static List<string> Apply(ConfigMap config, IEnumerable<string> entries)
    {
        var warnings = new List<string>();
        foreach (var entry in entries)
        {
            Validate(entry);
            int eq = entry.IndexOf('=');
            string keyPath = entry[..eq], raw = entry[(eq + 1)..];
            var value = SpineConfigLoader.ParseValue(raw);
            var keys = keyPath.Split('.');
            var current = config;
            string? created = null;
            for (int i = 0; i < keys.Length - 1; i++)
            {
                if (!current.TryGetValue(keys[i], out var next))
                {
                    created ??= string.Join('.', keys[..(i + 1)]);
                    var fresh = new ConfigMap();
                    current.Set(keys[i], fresh, null);
                    current = fresh;
                    continue;
                }
                current = next as ConfigMap
                    ?? throw new SpineProdException(ThroughValue, $"--set {entry}: '{string.Join('.', keys[..(i + 1)])}' is not a mapping in the config (it is {Describe(next)}), so '{keyPath}' cannot be set (SPINE's ConfigTypeError on the node).");
            }
            if (created is not null)
                warnings.Add($"--set {entry}: the config has no '{created}'; SPINE will create it. Check the key for a typo.");
            else if (!current.ContainsKey(keys[^1]))
                warnings.Add($"--set {entry}: the config has no '{keyPath}'; SPINE will add it. Check the key for a typo.");
            current.Set(keys[^1], value, null);
        }
        return warnings;
    }

    private static string Describe(object? v) => v switch
    {
        null => "null",
        ConfigList => "a list",
        string s => $"the string '{s}'",
        _ => $"the value {v}",
    };
}
