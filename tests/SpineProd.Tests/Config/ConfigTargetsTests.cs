using System.Diagnostics;
using SpineProd.Config;
using Xunit;

namespace SpineProd.Tests.Config;

/// <summary>
/// The MSBuild surface, through real `dotnet build` runs of productions inside the repository (so
/// global.json resolves the SDK). Few on purpose: each costs seconds.
/// </summary>
[Collection("msbuild")] // shares the task assembly build with the other MSBuild tests: never in parallel with them
public sealed class ConfigTargetsTests
{
    private static (int Exit, string Output) Build(string project, params string[] args)
    {
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = Path.GetDirectoryName(project)! };
        // -noAutoResponse: productions/Directory.Build.rsp would file an audit binlog for every test build.
        foreach (var a in new[] { "build", project, "-nologo", "-v:m", "-noAutoResponse" }.Concat(args)) psi.ArgumentList.Add(a);
        psi.Environment["MSBUILDDISABLENODEREUSE"] = "1";
        psi.Environment["DOTNET_CLI_USE_MSBUILD_SERVER"] = "0";
        psi.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        psi.Environment.Remove("SPINE_CONFIG_PATH");
        using var p = Process.Start(psi)!;
        var stderr = p.StandardError.ReadToEndAsync();
        var stdout = p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        return (p.ExitCode, stdout + stderr.Result);
    }

    private static string Production(string body)
    {
        var dir = Path.Combine(ProjectConfigTests.RepoRoot(), "artifacts", "test-productions", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        var proj = Path.Combine(dir, "p.spineproj");
        File.WriteAllText(proj, $"<Project Sdk=\"SpineProd.Sdk\">\n{body}\n</Project>\n");
        return proj;
    }

    [Fact]
    public void ResolveConfigsTargetReproducesTheCorpus()
    {
        if (ConfigConformanceTests.RequireCorpus() is not { } corpus) return;
        var proj = Production("");
        using var cleanup = new DeleteOnDispose(Path.GetDirectoryName(proj)!);
        var outDir = Path.Combine(Path.GetDirectoryName(proj)!, "resolved");
        var (exit, output) = Build(proj, "-t:ResolveConfigs", $"-p:ConfigRoot={Path.Combine(corpus, "infer")}", $"-p:ResolvedConfigDir={outDir}");
        Assert.True(exit == 0, output);
        var files = BulkConfigResolver.ConfigFiles(Path.Combine(corpus, "infer"));
        foreach (var rel in files)
        {
            var actual = Path.Combine(outDir, rel + ".json");
            Assert.True(File.Exists(actual), $"{rel}.json not written");
            Assert.Null(JsonCompare.Diff(File.ReadAllText(Path.Combine(corpus, "expected", rel + ".json")), File.ReadAllText(actual)));
        }
        Assert.Contains($"Resolved {files.Count} configs", output);
    }

    [Fact]
    public void ABrokenConfigFailsTheBuildAtItsYamlLine_AndListModsWorks()
    {
        var proj = Production("<PropertyGroup><SpineConfig>top.yaml</SpineConfig></PropertyGroup>");
        var dir = Path.GetDirectoryName(proj)!;
        using var cleanup = new DeleteOnDispose(dir);
        File.WriteAllText(Path.Combine(dir, "top.yaml"), "base: {seed: 1}\ninclude:\n  - missing.yaml\n");
        var (exit, output) = Build(proj, "-t:ResolveConfigs");
        Assert.NotEqual(0, exit);
        Assert.Contains($"{Path.Combine(dir, "top.yaml")}(3,5): error SPN2003", output);

        // The CI validation target: every top-level config of a detector folder, errors at the YAML line.
        Directory.CreateDirectory(Path.Combine(dir, "infer", "det"));
        File.WriteAllText(Path.Combine(dir, "infer", "det", "det_base.cfg"), "base: {seed: 1}\nio: {}\n");
        File.WriteAllText(Path.Combine(dir, "infer", "det", "det_full_chain_250101.cfg"), "include: det_base.cfg\noverride:\n  base.seed.x: 2\n");
        (exit, output) = Build(proj, "-t:ValidateConfigs", $"-p:SpineProdValidateConfigRoot={Path.Combine(dir, "infer")}");
        Assert.NotEqual(0, exit);
        Assert.Contains($"{Path.Combine(dir, "infer", "det", "det_full_chain_250101.cfg")}(3,3): error SPN2006", output);

        var icarus = Path.Combine(ProjectConfigTests.RepoRoot(), "productions", "icarus.spineproj");
        (exit, output) = Build(icarus, "-t:ListMods");
        Assert.True(exit == 0, output);
        Assert.Contains("data       -> mod_data_250625.yaml", output);
    }
}

internal sealed class DeleteOnDispose(string dir) : IDisposable
{
    public void Dispose()
    {
        try { Directory.Delete(dir, true); } catch (IOException) { }
    }
}
