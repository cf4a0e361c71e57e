using SpineProd.Config;
using SpineProd.Diagnostics;
using Xunit;

namespace SpineProd.Tests.Config;

/// <summary>SPINE's loader semantics (research/upstream.md §4.2–4.3), and SPN errors at the YAML line.</summary>
public sealed class ConfigLoaderTests : IDisposable
{
    private readonly TempTree _t = new();
    public void Dispose() => _t.Dispose();

    private ConfigMap Load(string file, Dictionary<string, string?>? env = null) =>
        new SpineConfigLoader(env ?? new()).LoadFile(Path.Combine(_t.Root, file));

    private static string Json(object? v) => CanonicalJson.Serialize(v).Replace("\n", "").Replace(" ", "");

    private SpineProdException Fails(string file, string code)
    {
        var e = Assert.Throws<SpineProdException>(() => Load(file));
        Assert.True(code == e.Code, $"{e.Code}: {e.Message}");
        return e;
    }

    [Fact]
    public void IncludesMergeDepthFirstInOrderListsReplace()
    {
        _t.Write("a.yaml", "x: {p: 1, l: [1, 2]}\nname: a\n");
        _t.Write("sub/b.yaml", "include: ../a.yaml\nx: {q: 2, l: [3]}\n");
        _t.Write("top.yaml", "include: [sub/b.yaml, c]\nname: top\n");
        _t.Write("c.yml", "x: {r: 3}\n");
        Assert.Equal("""{"x":{"p":1,"l":[3],"q":2,"r":3},"name":"top"}""", Json(Load("top.yaml")));
    }

    [Fact]
    public void OverridesApplyPerIncludeAndMissingParentsMoveUp()
    {
        // mod comes first, so base.* does not exist yet when mod's override is applied: it propagates
        // to top and wins at the end. base's own override applies right after base.
        _t.Write("base.yaml", "base: {a: 1, b: 2}\noverride:\n  base.b: 20\n");
        _t.Write("mod.yaml", "override:\n  base.a: 10\n  new.x: 1\n");
        _t.Write("top.yaml", "include: [mod.yaml, base.yaml]\n");
        Assert.Equal("""{"base":{"a":10,"b":20}}""", Json(Load("top.yaml")));
    }

    [Fact]
    public void LaterSiblingContentBeatsEarlierOverridesTopBeatsAll()
    {
        _t.Write("one.yaml", "k: {v: 1}\noverride: {k.v: 2}\n");
        _t.Write("two.yaml", "k: {v: 3}\n");
        _t.Write("top.yaml", "include: [one.yaml, two.yaml]\nk: {w: 0}\noverride: {k.w: 9, k.v: \"[a, true]\"}\n");
        // The override value is a string: SPINE re-reads it as YAML, so it becomes a list.
        Assert.Equal("""{"k":{"v":["a",true],"w":9}}""", Json(Load("top.yaml")));
    }

    [Fact]
    public void CollectionOperations()
    {
        _t.Write("base.yaml", "l: [a, b, a, c]\nd: {x: 1, y: 2, z: 3}\n");
        _t.Write("top.yaml", """
            include: base.yaml
            override:
              l-: a
              l+: [d, b]
              d-: [x, nope]
              fresh+: one
            """);
        Assert.Equal("""{"l":["b","c","d","b"],"d":{"y":2,"z":3},"fresh":["one"]}""", Json(Load("top.yaml")));
        _t.Write("uniq.yaml", "__meta__: {list_append: unique}\ninclude: base.yaml\noverride:\n  l+: [a, e, e]\n");
        Assert.Equal("""["a","b","a","c","e"]""", Json(Load("uniq.yaml")["l"]));
    }

    [Fact]
    public void RemoveRunsBeforeOverridesInIncludesAndAfterAtTheTop()
    {
        _t.Write("base.yaml", "a: {x: 1}\n");
        _t.Write("inc.yaml", "include: base.yaml\nremove: a.x\noverride: {a.x: 2}\n");
        _t.Write("top.yaml", "include: inc.yaml\n");
        Assert.Equal("""{"a":{"x":2}}""", Json(Load("top.yaml")));
        _t.Write("top2.yaml", "include: base.yaml\nremove: [a.x]\noverride: {a.x: 2}\n");
        Assert.Equal("""{"a":{}}""", Json(Load("top2.yaml")));
    }

    [Fact]
    public void NullOverrideKeepsTheKey()
    {
        _t.Write("top.yaml", "a: {x: 1}\noverride: {a.x: null}\n");
        Assert.Equal("""{"a":{"x":null}}""", Json(Load("top.yaml")));
    }

    [Fact]
    public void DiamondIncludesAreAllowedCyclesAreSpn2004AtTheInclude()
    {
        _t.Write("leaf.yaml", "v: 1\n");
        _t.Write("l.yaml", "include: leaf.yaml\n");
        _t.Write("r.yaml", "include: leaf.yaml\n");
        _t.Write("top.yaml", "include: [l.yaml, r.yaml]\n");
        Assert.Equal("""{"v":1}""", Json(Load("top.yaml")));

        _t.Write("a.yaml", "include: b.yaml\n");
        var b = _t.Write("b.yaml", "x: 1\ninclude:\n  - leaf.yaml\n  - a.yaml\n");
        var e = Fails("a.yaml", "SPN2004");
        Assert.Equal((b, 4, 5), (e.File, e.Line, e.Column));
        Assert.Equal("ConfigCycleError", ConfigErrors.SpineClass(e.Code));
        Assert.Contains("Circular include detected", e.Message);
    }

    [Fact]
    public void BrokenIncludeIsSpn2003AtTheIncludeLine()
    {
        var top = _t.Write("top.yaml", "# comment\ninclude:\n  - ok.yaml\n  - missing.yaml\n");
        _t.Write("ok.yaml", "a: 1\n");
        var e = Fails("top.yaml", "SPN2003");
        Assert.Equal((top, 4, 5), (e.File, e.Line, e.Column));
        Assert.Equal("ConfigIncludeError", ConfigErrors.SpineClass(e.Code));
    }

    [Fact]
    public void YamlSyntaxErrorInAnIncludedFileNamesThatFile()
    {
        _t.Write("top.yaml", "include: bad.yaml\n");
        var bad = _t.Write("bad.yaml", "a: 1\nb: [1, 2\nc: 3\n");
        var e = Fails("top.yaml", "SPN2001");
        Assert.Equal(bad, e.File);
        Assert.True(e.Line >= 2, $"line {e.Line}");
        Assert.Equal("ConfigIncludeError", ConfigErrors.SpineClass(e.Code));
    }

    [Fact]
    public void BadOverridePathsAreSpnErrorsAtTheOverrideKey()
    {
        _t.Write("base.yaml", "post: {containment: 5}\nio: {}\n");
        var top = _t.Write("top.yaml", "include: base.yaml\noverride:\n  io.x: 1\n  post.containment.mode: x\n");
        var e = Fails("top.yaml", "SPN2006");
        Assert.Equal((top, 4, 3), (e.File, e.Line, e.Column));
        Assert.Equal("ConfigTypeError", ConfigErrors.SpineClass(e.Code));

        var mod = _t.Write("mod.yaml", "override:\n  io.loader.keys-: [a]\n");
        _t.Write("top2.yaml", "include: [base.yaml, mod.yaml]\n");
        e = Fails("top2.yaml", "SPN2007");
        Assert.Equal((mod, 2, 3), (e.File, e.Line, e.Column));
        Assert.Equal("ConfigPathError", ConfigErrors.SpineClass(e.Code));

        _t.Write("top3.yaml", "include: base.yaml\noverride: {post+: [x]}\n");
        Assert.Equal("ConfigOperationError", ConfigErrors.SpineClass(Fails("top3.yaml", "SPN2009").Code));
        _t.Write("top4.yaml", "include: base.yaml\noverride: {post.containment+: [x]}\n");
        Fails("top4.yaml", "SPN2010");
        _t.Write("top5.yaml", "include: base.yaml\nremove: post.nothing\n");
        Fails("top5.yaml", "SPN2011");
        _t.Write("top6.yaml", "include: 3\n");
        Assert.Equal("ConfigOperationError", ConfigErrors.SpineClass(Fails("top6.yaml", "SPN2005").Code));
        _t.Write("top7.yaml", "- a\n- b\n");
        Fails("top7.yaml", "SPN2015");
    }

    [Fact]
    public void StrictWarnModifiersWarnInsteadOfFailing()
    {
        _t.Write("base.yaml", "a: {}\n");
        var mod = _t.Write("mod.yaml", "__meta__: {kind: mod, name: m}\noverride:\n  gone.x-: [1]\n");
        var loader = new SpineConfigLoader();
        loader.LoadFile(mod); // top level, strict warn: a warning, not an error
        var w = Assert.Single(loader.Warnings);
        Assert.Equal(("SPN2030", mod, 3), (w.Code, w.File, w.Line));
    }

    [Fact]
    public void CompatibilityIsCheckedAgainstEarlierComponents()
    {
        _t.Write("base/base_240719.yaml", "__meta__: {version: \"240719\"}\nbase: {}\n");
        _t.Write("model/model_250101.yaml", "__meta__: {version: \"250101\", compatible_with: {base: \">=240801\"}}\nmodel: {}\n");
        var top = _t.Write("top.yaml", "include:\n  - base/base_240719.yaml\n  - model/model_250101.yaml\n");
        var e = Fails("top.yaml", "SPN2012");
        Assert.Equal((top, 3, 5), (e.File, e.Line, e.Column));
        Assert.Contains("base: 240719 does not satisfy >=240801", e.Message);
        Assert.Equal("ConfigValidationError", ConfigErrors.SpineClass(e.Code));

        _t.Write("ok.yaml", "include: [base/base_240719.yaml]\n__meta__: {version: \"250101\"}\n");
        _t.Write("frag/f.yaml", "__meta__: {kind: fragment, version: \"999999\"}\nx: 1\n");
        _t.Write("top2.yaml", "include: [base/base_240719.yaml, frag/f.yaml, model/model_250101.yaml]\n");
        Assert.Equal("SPN2012", Fails("top2.yaml", "SPN2012").Code); // fragments register no component
    }

    [Fact]
    public void ModifierConflictsAreCheckedBothWays()
    {
        _t.Write("a.yaml", "__meta__: {kind: mod, name: numi, conflicts_with: [bnb]}\n");
        _t.Write("b.yaml", "__meta__: {kind: mod, name: bnb}\n");
        var top = _t.Write("top.yaml", "include:\n  - b.yaml\n  - a.yaml\n");
        var e = Fails("top.yaml", "SPN2014");
        Assert.Equal((top, 3, 5), (e.File, e.Line, e.Column));
        Assert.Contains("Modifier conflict: 'bnb'", e.Message);
    }

    [Fact]
    public void TagsSearchPathAndEnvironment()
    {
        _t.Write("lib/shared.yaml", "__meta__: {version: \"240101\"}\ninclude: inner.yaml\noverride: {s.y: 2}\n");
        _t.Write("lib/inner.yaml", "s: {x: 1, y: 1}\n");
        _t.Write("conf/fm/fm.cfg", "not yaml: {\n");
        _t.Write("conf/top.yaml", """
            include: shared
            inline: !include ../lib/shared.yaml
            cfg: !path fm/fm.cfg
            weights: !download {url: "https://example.org/w.ckpt", hash: abc}
            db: $DATA/db/${RUN}.db
            other: $UNSET/x
            """);
        var env = new Dictionary<string, string?> { ["SPINE_CONFIG_PATH"] = Path.Combine(_t.Root, "lib"), ["DATA"] = "/data", ["RUN"] = "r2" };
        var c = Load("conf/top.yaml", env);
        Assert.Equal("""{"x":1,"y":2}""", Json(c["s"]));
        Assert.Equal("""{"s":{"x":1,"y":2}}""", Json(c["inline"]));
        Assert.Equal(Path.Combine(_t.Root, "conf", "fm", "fm.cfg"), c["cfg"]);
        Assert.Equal(new TaggedValue("!download", ((TaggedValue)c["weights"]!).Value), c["weights"]);
        Assert.Equal("/data/db/r2.db", c["db"]);
        Assert.Equal("$UNSET/x", c["other"]);

        _t.Write("conf/nopath.yaml", "cfg: !path nowhere.cfg\n");
        var e = Assert.Throws<SpineProdException>(() => Load("conf/nopath.yaml", env));
        Assert.Equal(("SPN2016", 1, 6), (e.Code, e.Line, e.Column));
    }

    [Fact]
    public void ControlCharactersAndInvalidUtf8AreYamlErrors()
    {
        var f = _t.Write("ctl.yaml", "a: 1\nb: x\u0001y\n");
        var e = Fails("ctl.yaml", "SPN2001");
        Assert.Equal((f, 2, 5), (e.File, e.Line, e.Column));
        File.WriteAllBytes(Path.Combine(_t.Root, "latin1.yaml"), [(byte)'a', (byte)':', (byte)' ', 0xe9, (byte)'\n']);
        Fails("latin1.yaml", "SPN2001");
    }

    [Fact]
    public void GitSymlinkPlaceholdersAreFollowed()
    {
        _t.Write("det/full_240101.cfg", "base: {seed: 1}\n");
        File.WriteAllText(Path.Combine(_t.Root, "det", "latest.cfg"), "full_240101.cfg");
        Assert.Equal("""{"base":{"seed":1}}""", Json(Load("det/latest.cfg")));
    }
}

/// <summary>SPINE's parse_value on override strings (yaml.safe_load), fast path and full parse alike.</summary>
public sealed class ParseValueTests
{
    [Theory]
    [InlineData("abc/def.cfg", "\"abc/def.cfg\"")] [InlineData("true", "true")] [InlineData("Off", "false")] [InlineData("12", "12")]
    [InlineData("0x10", "16")] [InlineData("1e-3", "\"1e-3\"")] [InlineData("1.0e-3", "0.001")] [InlineData("~", "null")]
    [InlineData("2025-06-25", "\"2025-06-25\"")] [InlineData("2025-13-01", "\"2025-13-01\"")] [InlineData("[a, 1]", "[\"a\", 1]")]
    [InlineData("{a: 1}", "{\"a\": 1}")] [InlineData("-", "[null]")] [InlineData("- a", "[\"a\"]")] [InlineData("x # c", "\"x\"")]
    [InlineData("---", "null")] [InlineData(".5", "0.5")] [InlineData("a: b", "{\"a\": \"b\"}")] [InlineData("!path x", "\"!path x\"")]
    [InlineData("", "\"\"")] [InlineData("2:00:00", "7200")] [InlineData("+.inf", "\"inf\"")]
    public void OverrideStringsAreReadAsYaml(string value, string json) =>
        Assert.Equal(json, CanonicalJson.Serialize(SpineConfigLoader.ParseValue(value)).Replace("\n", "").Replace("[ ", "[").Replace("{ ", "{").Replace(",  ", ", ").Replace("  ", ""));

    [Fact]
    public void BlankStringsStayStrings() => Assert.Equal("  ", SpineConfigLoader.ParseValue("  ")); // SPINE >= 0.9.3
}
