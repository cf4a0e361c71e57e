using Microsoft.Build.Evaluation;
using SpineProd.Scheduler;
using SpineProd.Tests.Infrastructure;
using Xunit;

namespace SpineProd.Tests.Terminal;

/// <summary>
/// Issue 11 item 2: an IDE loads a production with the Project class (which evaluates items under
/// false conditions too), and people ask MSBuild for values with -getProperty/-getItem/-pp. On a
/// fresh clone, and after -t:Clean, none of that may fail: evaluation does no I/O that can throw.
/// </summary>
[Collection("msbuild")]
public sealed class EditorLoadTests
{
    private static IEnumerable<string> Productions(string root) =>
        Directory.GetFiles(Path.Combine(root, "productions"), "*.spineproj", SearchOption.AllDirectories)
            .Append(Path.Combine(root, "infer", "validate-configs.spineproj"));

    [Fact]
    public void Every_production_loads_as_an_IDE_loads_it_and_answers_getProperty_getItem_and_pp_on_a_fresh_clone()
    {
        var clone = FreshClone.Create("editor");
        var productions = Productions(clone).ToList();
        Assert.Contains(productions, p => p.EndsWith("demo.spineproj", StringComparison.Ordinal));

        foreach (var file in productions)
        {
            using var collection = new ProjectCollection();
            var project = new Project(file, null, null, collection);   // default load settings, as an IDE
            Assert.Equal("SpineProd.Sdk", project.Xml.Sdk);
            Assert.NotEmpty(project.GetPropertyValue("SpineProdIntermediateDir"));
        }
        // Child processes, as a person runs them; in parallel, as they spend most time starting.
        Parallel.ForEach(productions, new ParallelOptions { MaxDegreeOfParallelism = 4 }, file =>
        {
            var json = Msbuild(clone, file, "-getProperty:SpineConfig", "-getProperty:SpineProdStateDir", "-getItem:Source", "-getItem:SourceList");
            Assert.Contains("\"SpineConfig\"", json);
            var pp = Path.Combine(clone, Path.GetFileName(file) + ".pp.xml");
            Msbuild(clone, file, $"-pp:{pp}");
            Assert.Contains("SpineProd.Plan.targets", File.ReadAllText(pp));
        });

        // Clean on a production (here: never built) and then the same questions: still nothing throws.
        var demo = Path.Combine(clone, "productions", "demo.spineproj");
        Msbuild(clone, demo, "-t:Clean");
        Assert.Contains("demo/spine.yaml", Msbuild(clone, demo, "-getProperty:SpineConfig", "-getItem:Source"));
        Directory.Delete(clone, recursive: true);
    }

    private static string Msbuild(string cwd, string project, params string[] switches)
    {
        var r = ProcessRunner.Instance.Run("dotnet", ["msbuild", project, "-nologo", .. switches], TimeSpan.FromMinutes(4), cwd,
            new Dictionary<string, string?> { ["MSBUILDDISABLENODEREUSE"] = "1", ["DOTNET_CLI_USE_MSBUILD_SERVER"] = "0", ["DOTNET_NOLOGO"] = "1", ["MSBUILDTERMINALLOGGER"] = "off" });
        Assert.True(r.ExitCode == 0, $"dotnet msbuild {Path.GetFileName(project)} {string.Join(' ', switches)} failed:\n{r.Stdout}{r.Stderr}");
        Assert.DoesNotContain("MSB4184", r.Stdout + r.Stderr);
        return r.Stdout;
    }
}
