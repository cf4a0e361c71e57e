using System.Numerics;
using SpineProd.Config;
using SpineProd.Diagnostics;
using Xunit;

namespace SpineProd.Tests.Config;

/// <summary>YAML 1.1 scalars as PyYAML's SafeLoader reads them (what SPINE sees).</summary>
public sealed class Yaml11ReaderTests
{
    private static object? Value(string yaml) => ((ConfigMap)new Yaml11Reader("t.yaml").Read("v: " + yaml)!)["v"];

    [Theory]
    [InlineData("yes", true)] [InlineData("Yes", true)] [InlineData("YES", true)] [InlineData("on", true)] [InlineData("On", true)]
    [InlineData("ON", true)] [InlineData("true", true)] [InlineData("True", true)] [InlineData("TRUE", true)]
    [InlineData("no", false)] [InlineData("No", false)] [InlineData("off", false)] [InlineData("OFF", false)] [InlineData("false", false)]
    public void Booleans(string text, bool expected) => Assert.Equal(expected, Value(text));

    [Theory]
    [InlineData("y")] [InlineData("n")] [InlineData("yEs")] [InlineData("1e-3")] [InlineData("1e3")] [InlineData("1.0e3")]
    [InlineData("0:30")] [InlineData("-.5")] [InlineData("0x")] [InlineData("08")] [InlineData("2025-1-5")]
    [InlineData(".")] [InlineData("+.nan")] [InlineData("1:60")] [InlineData("'yes'")] [InlineData("\"123\"")]
    public void Strings(string text)
    {
        var v = Value(text);
        Assert.IsType<string>(v);
    }

    [Theory]
    [InlineData("0", 0L)] [InlineData("-0", 0L)] [InlineData("42", 42L)] [InlineData("+42", 42L)] [InlineData("1_000", 1000L)] [InlineData("1_", 1L)]
    [InlineData("010", 8L)] [InlineData("0o10", null)] [InlineData("0x1F", 31L)] [InlineData("-0x_1f", -31L)] [InlineData("0b101", 5L)]
    [InlineData("2:00:00", 7200L)] [InlineData("-1:30", -90L)] [InlineData("190:20:30", 685230L)]
    public void Integers(string text, long? expected)
    {
        var v = Value(text);
        if (expected is null) Assert.IsType<string>(v);
        else Assert.Equal(expected, v);
    }

    [Fact]
    public void BigIntegersStayExact() => Assert.Equal(BigInteger.Parse("123456789012345678901234567890"), Value("123456789012345678901234567890"));

    [Theory]
    [InlineData("1.0", 1.0)] [InlineData("1.", 1.0)] [InlineData(".5", 0.5)] [InlineData("1.0e-3", 0.001)] [InlineData("1.5E+3", 1500.0)]
    [InlineData("-2.5", -2.5)] [InlineData("1_0.5", 10.5)] [InlineData("190:20:30.15", 685230.15)]
    public void Floats(string text, double expected) => Assert.Equal(expected, (double)Value(text)!, 9);

    [Fact]
    public void NonFiniteFloats()
    {
        Assert.Equal(double.PositiveInfinity, Value(".inf"));
        Assert.Equal(double.NegativeInfinity, Value("-.Inf"));
        Assert.True(double.IsNaN((double)Value(".NaN")!));
    }

    [Theory]
    [InlineData("~")] [InlineData("null")] [InlineData("Null")] [InlineData("NULL")] [InlineData("")]
    public void Nulls(string text) => Assert.Null(Value(text));

    [Theory]
    [InlineData("2025-06-25", "2025-06-25", true)]
    [InlineData("2001-12-14t21:59:43.10-05:00", "2001-12-14T21:59:43.100000-05:00", false)]
    [InlineData("2001-12-14 21:59:43.10 -5", "2001-12-14T21:59:43.100000-05:00", false)]
    [InlineData("2001-12-15T02:59:43.1Z", "2001-12-15T02:59:43.100000+00:00", false)]
    [InlineData("2002-12-14 1:02:03", "2002-12-14T01:02:03", false)]
    public void Timestamps(string text, string iso, bool isDate)
    {
        var t = Assert.IsType<YamlTimestamp>(Value(text));
        Assert.Equal(iso, t.Iso);
        Assert.Equal(isDate, t.IsDate);
    }

    [Fact]
    public void ExplicitTagsAndQuotedScalars()
    {
        Assert.Equal("yes", Value("!!str yes"));
        Assert.Equal(12L, Value("!!int \"12\""));
        Assert.Equal(3.0, Value("!!float '3'"));
        Assert.Equal(true, Value("! on"));   // PyYAML resolves "!" like plain, unlike the YAML spec
    }

    [Fact]
    public void MergeKeysAnchorsAndOrder()
    {
        var m = (ConfigMap)new Yaml11Reader("t.yaml").Read("""
            a: &a {x: 1, y: 2}
            b: &b {y: 20, z: 30}
            c:
              w: 0
              <<: [*a, *b]
              y: 3
            d: *a
            """)!;
        var c = (ConfigMap)m["c"]!;
        Assert.Equal(["y", "z", "x", "w"], c.Keys);     // merged pairs first (list reversed, as PyYAML), explicit keys win
        Assert.Equal(3L, c["y"]);
        Assert.Equal(1L, c["x"]);                       // the earlier mapping in the list wins
        Assert.Equal(30L, c["z"]);
        Assert.Equal(1L, ((ConfigMap)m["d"]!)["x"]);
    }

    [Fact]
    public void KeysCarryTheirLineAndColumn()
    {
        var m = (ConfigMap)new Yaml11Reader("f.yaml").Read("a:\n  b: 1\n  c:\n    - x\n    - y\n")!;
        var a = (ConfigMap)m["a"]!;
        Assert.Equal(new SourceMark("f.yaml", 3, 3), a.MarkOf("c"));
        Assert.Equal(new SourceMark("f.yaml", 5, 7), ((ConfigList)a["c"]!).MarkAt(1));
    }

    [Fact]
    public void NonStringKeysAreTyped()
    {
        var m = (ConfigMap)new Yaml11Reader("t.yaml").Read("on: 1\n1: a\n1.0: b\nnull: c\n")!;
        // True, 1 and 1.0 are one Python dict key: the first key object stays, the last value wins.
        Assert.Equal("b", m[true]);
        Assert.Equal("b", m[1L]);
        Assert.Equal(true, m.Keys.First());
        Assert.Equal("c", m[null]);
        Assert.Equal(2, m.Count);
    }

    [Theory]
    [InlineData("a: [1, 2\nb: 3\n", 1)] [InlineData("a: {x: 1\n", 1)] // PyYAML: "while parsing a flow sequence/mapping" where it opened
    [InlineData("a: 1\n  b: 2\n", 2)]
    [InlineData("a: *nope\n", 1)]
    [InlineData("a: 1\n---\nb: 2\n", 2)]
    public void SyntaxErrorsAreSpn2001WithALine(string yaml, int line)
    {
        var e = Assert.Throws<SpineProdException>(() => new Yaml11Reader("bad.yaml").Read(yaml));
        Assert.Equal("SPN2001", e.Code);
        Assert.Equal("bad.yaml", e.File);
        Assert.Equal(line, e.Line);
    }

    [Theory]
    // What PyYAML 6 says (python3 -c 'import yaml; yaml.safe_load(...)'): the context mark first.
    [InlineData("base: {\n  world_size: [1, 2\n", 2, 15, "while parsing a flow sequence opened at line 2, column 15")]
    [InlineData("a: 1\nb: {x: 1, y: [2]\nc: 3\n", 2, 4, "while parsing a flow mapping opened at line 2, column 4")]
    [InlineData("model:\n  weights: [a.ckpt,\n    b.ckpt\n", 2, 12, "while parsing a flow sequence opened at line 2, column 12")]
    public void An_unclosed_bracket_is_reported_where_it_opened(string yaml, int line, int column, string message)
    {
        var e = Assert.Throws<SpineProdException>(() => new Yaml11Reader("bad.yaml").Read(yaml));
        Assert.Equal("SPN2001", e.Code);
        Assert.Equal((line, column), (e.Line, e.Column));
        Assert.Contains(message, e.Message);
        Assert.DoesNotContain("\n", e.Message);
    }

    [Theory]
    [InlineData("a: !!python/object:os.system x\n")]
    [InlineData("a: =\n")]
    [InlineData("a: !!int abc\n")]
    [InlineData("a: !!timestamp 2025-13-01\n")]
    [InlineData("a: !custom 1\n")]
    public void WhatSafeLoaderRefusesIsSpn2017(string yaml)
    {
        var e = Assert.Throws<SpineProdException>(() => new Yaml11Reader("bad.yaml").Read(yaml));
        Assert.Equal("SPN2017", e.Code);
        Assert.Equal(1, e.Line);
    }

    [Fact]
    public void AbsurdNestingIsAnErrorNotACrash()
    {
        var e = Assert.Throws<SpineProdException>(() => new Yaml11Reader("deep.yaml").Read("a: " + new string('[', 100000) + new string(']', 100000)));
        Assert.Equal("SPN2001", e.Code);
        var laughs = "a: &a [x, x, x, x, x, x, x, x, x, x]\n" + string.Concat(Enumerable.Range(1, 9).Select(i =>
            $"{(char)('a' + i)}: &{(char)('a' + i)} [{string.Join(", ", Enumerable.Repeat("*" + (char)('a' + i - 1), 10))}]\n"));
        e = Assert.Throws<SpineProdException>(() => new Yaml11Reader("laughs.yaml").Read(laughs));
        Assert.Equal("SPN2017", e.Code);
    }

    [Fact]
    public void DuplicateKeysWarnAndTheLaterWins()
    {
        var r = new Yaml11Reader("d.yaml");
        var m = (ConfigMap)r.Read("a: 1\nb: 2\na: 3\n")!;
        Assert.Equal(3L, m["a"]);
        Assert.Equal(["a", "b"], m.Keys);
        var w = Assert.Single(r.Warnings);
        Assert.Equal(("SPN2031", 3), (w.Code, w.Line));
    }

    [Theory]
    [InlineData(1e16, "1e+16")] [InlineData(1e15, "1000000000000000.0")] [InlineData(0.0001, "0.0001")] [InlineData(0.00001, "1e-05")]
    [InlineData(1.0, "1.0")] [InlineData(-0.0, "-0.0")] [InlineData(123.456, "123.456")] [InlineData(1.5e-7, "1.5e-07")] [InlineData(2.5e300, "2.5e+300")]
    public void FloatsAreWrittenAsPythonRepr(double d, string repr) => Assert.Equal(repr, PyRepr.Float(d));

    [Fact]
    public void YamlWriterRoundTripsEveryCorpusConfig()
    {
        var corpus = ConfigConformanceTests.CorpusDir();
        var roots = new List<string> { Path.Combine(ProjectConfigTests.RepoRoot(), "infer") };
        if (corpus is not null) roots.Add(Path.Combine(corpus, "infer"));
        var env = new Dictionary<string, string?>();
        var n = 0;
        foreach (var root in roots)
            foreach (var rel in BulkConfigResolver.ConfigFiles(root))
            {
                ConfigMap config;
                try { config = new SpineConfigLoader(env).LoadFile(Path.Combine(root, rel)); }
                catch (SpineProdException) { continue; }
                var yaml = YamlWriter.Write(config);
                var back = (ConfigMap?)new Yaml11Reader("rt.yaml").Read(yaml) ?? new ConfigMap();
                Assert.True(CanonicalJson.Serialize(config) == CanonicalJson.Serialize(back), $"{rel} does not round-trip");
                n++;
            }
        Assert.True(n > 10);
    }

    [Fact]
    public void YamlWriterQuotesWhatWouldChangeType()
    {
        var m = new ConfigMap();
        foreach (var s in new[] { "yes", "1e-3x", "2:00:00", "~", "", "a: b", "- x", "#c", "x #c", "2025-06-25", "1.0", "<<", "=", "line\nbreak", "tab\there", "é" })
            m.Set(s, s, null);
        m.Set("f", 1e16, null);
        m.Set("ts", new YamlTimestamp("2025-06-25", true), null);
        m.Set("dl", new TaggedValue("!download", "https://example.org/w.ckpt"), null);
        var yaml = YamlWriter.Write(m);
        var back = (ConfigMap)new Yaml11Reader("q.yaml") { CustomTag = (t, n, r) => new TaggedValue(t, r.ScalarText(n, t)) }.Read(yaml)!;
        Assert.Equal(CanonicalJson.Serialize(m), CanonicalJson.Serialize(back));
        Assert.Equal(1e16, back["f"]);
    }
}
