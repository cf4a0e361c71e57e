using System.Text.Json;
using SpineProd.Config;
using Xunit;
using Xunit.Abstractions;

namespace SpineProd.Tests.Config;

/// <summary>
/// The contract with SPINE: every config of the conformance corpus resolves to the tree SPINE's own
/// loader produced (maps compared without order), or fails with the same SPINE error class.
/// </summary>
public sealed class ConfigConformanceTests(ITestOutputHelper output)
{
    /// <summary>
    /// The corpus: $SPINEPROD_CONFORMANCE_DIR, else shared/conformance/spine-configs beside the repository
    /// (walking up from the test assembly). Null when absent; in CI (CI=true) absence is a failure.
    /// </summary>
    internal static string? CorpusDir()
    {
        var env = Environment.GetEnvironmentVariable("SPINEPROD_CONFORMANCE_DIR");
        if (!string.IsNullOrEmpty(env)) return Directory.Exists(env) ? env : null;
        for (var d = new DirectoryInfo(AppContext.BaseDirectory); d is not null; d = d.Parent)
        {
            var c = Path.Combine(d.FullName, "shared", "conformance", "spine-configs");
            if (Directory.Exists(Path.Combine(c, "expected"))) return c;
        }
        return null;
    }

    /// <summary>
    /// The corpus, or null outside CI when it is not there (xunit 2 has no dynamic skip: the test then
    /// passes with a note). In CI (CI=true) a missing corpus fails the test.
    /// </summary>
    internal static string? RequireCorpus(ITestOutputHelper? output = null)
    {
        var dir = CorpusDir();
        if (dir is null)
        {
            var ci = string.Equals(Environment.GetEnvironmentVariable("CI"), "true", StringComparison.OrdinalIgnoreCase);
            Assert.False(ci, "The SPINE config conformance corpus was not found (set SPINEPROD_CONFORMANCE_DIR).");
            output?.WriteLine("SPINE config corpus not found: conformance not checked (set SPINEPROD_CONFORMANCE_DIR).");
        }
        return dir;
    }

    [Fact]
    public void EveryCorpusConfigResolvesAsSpineDoes()
    {
        if (RequireCorpus(output) is not { } corpus) return;
        var infer = Path.Combine(corpus, "infer");
        var files = BulkConfigResolver.ConfigFiles(infer);
        Assert.True(files.Count >= 100, $"only {files.Count} configs in {infer}");
        var failures = new List<string>();
        var env = new Dictionary<string, string?>();
        foreach (var rel in files)
        {
            var expectedPath = Path.Combine(corpus, "expected", rel + ".json");
            Assert.True(File.Exists(expectedPath), $"no expected result for {rel}");
            var actual = BulkConfigResolver.ResolveToJson(Path.Combine(infer, rel), env, out var err);
            var diff = JsonCompare.Diff(File.ReadAllText(expectedPath), actual);
            if (diff is not null) failures.Add($"{rel}: {diff}{(err is null ? "" : $" [{err.Code} {err.File}({err.Line},{err.Column}) {err.Message}]")}");
        }
        foreach (var f in failures) output.WriteLine(f);
        Assert.True(failures.Count == 0, $"{failures.Count}/{files.Count} corpus configs differ:\n" + string.Join("\n", failures.Take(20)));
    }

    [Fact]
    public void LatestPlusModifiersEqualsSpinesResultForTheSameFiles()
    {
        // spine-prod's verified ICARUS latest picks are the components of icarus_full_chain_co_250625;
        // its legacy data+lite composite is what SPINE made of those plus two modifiers.
        if (RequireCorpus(output) is not { } corpus) return;
        var icarus = Path.Combine(corpus, "infer", "icarus");
        var r = JobConfigResolver.Resolve(icarus, ["data:250303", "lite"], corpus, corpus, new Dictionary<string, string?>());
        Assert.Equal("icarus_latest_250625_data_lite_composite.yaml", r.CompositeFileName);
        // The composite pins post.flash_match.cfg (relative in post/post_250625.yaml) to its real file.
        var fm = (ConfigMap)((ConfigMap)r.Config["post"]!)["flash_match"]!;
        Assert.Equal(Path.Combine(icarus, "post", "flashmatch", "flashmatch_250214.cfg"), fm["cfg"]);
        fm.Set("cfg", "flashmatch/flashmatch_250214.cfg", null);
        var expected = File.ReadAllText(Path.Combine(corpus, "expected", "icarus", "legacy", "icarus_full_chain_data_co_lite_250625.yaml.json"));
        Assert.Null(JsonCompare.Diff(expected, CanonicalJson.Ok(r.Config)));
    }

    [Fact]
    public void CanonicalJsonIsByteIdenticalToTheCorpus()
    {
        if (RequireCorpus(output) is not { } corpus) return;
        var infer = Path.Combine(corpus, "infer");
        var mismatched = new List<string>();
        foreach (var rel in BulkConfigResolver.ConfigFiles(infer))
        {
            var expected = File.ReadAllText(Path.Combine(corpus, "expected", rel + ".json"));
            if (!expected.Contains("\"ok\": true", StringComparison.Ordinal)) continue;
            var actual = BulkConfigResolver.ResolveToJson(Path.Combine(infer, rel), new Dictionary<string, string?>(), out _);
            if (actual != expected) mismatched.Add(rel);
        }
        Assert.True(mismatched.Count == 0, "not byte-identical: " + string.Join(", ", mismatched.Take(10)));
    }
}

/// <summary>Compares two corpus JSON documents: maps without order, lists in order; errors by class only.</summary>
internal static class JsonCompare
{
    public static string? Diff(string expectedJson, string actualJson)
    {
        using var e = JsonDocument.Parse(expectedJson);
        using var a = JsonDocument.Parse(actualJson);
        var eok = e.RootElement.GetProperty("ok").GetBoolean();
        var aok = a.RootElement.GetProperty("ok").GetBoolean();
        if (eok != aok)
            return eok ? $"expected a config, got {a.RootElement.GetProperty("error").GetString()}: {a.RootElement.GetProperty("message").GetString()}"
                       : $"expected {e.RootElement.GetProperty("error").GetString()}, got a config";
        if (!eok)
        {
            var ec = e.RootElement.GetProperty("error").GetString();
            var ac = a.RootElement.GetProperty("error").GetString();
            return ec == ac ? null : $"expected {ec}, got {ac}: {a.RootElement.GetProperty("message").GetString()}";
        }
        return Diff(e.RootElement.GetProperty("config"), a.RootElement.GetProperty("config"), "config");
    }

    private static string? Diff(JsonElement e, JsonElement a, string path)
    {
        if (e.ValueKind != a.ValueKind) return $"{path}: expected {e.ValueKind} {e}, got {a.ValueKind} {a}";
        switch (e.ValueKind)
        {
            case JsonValueKind.Object:
                var ep = e.EnumerateObject().ToDictionary(p => p.Name, p => p.Value);
                var ap = a.EnumerateObject().ToDictionary(p => p.Name, p => p.Value);
                foreach (var k in ep.Keys.Except(ap.Keys)) return $"{path}.{k}: missing";
                foreach (var k in ap.Keys.Except(ep.Keys)) return $"{path}.{k}: unexpected";
                foreach (var (k, v) in ep)
                    if (Diff(v, ap[k], $"{path}.{k}") is { } d) return d;
                return null;
            case JsonValueKind.Array:
                var el = e.EnumerateArray().ToList();
                var al = a.EnumerateArray().ToList();
                if (el.Count != al.Count) return $"{path}: expected {el.Count} items, got {al.Count}";
                for (var i = 0; i < el.Count; i++)
                    if (Diff(el[i], al[i], $"{path}[{i}]") is { } d) return d;
                return null;
            case JsonValueKind.Number:
                // Compare numerically but keep int/float distinct, as Python's json does (1 vs 1.0).
                var es = e.GetRawText(); var as_ = a.GetRawText();
                if (es.Contains('.') || es.Contains('e')) return e.GetDouble() == a.GetDouble() && (as_.Contains('.') || as_.Contains('e')) ? null : $"{path}: expected {es}, got {as_}";
                return es == as_ ? null : $"{path}: expected {es}, got {as_}";
            default:
                return e.GetRawText() == a.GetRawText() ? null : $"{path}: expected {e.GetRawText()}, got {a.GetRawText()}";
        }
    }
}
