using System.Text;
using SpineProd.Diagnostics;
using YamlDotNet.Core;
using YamlDotNet.Core.Events;

namespace SpineProd.Config;

/// <summary>
/// Reads one YAML document into <see cref="ConfigMap"/>/<see cref="ConfigList"/>/scalars, meaning what
/// PyYAML's SafeLoader means (SPINE's loader is a SafeLoader subclass). YamlDotNet's parser does the
/// syntax; composition (anchors, aliases, merge keys) and YAML 1.1 typing are done here, because
/// YamlDotNet's own typing is YAML 1.2. Every mapping key and sequence item keeps its line and column.
/// </summary>
public sealed class Yaml11Reader
{
    /// <summary>Called for the SPINE tags <c>!include</c>, <c>!path</c>, <c>!download</c>; null means plain SafeLoader (unknown tag error).</summary>
    public Func<string, YNode, Yaml11Reader, object?>? CustomTag { get; init; }

    /// <summary>Warnings found while reading (duplicate keys).</summary>
    public List<SpnDiagnostic> Warnings { get; } = new();

    public string File { get; }

    public Yaml11Reader(string file) => File = file;

    // ---- Nodes (PyYAML's representation graph) ----
    public abstract class YNode
    {
        public string? Tag;
        public SourceMark Mark;
    }
    public sealed class YScalar : YNode { public string Value = ""; public bool Plain; }
    public sealed class YSeq : YNode { public List<YNode> Items = new(); }
    public sealed class YMap : YNode { public List<(YNode Key, YNode Value)> Pairs = new(); public bool Flattened; }

    /// <summary>Parses <paramref name="text"/>; an empty document gives null (SPINE then uses {}).</summary>
    public object? Read(string text)
    {
        var root = Compose(text);
        return root is null ? null : Construct(root);
    }

    private SpineProdException Syntax(string message, Mark? at) =>
        new(ConfigErrors.YamlSyntax, $"Error loading {File}: {message}", File, at is { } m ? (int)m.Line : 0, at is { } n ? (int)n.Column : 0);

    private SourceMark ToMark(Mark m) => new(File, (int)m.Line, (int)m.Column);

    public YNode? Compose(string text)
    {
        var parser = new Parser(new StringReader(text));
        var anchors = new Dictionary<string, YNode>(StringComparer.Ordinal);
        var open = new HashSet<YNode>(); // nodes being composed: an alias to one is a recursive structure
        YNode? root = null;
        var documents = 0;
        try
        {
            parser.Consume<StreamStart>();
            while (!parser.Accept<StreamEnd>(out _))
            {
                var ds = parser.Consume<DocumentStart>();
                documents++;
                if (documents > 1)
                    throw Syntax("expected a single document in the stream, but found another document", ds.Start);
                root = ComposeNode(parser, anchors, open);
                parser.Consume<DocumentEnd>();
                anchors.Clear();
            }
        }
        catch (YamlException e) when (e is not null)
        {
            // PyYAML's scanner/parser errors: SPINE reports them as ConfigIncludeError "Error loading".
            throw Syntax(CleanMessage(e.Message), e.Start);
        }
        return root;
    }

    private static string CleanMessage(string m)
    {
        // YamlDotNet prefixes "(Line: x, Col: y, Idx: z) - (Line: ...): "; the SPN error carries the position.
        var i = m.IndexOf("): ", StringComparison.Ordinal);
        return m.StartsWith('(') && i > 0 ? m[(i + 3)..] : m;
    }

    private YNode ComposeNode(IParser parser, Dictionary<string, YNode> anchors, HashSet<YNode> open)
    {
        if (parser.TryConsume<AnchorAlias>(out var alias))
        {
            if (!anchors.TryGetValue(alias.Value.Value, out var target))
                throw Syntax($"found undefined alias '{alias.Value.Value}'", alias.Start);
            if (open.Contains(target))
                throw new SpineProdException(ConfigErrors.BadTagOrScalar,
                    $"Error loading {File}: recursive alias '*{alias.Value.Value}' is not supported", File, (int)alias.Start.Line, (int)alias.Start.Column);
            return target;
        }
        if (parser.TryConsume<Scalar>(out var s))
        {
            var node = new YScalar { Value = s.Value, Mark = ToMark(s.Start), Plain = s.Style == ScalarStyle.Plain };
            node.Tag = TagOf(s.Tag, s.Anchor, node, anchors);
            if (node.Tag is null)
                node.Tag = node.Plain ? Yaml11Scalars.ResolvePlain(s.Value) : Yaml11Scalars.StrTag;
            return node;
        }
        if (parser.TryConsume<SequenceStart>(out var ss))
        {
            var node = new YSeq { Mark = ToMark(ss.Start) };
            node.Tag = TagOf(ss.Tag, ss.Anchor, node, anchors) ?? "tag:yaml.org,2002:seq";
            open.Add(node);
            while (!parser.TryConsume<SequenceEnd>(out _)) node.Items.Add(ComposeNode(parser, anchors, open));
            open.Remove(node);
            return node;
        }
        if (parser.TryConsume<MappingStart>(out var ms))
        {
            var node = new YMap { Mark = ToMark(ms.Start) };
            node.Tag = TagOf(ms.Tag, ms.Anchor, node, anchors) ?? "tag:yaml.org,2002:map";
            open.Add(node);
            while (!parser.TryConsume<MappingEnd>(out _))
            {
                var k = ComposeNode(parser, anchors, open);
                var v = ComposeNode(parser, anchors, open);
                node.Pairs.Add((k, v));
            }
            open.Remove(node);
            return node;
        }
        var ev = parser.Current;
        throw Syntax($"unexpected {ev?.GetType().Name}", ev?.Start);
    }

    /// <summary>Registers the anchor and returns the explicit tag, or null when the node's tag must be resolved.</summary>
    private static string? TagOf(TagName tag, AnchorName anchor, YNode node, Dictionary<string, YNode> anchors)
    {
        if (!anchor.IsEmpty) anchors[anchor.Value] = node;
        if (tag.IsEmpty) return null;
        var t = tag.Value;
        // The non-specific tag "!" means: a string for scalars, the default map/seq otherwise.
        if (t == "!") return node is YScalar ? Yaml11Scalars.StrTag : null;
        return t;
    }

    // ---- Construction (PyYAML's SafeConstructor) ----

    private readonly Dictionary<YNode, object?> _constructing = new(ReferenceEqualityComparer.Instance);

    public object? Construct(YNode node)
    {
        // An alias is the same node again; PyYAML shares the object, we copy it (values are never mutated in place).
        if (_constructing.TryGetValue(node, out var done)) return ConfigValue.Clone(done);
        var v = ConstructNew(node);
        _constructing[node] = v;
        return v;
    }

    private SpineProdException Constructor(string message, YNode node) =>
        new(ConfigErrors.BadTagOrScalar, $"Error loading {File}: {message}", node.Mark.File, node.Mark.Line, node.Mark.Column);

    private object? ConstructNew(YNode node)
    {
        var tag = node.Tag!;
        if (tag is "!include" or "!path" or "!download" && CustomTag is not null)
            return CustomTag(tag, node, this);
        switch (node)
        {
            case YScalar s:
                if (tag == Yaml11Scalars.MergeTag || tag == Yaml11Scalars.ValueTag && s.Plain)
                    throw Constructor($"could not determine a constructor for the tag '{tag}'", node);
                try
                {
                    if (Yaml11Scalars.TryConstruct(tag, s.Value, out var value)) return value;
                }
                catch (FormatException e)
                {
                    throw Constructor(e.Message, node);
                }
                if (tag is "tag:yaml.org,2002:seq" or "tag:yaml.org,2002:map" or "tag:yaml.org,2002:omap" or "tag:yaml.org,2002:pairs" or "tag:yaml.org,2002:set")
                    throw Constructor($"expected a {(tag.EndsWith("map") || tag.EndsWith("set") ? "mapping" : "sequence")} node, but found scalar", node);
                throw Constructor($"could not determine a constructor for the tag '{tag}'", node);
            case YSeq q:
                if (tag is "tag:yaml.org,2002:seq")
                {
                    var list = new ConfigList();
                    var marks = new SourceMark?[q.Items.Count];
                    for (var i = 0; i < q.Items.Count; i++) { list.Add(Construct(q.Items[i])); marks[i] = q.Items[i].Mark; }
                    list.ItemMarks = marks;
                    return list;
                }
                if (tag is "tag:yaml.org,2002:omap" or "tag:yaml.org,2002:pairs")
                {
                    // PyYAML: a list of (key, value) tuples; JSON and YAML write tuples as lists.
                    var pairs = new ConfigList();
                    foreach (var item in q.Items)
                    {
                        if (item is not YMap pm || pm.Pairs.Count != 1)
                            throw Constructor($"while constructing an ordered map, expected a mapping of length 1", item);
                        pairs.Add(new ConfigList { Construct(pm.Pairs[0].Key), Construct(pm.Pairs[0].Value) });
                    }
                    return pairs;
                }
                throw Constructor($"could not determine a constructor for the tag '{tag}'", node);
            case YMap m:
                if (tag is "tag:yaml.org,2002:map" or "tag:yaml.org,2002:set")
                {
                    var map = ConstructMapping(m);
                    if (tag.EndsWith("set"))
                    {
                        var set = new ConfigMap();
                        foreach (var (k, _, mk) in map.EntriesWithMarks()) set.Set(k, null, mk);
                        return set;
                    }
                    return map;
                }
                throw Constructor($"could not determine a constructor for the tag '{tag}'", node);
        }
        throw Constructor($"could not determine a constructor for the tag '{tag}'", node);
    }

    /// <summary>PyYAML's construct_mapping after flatten_mapping: merged pairs first, later pairs win, first position kept.</summary>
    public ConfigMap ConstructMapping(YMap m)
    {
        Flatten(m);
        var map = new ConfigMap();
        var seen = new HashSet<object>(PyKeyComparer.Instance);
        foreach (var (kn, vn) in m.Pairs)
        {
            var key = Construct(kn);
            if (key is ConfigMap or ConfigList)
                throw Constructor("while constructing a mapping, found unhashable key", kn);
            var value = Construct(vn);
            if (kn.Mark.File == File && !_merged.Contains(kn) && !seen.Add(key ?? NullKey))
                Warnings.Add(new SpnDiagnostic(ConfigErrors.DuplicateKey,
                    $"Key '{key}' is written twice in this mapping; the later value wins (as in PyYAML).", kn.Mark.File, kn.Mark.Line, kn.Mark.Column));
            map.Set(key, value, kn.Mark);
        }
        return map;
    }

    private static readonly object NullKey = new();
    private readonly HashSet<YNode> _merged = new(ReferenceEqualityComparer.Instance);

    private void Flatten(YMap node)
    {
        if (node.Flattened) return;
        node.Flattened = true;
        var merge = new List<(YNode, YNode)>();
        var index = 0;
        while (index < node.Pairs.Count)
        {
            var (k, v) = node.Pairs[index];
            if (k.Tag == Yaml11Scalars.MergeTag)
            {
                node.Pairs.RemoveAt(index);
                if (v is YMap vm)
                {
                    Flatten(vm);
                    merge.AddRange(vm.Pairs);
                }
                else if (v is YSeq vs)
                {
                    var sub = new List<List<(YNode, YNode)>>();
                    foreach (var item in vs.Items)
                    {
                        if (item is not YMap im)
                            throw Constructor("while constructing a mapping, expected a mapping for merging, but found " + (item is YSeq ? "sequence" : "scalar"), item);
                        Flatten(im);
                        sub.Add(im.Pairs);
                    }
                    sub.Reverse();
                    foreach (var s in sub) merge.AddRange(s);
                }
                else throw Constructor("while constructing a mapping, expected a mapping or list of mappings for merging, but found scalar", v);
            }
            else
            {
                if (k.Tag == Yaml11Scalars.ValueTag) k.Tag = Yaml11Scalars.StrTag;
                index++;
            }
        }
        if (merge.Count > 0)
        {
            foreach (var (k, _) in merge) _merged.Add(k);
            node.Pairs.InsertRange(0, merge);
        }
    }

    /// <summary>The scalar text of a node, for tags that take a scalar (PyYAML's construct_scalar).</summary>
    public string ScalarText(YNode node, string tag)
    {
        if (node is YScalar s) return s.Value;
        throw Constructor($"expected a scalar node for {tag}, but found {(node is YMap ? "mapping" : "sequence")}", node);
    }

    /// <summary>Reads a file as text; UTF-8 (with or without BOM), as SPINE opens it.</summary>
    public static string ReadText(string path) => System.IO.File.ReadAllText(path, new UTF8Encoding(false));
}
