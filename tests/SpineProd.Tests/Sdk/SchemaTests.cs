using System.Xml;
using System.Xml.Schema;
using SpineProd.Tests.Infrastructure;
using Xunit;

namespace SpineProd.Tests.Sdk;

public sealed class SchemaTests
{
    private static List<string> Validate(string file)
    {
        var errors = new List<string>();
        var settings = new XmlReaderSettings { ValidationType = ValidationType.Schema };
        settings.Schemas.Add(null, Repo.Path_("sdk", "SpineProd.Sdk", "schema", "spineproj.xsd"));
        settings.ValidationFlags |= XmlSchemaValidationFlags.ReportValidationWarnings;
        settings.ValidationEventHandler += (_, e) => { if (e.Severity == XmlSeverityType.Error) errors.Add($"{e.Exception?.LineNumber}: {e.Message}"); };
        using var reader = XmlReader.Create(file, settings);
        while (reader.Read()) { }
        return errors;
    }

    public static TheoryData<string> Productions()
    {
        var data = new TheoryData<string>();
        foreach (var f in Directory.GetFiles(Repo.Path_("productions"), "*.spineproj")) data.Add(Path.GetFileName(f));
        return data;
    }

    [Theory]
    [MemberData(nameof(Productions))]
    public void Every_shipped_production_validates_against_the_editor_schema(string production) =>
        Assert.Empty(Validate(Repo.Path_("productions", production)));

    [Fact]
    public void The_schema_flags_a_typo_and_a_bad_value()
    {
        var dir = Repo.Scratch("schema");
        var file = Path.Combine(dir, "typo.spineproj");
        File.WriteAllText(file, """
            <Project Sdk="SpineProd.Sdk">
              <PropertyGroup><FilesPerTask>ten</FilesPerTask></PropertyGroup>
              <ItemGroup><Stage Include="reco" Comand="x" /></ItemGroup>
            </Project>
            """);
        var errors = Validate(file);
        Assert.Contains(errors, e => e.Contains("Comand"));
        Assert.Contains(errors, e => e.Contains("ten"));
    }
}
