using System.Text.RegularExpressions;
using System.Xml;
using System.Xml.Linq;
using SpineProd.Diagnostics;

namespace SpineProd.Planning;

/// <summary>
/// The .spineproj as text, with line numbers: MSBuild itself accepts any item or property name, so
/// a typo (&lt;Sourc&gt;, FilesPerTsk="2") would silently do nothing. This finds them, and tells the
/// other checks which line to point at.
/// </summary>
public sealed class ProductionFile
{
    public static readonly string[] ItemTypes = ["Source", "SourceList", "Stage"];
    public static readonly string[] SourceMetadata = ["Stage"];

    /// <summary>Every property of the SDK, aliases included (<see cref="Options.SettingsCatalogue"/>).</summary>
    public static readonly IReadOnlyList<string> Properties = Options.SettingsCatalogue.PropertyNames;

    /// <summary>Stage metadata: every stage-level setting, plus the stage's own keys (<see cref="Options.SettingsCatalogue"/>).</summary>
    public static readonly IReadOnlyList<string> StageMetadata = Options.SettingsCatalogue.StageMetadataNames;

    private static readonly HashSet<string> MsbuildElements = new(StringComparer.Ordinal)
    {
        "PropertyGroup", "ItemGroup", "Target", "Import", "ImportGroup", "Choose", "When", "Otherwise",
        "UsingTask", "ItemDefinitionGroup", "ProjectExtensions", "Sdk",
    };

    public string Path { get; }
    private readonly XDocument? _doc;
    private readonly List<(XElement Element, string Include)> _items = new();
    private readonly Dictionary<string, int> _propertyLines = new(StringComparer.OrdinalIgnoreCase);

    private ProductionFile(string path, XDocument? doc)
    {
        Path = path;
        _doc = doc;
        if (doc?.Root is null) return;
        foreach (var e in doc.Root.Descendants())
        {
            if (e.Parent?.Name.LocalName == "PropertyGroup")
                _propertyLines[e.Name.LocalName] = LineOf(e);
            if (e.Parent?.Name.LocalName == "ItemGroup" && e.Attribute("Include") is { } inc)
                _items.Add((e, inc.Value));
        }
    }

    public static ProductionFile Load(string path)
    {
        try
        {
            return new ProductionFile(path, XDocument.Load(path, LoadOptions.SetLineInfo));
        }
        catch (XmlException)
        {
            // MSBuild already reported the malformed XML before any task could run.
            return new ProductionFile(path, null);
        }
    }

    /// <summary>The line where a property is last set in the production, or 0.</summary>
    public int PropertyLine(string name) => _propertyLines.TryGetValue(name, out int l) ? l : 0;

    /// <summary>The line of the item of this type whose Include names <paramref name="spec"/> (literally or as one of its ';' parts).</summary>
    public int ItemLine(string itemType, string spec)
    {
        string norm = Norm(spec);
        foreach (var (e, include) in _items)
        {
            if (e.Name.LocalName != itemType) continue;
            foreach (var part in include.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
                if (Norm(part) == norm || norm.EndsWith("/" + Norm(part).TrimStart('.', '/'), StringComparison.Ordinal))
                    return LineOf(e);
        }
        return 0;
    }

    /// <summary>The line of one metadata (attribute or child element) of that item, or the item's line.</summary>
    public int ItemMetadataLine(string itemType, string spec, string metadata)
    {
        int itemLine = ItemLine(itemType, spec);
        var item = _items.FirstOrDefault(i => i.Element.Name.LocalName == itemType && LineOf(i.Element) == itemLine).Element;
        if (item is null) return itemLine;
        XObject? found = item.Attribute(metadata) ?? (XObject?)item.Element(item.Name.Namespace + metadata);
        return found is null ? itemLine : LineOf(found);
    }

    /// <summary>The raw Include patterns of an item type, with their lines (for "glob matched nothing").</summary>
    public IEnumerable<(string Pattern, int Line, string? Stage)> ItemPatterns(string itemType)
    {
        foreach (var (e, include) in _items)
            if (e.Name.LocalName == itemType)
                foreach (var part in include.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
                    yield return (part, LineOf(e), e.Attribute("Stage")?.Value ?? e.Element(e.Name.Namespace + "Stage")?.Value);
    }

    /// <summary>Unknown item types and metadata (errors) and likely property typos (warnings).</summary>
    public IEnumerable<SpnDiagnostic> FindTypos()
    {
        if (_doc?.Root is null) yield break;
        foreach (var group in _doc.Root.Descendants().Where(e => e.Name.LocalName == "ItemGroup" && e.Ancestors().All(a => a.Name.LocalName != "Target")))
        {
            foreach (var item in group.Elements())
            {
                string type = item.Name.LocalName;
                if (type.StartsWith('_')) continue; // private helper items are the author's business
                if (!ItemTypes.Contains(type))
                {
                    yield return new("SPN1001", $"Unknown item type <{type}>. A production's items are {string.Join(", ", ItemTypes)}{Suggest(type, ItemTypes)}.", Path, LineOf(item), ColumnOf(item), IsError: true);
                    continue;
                }
                IReadOnlyList<string> allowed = type == "Stage" ? StageMetadata : SourceMetadata;
                var metadata = item.Attributes().Where(a => a.Name.LocalName is not ("Include" or "Exclude" or "Remove" or "Update" or "Condition" or "KeepMetadata" or "RemoveMetadata" or "KeepDuplicates" or "MatchOnMetadata" or "MatchOnMetadataOptions"))
                    .Select(a => (Name: a.Name.LocalName, Node: (XObject)a))
                    .Concat(item.Elements().Select(m => (Name: m.Name.LocalName, Node: (XObject)m)));
                foreach (var (name, node) in metadata)
                {
                    if (name == "Output" && type == "Stage")
                        yield return new("SPN1002", "<Stage> metadata 'Output' is reserved by MSBuild; use OutputFile (SPINE's -o) or OutputDir.", Path, LineOf(node), ColumnOf(node), IsError: true);
                    else if (!allowed.Contains(name))
                        yield return new("SPN1002", $"Unknown metadata '{name}' on <{type}>{Suggest(name, allowed)}. Allowed: {string.Join(", ", allowed)}.", Path, LineOf(node), ColumnOf(node), IsError: true);
                }
            }
        }
        foreach (var prop in _doc.Root.Descendants().Where(e => e.Parent?.Name.LocalName == "PropertyGroup" && e.Ancestors().All(a => a.Name.LocalName != "Target")))
        {
            string name = prop.Name.LocalName;
            if (Properties.Contains(name, StringComparer.OrdinalIgnoreCase) || name.StartsWith('_')) continue;
            var near = Properties.FirstOrDefault(p => Distance(p.ToLowerInvariant(), name.ToLowerInvariant()) <= 2);
            if (near is not null)
                yield return new("SPN1003", $"Property '{name}' is not a SpineProd property; did you mean '{near}'?", Path, LineOf(prop), ColumnOf(prop));
        }
    }

    /// <summary>The known name closest to <paramref name="name"/>, if it is a likely typo of it (one edit for short names, two for longer ones).</summary>
    public static string? Nearest(string name, IEnumerable<string> known) =>
        known.Select(k => (Name: k, Distance: Distance(k.ToLowerInvariant(), name.ToLowerInvariant())))
            .Where(x => x.Distance > 0 && x.Distance <= Math.Min(2, Math.Max(1, x.Name.Length / 4)))
            .OrderBy(x => x.Distance).Select(x => x.Name).FirstOrDefault();

    private static string Suggest(string name, IEnumerable<string> known)
    {
        var near = known.FirstOrDefault(k => Distance(k.ToLowerInvariant(), name.ToLowerInvariant()) <= 2);
        return near is null ? "" : $" (did you mean '{near}'?)";
    }

    /// <summary>Edit distance (Levenshtein): how far a typo is from a known name.</summary>
    public static int Distance(string a, string b)
    {
        var d = new int[a.Length + 1, b.Length + 1];
        for (int i = 0; i <= a.Length; i++) d[i, 0] = i;
        for (int j = 0; j <= b.Length; j++) d[0, j] = j;
        for (int i = 1; i <= a.Length; i++)
            for (int j = 1; j <= b.Length; j++)
                d[i, j] = Math.Min(Math.Min(d[i - 1, j] + 1, d[i, j - 1] + 1), d[i - 1, j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1));
        return d[a.Length, b.Length];
    }

    private static string Norm(string p) => p.Replace('\\', '/');
    private static int LineOf(XObject o) => o is IXmlLineInfo li && li.HasLineInfo() ? li.LineNumber : 0;
    private static int ColumnOf(XObject o) => o is IXmlLineInfo li && li.HasLineInfo() ? li.LinePosition : 0;

    /// <summary>Does a path match an MSBuild-style glob (*, ?, **)? Used only to warn about patterns that matched nothing.</summary>
    public static bool IsGlob(string pattern) => pattern.IndexOfAny(['*', '?']) >= 0;

    public static Regex GlobToRegex(string fullPattern)
    {
        var sb = new System.Text.StringBuilder("^");
        string p = Norm(fullPattern);
        for (int i = 0; i < p.Length; i++)
        {
            char c = p[i];
            if (c == '*' && i + 1 < p.Length && p[i + 1] == '*')
            {
                sb.Append(".*");
                i++;
                if (i + 1 < p.Length && p[i + 1] == '/') i++;
            }
            else if (c == '*') sb.Append("[^/]*");
            else if (c == '?') sb.Append("[^/]");
            else sb.Append(Regex.Escape(c.ToString()));
        }
        return new Regex(sb.Append('$').ToString(), RegexOptions.CultureInvariant);
    }
}
