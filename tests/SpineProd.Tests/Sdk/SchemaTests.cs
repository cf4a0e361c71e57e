using System.Text.RegularExpressions;
using System.Xml;
using System.Xml.Schema;
using SpineProd.Planning;
using SpineProd.Scheduler;
using SpineProd.Tests.Infrastructure;
using Xunit;

namespace SpineProd.Tests.Sdk;

/// <summary>
/// The editor schema as editors meet it: compiled and applied by libxml2 (`xmllint --schema`, what
/// the Red Hat XML extension's Xerces and most tools agree with) and by .NET's validator (Visual
/// Studio's). It must compile, flag misspelled names, name every property the README names, and
/// agree with the build on values.
/// </summary>
public sealed class SchemaTests
{
    private static readonly string Xsd = Repo.Path_("sdk", "SpineProd.Sdk", "schema", "spineproj.xsd");

    /// <summary>xmllint's verdict: (valid, its messages).</summary>
    private static (bool Valid, string Output) Xmllint(string file)
    {
        var r = ProcessRunner.Instance.Run("xmllint", ["--noout", "--schema", Xsd, file], TimeSpan.FromSeconds(30));
        Assert.False(r.ExitCode == 127 || (r.Stderr + r.Stdout).Contains("No such file"), "xmllint is missing: apt-get install libxml2-utils (.ci/run installs it)");
        return (r.ExitCode == 0, r.Stdout + r.Stderr);
    }

    private static List<string> DotnetValidate(string file)
    {
        var errors = new List<string>();
        var settings = new XmlReaderSettings { ValidationType = ValidationType.Schema };
        settings.Schemas.Add(null, Xsd);
        settings.ValidationEventHandler += (_, e) => { if (e.Severity == XmlSeverityType.Error) errors.Add($"{e.Exception?.LineNumber}: {e.Message}"); };
        using var reader = XmlReader.Create(file, settings);
        while (reader.Read()) { }
        return errors;
    }

    public static TheoryData<string> Productions()
    {
        var data = new TheoryData<string>();
        foreach (var f in Directory.GetFiles(Repo.Path_("productions"), "*.spineproj")) data.Add(Path.Combine("productions", Path.GetFileName(f)));
        data.Add(Path.Combine("infer", "validate-configs.spineproj"));
        data.Add(Path.Combine("sdk", "SpineProd.Templates", "content", "spineprod", "MyProduction.spineproj")); // what `dotnet new spineprod` makes
        return data;
    }

    [Theory]
    [MemberData(nameof(Productions))]
    public void Every_shipped_production_validates_with_xmllint_and_dotnet(string production)
    {
        var file = Repo.Path_(production.Split(Path.DirectorySeparatorChar));
        var (valid, output) = Xmllint(file);
        Assert.True(valid, output);
        Assert.Empty(DotnetValidate(file));
    }

    private static string Scratch(string name, string body)
    {
        var file = Path.Combine(Repo.Scratch("schema"), name + ".spineproj");
        File.WriteAllText(file, $"<Project Sdk=\"SpineProd.Sdk\">\n{body}\n</Project>\n");
        return file;
    }

    [Theory]
    [InlineData("property-typo", "<PropertyGroup><FilesPerTsk>2</FilesPerTsk></PropertyGroup>", "FilesPerTsk")]
    [InlineData("item-typo", "<ItemGroup><Sourc Include=\"a.root\" /></ItemGroup>", "Sourc")]
    [InlineData("metadata-typo", "<ItemGroup><Stage Include=\"reco\" Comand=\"x\" /></ItemGroup>", "Comand")]
    [InlineData("metadata-element-typo", "<ItemGroup><Source Include=\"a.root\"><Stge>reco</Stge></Source></ItemGroup>", "Stge")]
    [InlineData("bad-number", "<PropertyGroup><FilesPerTask>ten</FilesPerTask></PropertyGroup>", "ten")]
    [InlineData("bad-duration", "<PropertyGroup><WaitTimeout>4 hours</WaitTimeout></PropertyGroup>", "4 hours")]
    [InlineData("bad-scheduler", "<PropertyGroup><Scheduler>lsf</Scheduler></PropertyGroup>", "lsf")]
    [InlineData("reserved-output", "<ItemGroup><Stage Include=\"reco\" Output=\"x.h5\" /></ItemGroup>", "Output")]
    public void The_schema_flags_what_the_build_refuses(string name, string body, string named)
    {
        var file = Scratch(name, body);
        var (valid, output) = Xmllint(file);
        Assert.False(valid, output);
        Assert.Contains(named, output);
        Assert.Contains(DotnetValidate(file), e => e.Contains(named));
    }

    [Theory]
    [InlineData("flashmatch-case", "<PropertyGroup><Flashmatch>True</Flashmatch><Wait>FALSE</Wait></PropertyGroup>")]
    [InlineData("property-reference", "<PropertyGroup><FilesPerTask>$(MyFiles)</FilesPerTask><Time>$(T)</Time></PropertyGroup>")]
    [InlineData("durations", "<PropertyGroup><WaitTimeout>4:00:00</WaitTimeout><PollInterval>90s</PollInterval><ClusterQueryTimeout>5</ClusterQueryTimeout></PropertyGroup>")]
    [InlineData("target-is-msbuild-s", "<Target Name=\"X\" AfterTargets=\"Build\"><Message Text=\"hi\" /><Anything /></Target>")]
    [InlineData("conditions", "<PropertyGroup Condition=\"'$(A)' == ''\"><Time Condition=\"true\">1-00:00:00</Time></PropertyGroup><ItemGroup Label=\"x\"><Source Include=\"a\" Exclude=\"b\" Stage=\"s\" /></ItemGroup>")]
    public void The_schema_accepts_what_the_build_accepts(string name, string body)
    {
        var file = Scratch(name, body);
        var (valid, output) = Xmllint(file);
        Assert.True(valid, output);
        Assert.Empty(DotnetValidate(file));
    }

    [Fact]
    public void The_schema_names_every_property_the_README_and_the_build_name()
    {
        var xsd = File.ReadAllText(Xsd);
        var declared = Regex.Matches(xsd, "<xs:element name=\"(\\w+)\"").Select(m => m.Groups[1].Value).ToHashSet();
        // The README's property table: every `Name` in its first column.
        var readme = File.ReadAllText(Repo.Path_("README.md"));
        int start = readme.IndexOf("| Property | Default | Description |", StringComparison.Ordinal);
        Assert.True(start > 0, "the README has a property table");
        var table = readme[start..].Split('\n').Skip(2).TakeWhile(l => l.StartsWith('|'));
        var named = table.SelectMany(l => Regex.Matches(l.Split('|')[1], "`(\\w+)`").Select(m => m.Groups[1].Value)).ToList();
        Assert.True(named.Count > 40, $"only {named.Count} properties in the README's table");
        Assert.Equal("", string.Join(", ", named.Where(n => !declared.Contains(n))));
        Assert.Equal("", string.Join(", ", ProductionFile.Properties.Where(n => !declared.Contains(n))));
        Assert.DoesNotContain("\\$", xsd); // libxml2 refuses the \$ escape
    }
}
