using SpineProd.Config;
using SpineProd.Diagnostics;
using Xunit;

namespace SpineProd.Tests.Config;

/// <summary>The project's own infer/ configs: they resolve, latest and modifiers pick what the rules say.</summary>
public sealed class ProjectConfigTests
{
    internal static string RepoRoot()
    {
        for (var d = new DirectoryInfo(AppContext.BaseDirectory); d is not null; d = d.Parent)
            if (File.Exists(Path.Combine(d.FullName, "global.json")) && Directory.Exists(Path.Combine(d.FullName, "infer")))
                return d.FullName;
        throw new InvalidOperationException("repository root not found");
    }

    private static readonly Dictionary<string, string?> NoEnv = new();
    private static string Icarus => Path.Combine(RepoRoot(), "infer", "icarus");

    [Fact]
    public void EveryTopLevelConfigUnderInferResolves()
    {
        var files = ConfigValidation.TopLevelConfigs(Path.Combine(RepoRoot(), "infer"));
        Assert.True(files.Count >= 15, $"only {files.Count} top-level configs");
        foreach (var f in files)
        {
            var loader = new SpineConfigLoader(NoEnv);
            var config = loader.LoadFile(f);
            Assert.True(config.ContainsKey("base"), f);
            Assert.True(config.ContainsKey("io"), f);
            Assert.Empty(loader.Warnings);
        }
    }

    [Fact]
    public void EveryIcarusComponentAndModifierCombinationResolves()
    {
        // The data modifier after each full chain: its strict-warn paths must all exist.
        foreach (var top in Directory.GetFiles(Icarus, "icarus_full_chain_*.yaml"))
        {
            var r = JobConfigResolver.Resolve(top, ["data", "lite"], Icarus, RepoRoot(), NoEnv);
            var io = (ConfigMap)r.Config["io"]!;
            var schema = (ConfigMap)((ConfigMap)((ConfigMap)io["loader"]!)["dataset"]!)["schema"]!;
            Assert.False(schema.ContainsKey("seg_label"));
            Assert.Equal(true, ((ConfigMap)io["writer"]!)["lite"]);
            Assert.Empty(r.Warnings);
        }
    }

    [Fact]
    public void IcarusLatestPicksTheNewestComponentOfEachKind()
    {
        var deps = new List<string>();
        var sel = LatestAndModifiers.SelectLatest(Icarus, deps);
        Assert.Equal(["base_240719", "io_250115", "model_co_250625", "post_250625"], sel.Picks.Select(p => Path.GetFileNameWithoutExtension(p.File)));
        Assert.Equal("250625", sel.LatestVersion);
        Assert.Contains(Path.Combine(Icarus, "model"), deps);
    }

    [Theory]
    [InlineData("../infer/icarus/latest")]
    [InlineData("../infer/icarus")]
    [InlineData("../infer/icarus/")]
    [InlineData("infer/icarus/latest")]
    public void SpineConfigLatestBuildsAComposite(string spec)
    {
        var productions = Path.Combine(RepoRoot(), "productions");
        var r = JobConfigResolver.Resolve(spec, [], productions, RepoRoot(), NoEnv);
        Assert.Equal("latest", r.ConfigStem);
        Assert.Equal("icarus", r.Detector);
        Assert.Equal("icarus_latest_250625_composite.yaml", r.CompositeFileName);
        Assert.Equal("config/icarus_latest_250625_composite.yaml", r.ConfigArgument);
        var composite = r.FilesToWrite[r.CompositeFileName!];
        Assert.Contains(Path.Combine(Icarus, "model", "model_co_250625.yaml"), composite);
        Assert.DoesNotContain("Generated:", composite); // byte-stable across builds
        // The composite resolves to the same tree as the hand-written equivalent.
        var same = new SpineConfigLoader(NoEnv).LoadFile(Path.Combine(Icarus, "icarus_full_chain_co_250625.yaml"));
        Assert.Equal(CanonicalJson.Serialize(same), CanonicalJson.Serialize(r.Config));
        Assert.Equal(["composite", "resolved.sha256", "resolved.yaml", "sources.sha256"],
            r.FilesToWrite.Keys.Select(k => k.EndsWith("_composite.yaml") ? "composite" : k).Order());
        Assert.Equal($"{r.ResolvedSha256}  resolved.yaml\n", r.FilesToWrite["resolved.sha256"]);
        Assert.Contains(Path.Combine(Icarus, "post", "flashmatch", "flashmatch_250214.cfg"), r.FilesToWrite["sources.sha256"]);
        Assert.Contains(Path.Combine(Icarus, "model"), r.Dependencies);
    }

    [Fact]
    public void ModifiersFollowTheVersionRules()
    {
        var r = JobConfigResolver.Resolve("infer/icarus/latest", ["data", "lite:240719"], RepoRoot(), RepoRoot(), NoEnv);
        Assert.Equal("icarus_latest_250625_data_lite_composite.yaml", r.CompositeFileName);
        var composite = r.FilesToWrite[r.CompositeFileName!];
        Assert.Contains("mod_data_250625.yaml", composite);   // exact match with the latest version
        Assert.Contains("mod_lite_240719.yaml", composite);   // explicit version
        Assert.Contains(r.Messages, m => m.Contains("using matching version 250625"));

        // co_250115: no data_250115, so the closest earlier one; numi has nothing earlier than 240719.
        var co = JobConfigResolver.Resolve("infer/icarus/icarus_full_chain_co_250115.yaml", ["data"], RepoRoot(), RepoRoot(), NoEnv);
        Assert.Contains("mod_data_240719.yaml", co.FilesToWrite[co.CompositeFileName!]);
        var old = JobConfigResolver.Resolve("infer/icarus/icarus_full_chain_240719.yaml", ["numi"], RepoRoot(), RepoRoot(), NoEnv);
        Assert.Contains(old.Warnings, w => w.Code == "SPN2046");
    }

    [Fact]
    public void LatestUnderscoreModifiersIsLatestWithThoseModifiers()
    {
        var named = JobConfigResolver.Resolve("infer/icarus/latest_data_lite", [], RepoRoot(), RepoRoot(), NoEnv);
        var explicitMods = JobConfigResolver.Resolve("infer/icarus/latest", ["data", "lite"], RepoRoot(), RepoRoot(), NoEnv);
        Assert.Equal(explicitMods.ResolvedSha256, named.ResolvedSha256);
        Assert.Equal("latest_data_lite", named.ConfigStem);
        Assert.Equal(explicitMods.CompositeFileName, named.CompositeFileName);
        var e = Assert.Throws<SpineProdException>(() => JobConfigResolver.Resolve("infer/icarus/latest_datax", [], RepoRoot(), RepoRoot(), NoEnv));
        Assert.Equal("SPN2043", e.Code);
    }

    [Fact]
    public void ListModsDescribesEveryModifier()
    {
        var lines = ModifierListing.Describe("../infer/icarus/latest", Path.Combine(RepoRoot(), "productions"), RepoRoot(), NoEnv);
        Assert.Contains(lines, l => l.Contains("data") && l.Contains("mod_data_250625.yaml"));
        Assert.Contains(lines, l => l.Contains("lite") && l.Contains("mod_lite_240719.yaml"));
        Assert.Contains(lines, l => l.Contains("numi") && l.Contains("mod_numi_250115.yaml"));
    }

    [Fact]
    public void FlatLayoutModifiersAndLatestSymlinks()
    {
        var sbnd = Path.Combine(RepoRoot(), "infer", "sbnd");
        var viaLink = JobConfigResolver.Resolve("infer/sbnd/latest", [], RepoRoot(), RepoRoot(), NoEnv);
        Assert.Equal("sbnd", viaLink.Detector);
        Assert.Null(viaLink.CompositeFileName); // latest.cfg is followed; SPINE gets the file itself
        Assert.Equal(Path.Combine(sbnd, "latest.cfg"), viaLink.ConfigArgument);
        var direct = new SpineConfigLoader(NoEnv).LoadFile(Path.Combine(sbnd, "sbnd_full_chain_250901.cfg"));
        Assert.Equal(CanonicalJson.Serialize(direct), CanonicalJson.Serialize(viaLink.Config));

        var data = JobConfigResolver.Resolve("infer/sbnd/sbnd_full_chain_250901.cfg", ["data"], RepoRoot(), RepoRoot(), NoEnv);
        Assert.Contains("sbnd_data_mod.cfg", data.FilesToWrite[data.CompositeFileName!]);
        var latestData = JobConfigResolver.Resolve("infer/sbnd/latest", ["data"], RepoRoot(), RepoRoot(), NoEnv);
        Assert.Equal("sbnd_full_chain_250901_data_composite.yaml", latestData.CompositeFileName); // named after the link's target
        Assert.Equal("latest", latestData.ConfigStem);
        Assert.Equal(data.ResolvedSha256, latestData.ResolvedSha256);
        // flash_match.cfg is relative to the base config's folder: pinned, since the composite lives elsewhere.
        Assert.Contains(data.Messages, m => m.StartsWith("post.flash_match.cfg: relative path 'flashmatch_250408.cfg' pinned", StringComparison.Ordinal));
        var fm = (ConfigMap)((ConfigMap)data.Config["post"]!)["flash_match"]!;
        Assert.Equal(Path.Combine(sbnd, "flashmatch_250408.cfg"), fm["cfg"]);
    }

    [Fact]
    public void ConfigInfer_LayoutAndSpineConfigPath()
    {
        using var tmp = new TempTree();
        tmp.Write("config/infer/det/det_base.cfg", "base: {seed: 1}\nio: {x: 1}\n");
        tmp.Write("other/shared/frag.yaml", "geo: {detector: det}\n");
        tmp.Write("config/infer/det/det_full_chain_250101.cfg", "include: [det_base.cfg, shared/frag]\n");
        var env = new Dictionary<string, string?> { ["SPINE_CONFIG_PATH"] = Path.Combine(tmp.Root, "other") };
        var r = JobConfigResolver.Resolve("infer/det/det_full_chain_250101", [], Path.Combine(tmp.Root, "prod"), tmp.Root, env);
        Assert.Equal("det", r.Detector);
        Assert.Equal("det", ((ConfigMap)r.Config["geo"]!)["detector"]);
        var viaPath = JobConfigResolver.Resolve("det/det_full_chain_250101.cfg", [], tmp.Root, tmp.Root,
            new Dictionary<string, string?> { ["SPINE_CONFIG_PATH"] = $"{Path.Combine(tmp.Root, "config", "infer")}:{Path.Combine(tmp.Root, "other")}" });
        Assert.Equal(r.ResolvedSha256, viaPath.ResolvedSha256);
    }

    [Fact]
    public void RelativePathValuesSpineWouldMissAreWarnedOrPinned()
    {
        // The upstream ICARUS bug (research/upstream.md §4.5): post/post_x.yaml says cfg: flashmatch/fm.cfg,
        // which exists under post/, but SPINE looks for it next to the top-level config.
        using var tmp = new TempTree();
        tmp.Write("det/post/flashmatch/fm.cfg", "not yaml {");
        var post = tmp.Write("det/post/post_250101.yaml", "post:\n  flash_match:\n    cfg: flashmatch/fm.cfg\n");
        tmp.Write("det/modifier/data/mod_data_250101.yaml", "__meta__: {kind: mod, name: data}\noverride: {post.flash_match.x: 1}\n");
        tmp.Write("det/full_250101.yaml", "include: [post/post_250101.yaml]\n");
        var plain = JobConfigResolver.Resolve("det/full_250101.yaml", [], tmp.Root, tmp.Root, NoEnv);
        var w = Assert.Single(plain.Warnings);
        Assert.Equal(("SPN2033", post, 3), (w.Code, w.File, w.Line));
        var composite = JobConfigResolver.Resolve("det/full_250101.yaml", ["data"], tmp.Root, tmp.Root, NoEnv);
        var fm = (ConfigMap)((ConfigMap)composite.Config["post"]!)["flash_match"]!;
        Assert.Equal(Path.Combine(tmp.Root, "det", "post", "flashmatch", "fm.cfg"), fm["cfg"]);
        Assert.Equal(1L, fm["x"]);
    }

    [Fact]
    public void SourcesManifestChecksWithSha256sum()
    {
        if (!File.Exists("/usr/bin/sha256sum")) return; // coreutils: on every Linux node the jobs run on
        using var tmp = new TempTree();
        tmp.Write("odd dir\\x/base.yaml", "base: {seed: 1}\n");
        tmp.Write("odd dir\\x/top.yaml", "include: base.yaml\n");
        var r = JobConfigResolver.Resolve("odd dir\\x/top.yaml", [], tmp.Root, tmp.Root, NoEnv);
        var manifest = tmp.Write("sources.sha256", r.FilesToWrite["sources.sha256"]);
        tmp.Write("resolved.yaml", r.FilesToWrite["resolved.yaml"]);
        tmp.Write("resolved.sha256", r.FilesToWrite["resolved.sha256"]);
        foreach (var (file, expectOk) in new[] { (manifest, true), (Path.Combine(tmp.Root, "resolved.sha256"), true) })
        {
            var psi = new System.Diagnostics.ProcessStartInfo("sha256sum", ["--quiet", "--check", file]) { WorkingDirectory = tmp.Root, RedirectStandardOutput = true, RedirectStandardError = true };
            using var p = System.Diagnostics.Process.Start(psi)!;
            var err = p.StandardError.ReadToEnd() + p.StandardOutput.ReadToEnd();
            p.WaitForExit();
            Assert.True((p.ExitCode == 0) == expectOk, err);
        }
        File.AppendAllText(Path.Combine(tmp.Root, "odd dir\\x", "base.yaml"), "# changed\n");
        using var q = System.Diagnostics.Process.Start(new System.Diagnostics.ProcessStartInfo("sha256sum", ["--quiet", "--check", manifest]) { RedirectStandardOutput = true, RedirectStandardError = true })!;
        q.WaitForExit();
        Assert.NotEqual(0, q.ExitCode);
    }

    [Fact]
    public void EqualDatesAreBrokenByNameAndReported()
    {
        using var tmp = new TempTree();
        tmp.Write("d/base/base_240101.yaml", "base: {a: 1}\n");
        tmp.Write("d/model/model_250115.yaml", "model: {w: plain}\n");
        tmp.Write("d/model/model_co_250115.yaml", "model: {w: co}\n");
        tmp.Write("d/model/model_common.yaml", "model: {w: common}\n");
        var sel = LatestAndModifiers.SelectLatest(Path.Combine(tmp.Root, "d"), new List<string>());
        var model = sel.Picks.Single(p => p.Component == "model");
        Assert.EndsWith("model_co_250115.yaml", model.File);
        Assert.Single(model.TiedWith);
    }

    [Fact]
    public void UnknownModifierAndMissingConfigAreSpnErrors()
    {
        var e = Assert.Throws<SpineProdException>(() => JobConfigResolver.Resolve("infer/icarus/latest", ["nope"], RepoRoot(), RepoRoot(), NoEnv));
        Assert.Equal("SPN2043", e.Code);
        Assert.Contains("Available: data, lite, numi", e.Message);
        e = Assert.Throws<SpineProdException>(() => JobConfigResolver.Resolve("infer/icarus/latest", ["lite:991231"], RepoRoot(), RepoRoot(), NoEnv));
        Assert.Equal("SPN2044", e.Code);
        e = Assert.Throws<SpineProdException>(() => JobConfigResolver.Resolve("infer/nowhere/x.yaml", [], RepoRoot(), RepoRoot(), NoEnv));
        Assert.Equal("SPN2040", e.Code);
    }
}

/// <summary>A temporary folder tree for loader tests, removed afterwards.</summary>
internal sealed class TempTree : IDisposable
{
    public string Root { get; } = Directory.CreateTempSubdirectory("spineprod-config-").FullName;

    public string Write(string rel, string text)
    {
        var p = Path.Combine(Root, rel);
        Directory.CreateDirectory(Path.GetDirectoryName(p)!);
        File.WriteAllText(p, text);
        return p;
    }

    public void Dispose()
    {
        try { Directory.Delete(Root, true); } catch (IOException) { }
    }
}
