using SpineProd.Scheduler;
using SpineProd.Tests.Infrastructure;
using Xunit;

namespace SpineProd.Tests.Terminal;

/// <summary>
/// Issue 11 item 9: `dotnet build SpineProd.sln`, the CI validation build, plans every production
/// under productions/: those the solution lists, and one added without `dotnet sln add`.
/// </summary>
public sealed class SolutionBuildTests
{
    [Fact]
    public void The_solution_build_plans_every_production_under_productions_including_an_unlisted_new_one()
    {
        var clone = FreshClone.Create("sln");
        var productions = Path.Combine(clone, "productions");
        File.WriteAllText(Path.Combine(productions, "fresh.spineproj"),
            File.ReadAllText(Path.Combine(productions, "demo.spineproj")));
        Assert.DoesNotContain("fresh.spineproj", File.ReadAllText(Path.Combine(clone, "SpineProd.sln")));

        var r = ProcessRunner.Instance.Run("dotnet", ["build", "SpineProd.sln", "-nologo", "-tl:off"], TimeSpan.FromMinutes(10), clone,
            new Dictionary<string, string?> { ["MSBUILDDISABLENODEREUSE"] = "1", ["DOTNET_CLI_USE_MSBUILD_SERVER"] = "0", ["DOTNET_NOLOGO"] = "1" });
        Assert.True(r.ExitCode == 0, r.Stdout + r.Stderr);

        foreach (var production in Directory.GetFiles(productions, "*.spineproj"))
        {
            var name = Path.GetFileNameWithoutExtension(production);
            Assert.True(File.Exists(Path.Combine(productions, "obj", name, "plan.json")), $"{name} was not planned by the solution build");
        }
        Directory.Delete(clone, recursive: true);
    }
}
