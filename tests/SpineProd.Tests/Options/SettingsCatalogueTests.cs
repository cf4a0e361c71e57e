using System.Text;
using System.Text.RegularExpressions;
using System.Xml.Linq;
using SpineProd.Options;
using SpineProd.Planning;
using SpineProd.Tests.Infrastructure;
using Xunit;

namespace SpineProd.Tests.Options;

/// <summary>
/// The settings catalogue is the one list of settings; every other place that names them is
/// checked against it here: the settings item and inputs hash the planner gets
/// (SpineProd.Settings.targets), the defaults in the SDK's props and targets, the editor schema,
/// the README's property table, the typo checker and the pipeline keys. The generated parts are
/// rewritten from the catalogue with <c>SPINEPROD_UPDATE_SETTINGS=1 dotnet test --filter SettingsCatalogue</c>.
/// </summary>
public sealed class SettingsCatalogueTests
{
    private static readonly string SettingsTargets = Repo.Path_("sdk", "SpineProd.Sdk", "build", "SpineProd.Settings.targets");
    private static readonly string Xsd = Repo.Path_("sdk", "SpineProd.Sdk", "schema", "spineproj.xsd");
    private static readonly string Readme = Repo.Path_("README.md");
    private static bool Update => Environment.GetEnvironmentVariable("SPINEPROD_UPDATE_SETTINGS") == "1";

    /// <summary>Compares a file with what the catalogue makes of it; rewrites it when asked to.</summary>
    private static void AgreesWith(string file, string expected)
    {
        string actual = File.ReadAllText(file);
        if (actual == expected) return;
        if (Update) { File.WriteAllText(file, expected); return; }
        var a = actual.Split('\n');
        var e = expected.Split('\n');
        int i = 0;
        while (i < a.Length && i < e.Length && a[i] == e[i]) i++;
        Assert.Fail($"{Path.GetRelativePath(Repo.Root, file)} does not agree with Options/SettingsCatalogue.cs at line {i + 1}:\n" +
            $"  file:      {(i < a.Length ? a[i] : "(end)")}\n  catalogue: {(i < e.Length ? e[i] : "(end)")}\n" +
            "Regenerate: SPINEPROD_UPDATE_SETTINGS=1 dotnet test tests/SpineProd.Tests --filter FullyQualifiedName~SettingsCatalogue");
    }

    [Fact]
    public void Names_are_unique_and_every_place_is_known()
    {
        var names = SettingsCatalogue.All.SelectMany(s => new[] { s.Name }.Concat(s.AllAliases).Concat(s.StageAliases ?? [])).ToList();
        Assert.Equal(names.Count, names.Distinct(StringComparer.OrdinalIgnoreCase).Count());
        var keys = SettingsCatalogue.All.SelectMany(s => (s.PipelineAliases ?? []).Append(s.PipelineKey)).OfType<string>().ToList();
        Assert.Equal(keys.Count, keys.Distinct().Count());
        foreach (var s in SettingsCatalogue.All)
        {
            Assert.True(s.Places != 0, s.Name);
            Assert.True(s.Type != SettingType.Choice || s.Choices is { Length: > 0 }, $"{s.Name} is a choice without choices");
            Assert.True(s.PipelineKey is null || s.IsStageMetadata, $"{s.Name} has a pipeline key but is not stage metadata");
            Assert.True(s.PipelineAliases is null || s.PipelineKey is not null, $"{s.Name} has pipeline aliases but no pipeline key");
            Assert.True(!s.IsStageMetadata || !s.IsProperty || s.IsPlanSetting, $"{s.Name}: a stage setting that is also a property must reach the planner");
        }
    }

    [Fact]
    public void The_settings_item_and_the_inputs_hash_list_every_plan_setting()
    {
        AgreesWith(SettingsTargets, SettingsTargetsText());
        // And MSBuild imports that file where the plan's targets need it.
        Assert.Contains("<Import Project=\"SpineProd.Settings.targets\" />", File.ReadAllText(Repo.Path_("sdk", "SpineProd.Sdk", "build", "SpineProd.targets")));
    }

    [Fact]
    public void The_schema_declares_every_property_and_stage_metadata_with_its_type()
    {
        string xsd = File.ReadAllText(Xsd);
        string expected = ReplaceBlock(ReplaceBlock(xsd, "propertyGroup", PropertyGroupXsd()), "stage", StageXsd());
        AgreesWith(Xsd, expected);
        // A choice's values are what its schema type accepts (an enumeration or a pattern).
        var doc = XDocument.Load(Xsd);
        XNamespace xs = "http://www.w3.org/2001/XMLSchema";
        foreach (var s in SettingsCatalogue.All.Where(s => s.Type == SettingType.Choice))
        {
            var type = doc.Root!.Elements(xs + "simpleType").SingleOrDefault(t => (string?)t.Attribute("name") == XsdType(s));
            Assert.True(type is not null, $"the schema has no simpleType {XsdType(s)} for {s.Name}");
            var first = type!.Descendants(xs + "restriction").First();
            var enums = first.Elements(xs + "enumeration").Select(e => (string)e.Attribute("value")!).ToList();
            var patterns = first.Elements(xs + "pattern").Select(e => (string)e.Attribute("value")!).ToList();
            foreach (var choice in s.Choices!)
                Assert.True(enums.Contains(choice) || patterns.Any(p => Regex.IsMatch(choice, $"^(?:{p})$")), $"{XsdType(s)} refuses {s.Name}={choice}");
            Assert.Empty(enums.Except(s.Choices!));
        }
    }

    [Fact]
    public void The_README_property_table_is_the_catalogue()
    {
        string readme = File.ReadAllText(Readme);
        const string header = "| Property | Default | Description |";
        int start = readme.IndexOf(header, StringComparison.Ordinal);
        Assert.True(start > 0, "the README has a property table");
        int end = start;
        var lines = readme[start..].Split('\n');
        int count = lines.TakeWhile(l => l.StartsWith('|')).Count();
        end = start + lines.Take(count).Sum(l => l.Length + 1);
        AgreesWith(Readme, readme[..start] + ReadmeTable() + readme[end..]);
    }

    [Fact]
    public void The_SDK_sets_exactly_the_catalogue_s_defaults()
    {
        var set = new Dictionary<string, List<string>>(StringComparer.Ordinal);
        foreach (var f in Directory.GetFiles(Repo.Path_("sdk", "SpineProd.Sdk", "build")).Order(StringComparer.Ordinal))
            foreach (Match m in Regex.Matches(File.ReadAllText(f), @"<(\w+) Condition=""'\$\(\1\)' == ''"">([^<]*)</\1>"))
                (set.TryGetValue(m.Groups[1].Value, out var l) ? l : set[m.Groups[1].Value] = new()).Add(m.Groups[2].Value);
        foreach (var s in SettingsCatalogue.All.Where(s => s.IsProperty))
        {
            var found = set.GetValueOrDefault(s.Name) ?? [];
            if (s.MSBuildDefault is null)
                Assert.True(found.Count == 0, $"{s.Name} has a default in the SDK ({string.Join(", ", found)}) the catalogue does not state");
            else
                Assert.True(string.Join("\n", found) == s.MSBuildDefault, $"{s.Name}: the catalogue says {s.MSBuildDefault}, the SDK sets {string.Join(", ", found)}");
        }
    }

    [Fact]
    public void The_typo_checker_and_the_pipeline_keys_are_the_catalogue_s()
    {
        Assert.Same(SettingsCatalogue.PropertyNames, ProductionFile.Properties);
        Assert.Same(SettingsCatalogue.StageMetadataNames, ProductionFile.StageMetadata);
        Assert.Contains("Ntasks", ProductionFile.Properties);
        Assert.Contains("Config", ProductionFile.StageMetadata);
        Assert.DoesNotContain("Config", ProductionFile.Properties);
        Assert.DoesNotContain("DependsOn", ProductionFile.Properties);
        Assert.Equal("MaxRunningTasks", SettingsCatalogue.PipelineKeys["ntasks"]);
        Assert.Equal("SpineConfig", SettingsCatalogue.PipelineKeys["config"]);
    }

    [Fact]
    public void The_run_time_checks_every_build_makes_are_of_catalogue_properties_of_a_checked_type()
    {
        var targets = XDocument.Load(Repo.Path_("sdk", "SpineProd.Sdk", "build", "SpineProd.Options.targets"));
        var check = targets.Descendants().Single(e => e.Name.LocalName == "CheckOptions");
        var names = check.Attributes().Select(a => a.Name.LocalName).Where(n => n is not ("ProjectFile" or "Condition")).ToList();
        Assert.NotEmpty(names);
        foreach (var name in names)
        {
            var s = SettingsCatalogue.Find(name);
            Assert.True(s is { IsProperty: true }, $"CheckOptions checks {name}, which the catalogue does not have");
            Assert.Contains(s!.Type, new[] { SettingType.Flag, SettingType.Duration, SettingType.Count });
            Assert.Equal($"$({name})", check.Attribute(name)!.Value);
        }
    }

    // ------------------------------------------------------------ what the catalogue makes

    internal static string SettingsTargetsText()
    {
        var sb = new StringBuilder();
        sb.Append("<Project>\n");
        sb.Append("  <!-- Generated from src/SpineProd.Tasks/Options/SettingsCatalogue.cs: do not edit by hand\n");
        sb.Append("       (SettingsCatalogueTests checks it and rewrites it with SPINEPROD_UPDATE_SETTINGS=1).\n");
        sb.Append("       The settings every stage inherits: one item, one metadata per setting (stage metadata and\n");
        sb.Append("       -p: on the command line win; the planner knows which properties were global), and the same\n");
        sb.Append("       settings as one line of the plan's inputs hash (_SpineProdWriteInputsCache). -->\n");
        sb.Append("  <ItemGroup>\n");
        sb.Append("    <_SpineProdSettings Include=\"production\">\n");
        foreach (var s in SettingsCatalogue.PlanSettings)
            sb.Append($"      <{s.Name}>$({s.Name})</{s.Name}>\n");
        sb.Append("    </_SpineProdSettings>\n");
        sb.Append("    <_SpineProdSettingsHashInput Include=\"@(_SpineProdSettings->'Settings=");
        sb.Append(string.Join("|", SettingsCatalogue.PlanSettings.Select(s => $"%({s.Name})")));
        sb.Append("')\" />\n");
        sb.Append("  </ItemGroup>\n");
        sb.Append("</Project>\n");
        return sb.ToString();
    }

    internal static string XsdType(Setting s) => s.Type switch
    {
        SettingType.WholeNumber => "posIntOrProperty",
        SettingType.Count => "nonNegIntOrProperty",
        SettingType.Flag => "boolOrProperty",
        SettingType.Duration => "durationOrProperty",
        SettingType.TimeLimit => "timeOrProperty",
        SettingType.Memory => "memOrProperty",
        SettingType.Choice => char.ToLowerInvariant(s.Name[0]) + s.Name[1..] + "OrProperty",
        _ => "xs:string",
    };

    /// <summary>The README's Markdown as plain text for a schema's documentation.</summary>
    private static string PlainXml(string markdown)
    {
        string text = Regex.Replace(markdown, @"\[([^\]]+)\]\([^)]*\)", "$1").Replace("`", "");
        text = text.Replace("&", "&amp;").Replace("<", "&lt;").Replace(">", "&gt;");
        return text.EndsWith('.') ? text : text + ".";
    }

    private static string Doc(Setting s, string? aliasOf = null)
    {
        string text = aliasOf is null ? s.Description : $"Alias of {aliasOf}";
        if (aliasOf is null && s.Default.Length > 0 && s.Default != "(required)") text += $" (default: {s.Default})";
        if (aliasOf is null && s.Default == "(required)") text += " (required)";
        return $"<xs:annotation><xs:documentation>{PlainXml(text)}</xs:documentation></xs:annotation>";
    }

    private static string PropertyGroupXsd()
    {
        var sb = new StringBuilder("  <xs:complexType name=\"propertyGroup\">\n    <xs:choice minOccurs=\"0\" maxOccurs=\"unbounded\">\n");
        foreach (var s in SettingsCatalogue.All.Where(s => s.IsProperty))
            foreach (var (name, aliasOf) in new[] { (s.Name, (string?)null) }.Concat(s.AllAliases.Select(a => (a, (string?)s.Name))))
                sb.Append($"      <xs:element name=\"{name}\">{Doc(s, aliasOf)}\n" +
                    $"        <xs:complexType><xs:simpleContent><xs:extension base=\"{XsdType(s)}\"><xs:attributeGroup ref=\"conditional\" /></xs:extension></xs:simpleContent></xs:complexType></xs:element>\n");
        sb.Append("    </xs:choice>\n    <xs:attributeGroup ref=\"conditional\" />\n  </xs:complexType>\n");
        return sb.ToString();
    }

    private static IEnumerable<(string Name, Setting Setting, string? AliasOf)> StageNames() =>
        SettingsCatalogue.All.Where(s => s.IsStageMetadata).SelectMany(s =>
            (s.StageAliases ?? []).Select(a => (a, s, (string?)s.Name)).Append((s.Name, s, null)).Concat(s.AllAliases.Select(a => (a, s, (string?)s.Name))));

    private static string StageXsd()
    {
        var sb = new StringBuilder("  <xs:complexType name=\"stage\">\n    <xs:choice minOccurs=\"0\" maxOccurs=\"unbounded\">\n");
        foreach (var (name, s, _) in StageNames())
            sb.Append($"      <xs:element name=\"{name}\" type=\"{XsdType(s)}\" />\n");
        sb.Append("    </xs:choice>\n    <xs:attributeGroup ref=\"itemOperations\" />\n");
        foreach (var (name, s, aliasOf) in StageNames())
            sb.Append($"    <xs:attribute name=\"{name}\" type=\"{XsdType(s)}\">{Doc(s, aliasOf)}</xs:attribute>\n");
        sb.Append("  </xs:complexType>\n");
        return sb.ToString();
    }

    /// <summary>Replaces <c>&lt;xs:complexType name="NAME"&gt;...&lt;/xs:complexType&gt;</c> (whole lines) with <paramref name="block"/>.</summary>
    private static string ReplaceBlock(string xsd, string name, string block)
    {
        string open = $"  <xs:complexType name=\"{name}\">";
        int start = xsd.IndexOf(open, StringComparison.Ordinal);
        Assert.True(start >= 0, $"the schema has no complexType {name}");
        const string close = "  </xs:complexType>\n";
        int end = xsd.IndexOf(close, start, StringComparison.Ordinal) + close.Length;
        return xsd[..start] + block + xsd[end..];
    }

    internal static string ReadmeTable()
    {
        var sb = new StringBuilder("| Property | Default | Description |\n|---|---|---|\n");
        foreach (var s in SettingsCatalogue.All.Where(s => s.IsProperty))
        {
            string name = $"`{s.Name}`" + (s.AllAliases.Count > 0 ? $" (alias {string.Join(", ", s.AllAliases.Select(a => $"`{a}`"))})" : "");
            sb.Append(($"| {name} | {s.Default} | {s.Description} |").Replace("|  |", "| |") + "\n");
        }
        return sb.ToString();
    }
}
