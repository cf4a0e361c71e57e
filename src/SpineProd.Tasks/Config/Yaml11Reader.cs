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

    /// <summary>How deep collections may nest: every YAML SpineProd reads (configs, profiles, pipelines) has this limit.</summary>
    internal const int MaxDepth = 200;

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
        CheckPrintable(text);
        if (text.Contains('\t')) CheckTabs(text);
        // PyYAML takes a '#' right after a closing quote or bracket ("x"#c) as a comment; YAML 1.2 and
        // YamlDotNet require a space. Where YamlDotNet stops at such a '#', add the space and retry:
        // lines stay the same, so every mark is still right.
        for (var attempt = 0; ; attempt++)
        {
            try
            {
                return ComposeOnce(text);
            }
            catch (YamlException e) when (attempt < 64 && HashAfterClose(text, e) is { } at)
            {
                text = text.Insert(at, " ");
            }
            catch (YamlException e)
            {
                throw Syntax(CleanMessage(e.Message), e.Start);
            }
        }
    }

    private static int? HashAfterClose(string text, YamlException e)
    {
        var i = (int)Math.Min(e.Start.Index, text.Length - 1);
        for (var j = i; j >= 0 && j >= i - 2; j--)
            if (j > 0 && text[j] == '#' && text[j - 1] is '"' or '\'' or ']' or '}') return j;
        for (var j = i; j < text.Length && j <= i + 2; j++)
            if (j > 0 && text[j] == '#' && text[j - 1] is '"' or '\'' or ']' or '}') return j;
        return null;
    }

    /// <summary>
    /// A parse error inside an unclosed '[' or '{': reported, as PyYAML does ("while parsing a flow
    /// sequence"), at the innermost collection still open where the parser gave up: the line to fix.
    /// </summary>
    private SpineProdException? UnclosedFlow(string text, long stopIndex, string problem, Mark? at)
    {
        if (InnermostOpenFlow(text, (int)Math.Min(stopIndex, text.Length)) is not { } open) return null;
        int line = 1, lineStart = 0;
        for (int k = 0; k < open; k++) if (text[k] == '\n') { line++; lineStart = k + 1; }
        string kind = text[open] == '[' ? "sequence" : "mapping";
        string where = at is { } m ? $" (line {m.Line}, column {m.Column})" : "";
        return new SpineProdException(ConfigErrors.YamlSyntax,
            $"Error loading {File}: while parsing a flow {kind} opened at line {line}, column {open - lineStart + 1}: {problem}{where}", File, line, open - lineStart + 1);
    }

    /// <summary>The index of the innermost '[' or '{' still open before <paramref name="end"/>, skipping quoted scalars and comments.</summary>
    private static int? InnermostOpenFlow(string text, int end)
    {
        var open = new Stack<int>();
        char previous = '\n'; // the last character that was not a space or tab
        for (int i = 0; i < end; i++)
        {
            char c = text[i];
            bool atToken = previous is '\n' or ':' or ',' or '[' or '{' or '-' or '?';
            if (c == '#' && (i == 0 || text[i - 1] is ' ' or '\t' or '\n'))
            {
                while (i < end && text[i] != '\n') i++;
                previous = '\n';
                continue;
            }
            if ((c == '\'' || c == '"') && atToken)
            {
                for (i++; i < end; i++)
                {
                    if (c == '"' && text[i] == '\\') { i++; continue; }
                    if (text[i] == c) { if (c == '\'' && i + 1 < end && text[i + 1] == '\'') { i++; continue; } break; }
                }
                previous = 'x';
                continue;
            }
            if ((c == '[' || c == '{') && atToken) open.Push(i);
            else if ((c == ']' || c == '}') && open.Count > 0) open.Pop();
            if (c is not (' ' or '\t' or '\r')) previous = c;
        }
        return open.Count > 0 ? open.Peek() : null;
    }

    private YNode? ComposeOnce(string text)
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
                root = ComposeNode(parser, anchors, open, 0);
                parser.Consume<DocumentEnd>();
                anchors.Clear();
            }
        }
        catch (YamlException e) when (HashAfterClose(text, e) is null)
        {
            // PyYAML's scanner/parser errors: SPINE reports them as ConfigIncludeError "Error loading".
            if (e.Message.Contains("flow", StringComparison.OrdinalIgnoreCase) && UnclosedFlow(text, e.Start.Index, CleanMessage(e.Message), e.Start) is { } unclosed) throw unclosed;
            throw Syntax(CleanMessage(e.Message), e.Start);
        }
        catch (InvalidOperationException)
        {
            if (UnclosedFlow(text, text.Length, "the file ends before it is closed", null) is { } unclosed) throw unclosed;
            // YamlDotNet's parser ran out of events (e.g. an unclosed flow collection): report at the end.
            var lines = text.Split('\n');
            var last = lines.Length - (text.EndsWith('\n') ? 1 : 0);
            throw new SpineProdException(ConfigErrors.YamlSyntax,
                $"Error loading {File}: unexpected end of the stream (an unclosed '[' or '{{'?)", File, Math.Max(1, last), 1);
        }
        catch (Exception e) when (e is not SpineProdException and not OutOfMemoryException and not YamlException)
        {
            // Anything else YamlDotNet throws is still a YAML problem of this file, never a stack trace.
            throw Syntax(e.Message, null);
        }
        return root;
    }

    /// <summary>PyYAML's reader refuses control characters other than tab/newline/CR (and NEL); so do we, at their line.</summary>
    private void CheckPrintable(string text)
    {
        int line = 1, col = 1;
        for (var i = 0; i < text.Length; i++)
        {
            var c = text[i];
            var ok = c is '\t' or '\n' or '\r' or '\u0085' || c >= 0x20 && c <= 0x7e || c >= 0xa0 && c <= 0xd7ff || c >= 0xe000 && c <= 0xfffd ||
                     char.IsHighSurrogate(c) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]) || char.IsLowSurrogate(c) && i > 0 && char.IsHighSurrogate(text[i - 1]);
            if (c == '\ufeff' && i == 0) ok = true; // a byte-order mark is allowed at the start
            if (!ok)
                throw new SpineProdException(ConfigErrors.YamlSyntax,
                    $"Error loading {File}: unacceptable character #x{(int)c:x4}: special characters are not allowed", File, line, col);
            if (c == '\n') { line++; col = 1; } else col++;
        }
    }

    /// <summary>
    /// PyYAML's scanner only skips spaces between tokens: a tab outside a quoted scalar, a comment or a
    /// block scalar's content is a ScannerError there (YAML 1.2 parsers such as YamlDotNet accept many).
    /// SPINE would refuse the file, so we do too, at the tab.
    /// </summary>
    private void CheckTabs(string text)
    {
        var quoted = new List<(long Start, long End)>();
        var block = new List<(long Start, long End)>();
        try
        {
            var scanner = new Scanner(new StringReader(text), skipComments: false);
            while (scanner.MoveNext())
            {
                switch (scanner.Current)
                {
                    case YamlDotNet.Core.Tokens.Scalar { Style: ScalarStyle.SingleQuoted or ScalarStyle.DoubleQuoted } q:
                        quoted.Add((q.Start.Index, q.End.Index));
                        break;
                    case YamlDotNet.Core.Tokens.Scalar { Style: ScalarStyle.Literal or ScalarStyle.Folded } b:
                        block.Add((b.Start.Index, b.End.Index));
                        break;
                    case YamlDotNet.Core.Tokens.Comment c:
                        quoted.Add((c.Start.Index, c.End.Index));
                        break;
                }
            }
        }
        catch (YamlException)
        {
            // The parser reports the syntax error itself; tabs before it are still checked below.
        }
        int line = 1, col = 1, lineStart = 0;
        for (var i = 0; i < text.Length; i++)
        {
            if (text[i] == '\n') { line++; col = 1; lineStart = i + 1; continue; }
            if (text[i] == '\t' && !quoted.Any(r => i >= r.Start && i < r.End))
            {
                // Inside a block scalar a tab is content, unless it is where the line's indentation is.
                var atIndent = text.AsSpan(lineStart, i - lineStart).IndexOfAnyExcept('\t') < 0;
                if (!block.Any(r => i >= r.Start && i < r.End) || atIndent)
                    throw new SpineProdException(ConfigErrors.YamlSyntax,
                        $"Error loading {File}: found character '\\t' that cannot start any token (PyYAML, which SPINE uses, allows tabs only inside quotes, comments and block scalars)",
                        File, line, col);
            }
            col++;
        }
    }

    private static string CleanMessage(string m)
    {
        // YamlDotNet prefixes "(Line: x, Col: y, Idx: z) - (Line: ...): "; the SPN error carries the position.
        var i = m.IndexOf("): ", StringComparison.Ordinal);
        return m.StartsWith('(') && i > 0 ? m[(i + 3)..] : m;
    }

    private YNode ComposeNode(IParser parser, Dictionary<string, YNode> anchors, HashSet<YNode> open, int depth)
    {
        // Python stops deep recursion with an error; a .NET stack overflow would kill the build instead.
        if (depth > MaxDepth)
            throw Syntax($"collections nested deeper than {MaxDepth} levels", parser.Current?.Start);
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
            // PyYAML resolves a scalar with the non-specific tag "!" as if it were plain, even quoted.
            if (node.Tag is null)
                node.Tag = node.Plain || !s.Tag.IsEmpty && s.Tag.Value == "!" ? Yaml11Scalars.ResolvePlain(s.Value) : Yaml11Scalars.StrTag;
            return node;
        }
        if (parser.TryConsume<SequenceStart>(out var ss))
        {
            var node = new YSeq { Mark = ToMark(ss.Start) };
            node.Tag = TagOf(ss.Tag, ss.Anchor, node, anchors) ?? "tag:yaml.org,2002:seq";
            open.Add(node);
            while (!parser.TryConsume<SequenceEnd>(out _)) node.Items.Add(ComposeNode(parser, anchors, open, depth + 1));
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
                var k = ComposeNode(parser, anchors, open, depth + 1);
                var v = ComposeNode(parser, anchors, open, depth + 1);
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
        // The non-specific tag "!": resolved like an untagged node (see the scalar case).
        if (t == "!") return null;
        return t;
    }

    // ---- Construction (PyYAML's SafeConstructor) ----

    private readonly Dictionary<YNode, object?> _constructing = new(ReferenceEqualityComparer.Instance);

    public object? Construct(YNode node)
    {
        if (_constructing.TryGetValue(node, out var done))
        {
            // PyYAML shares an aliased object; we copy it, so bound the copies ("billion laughs").
            _aliasBudget -= CountValues(done, _aliasBudget);
            if (_aliasBudget < 0)
                throw Constructor("aliases expand to more than 1,000,000 values", node);
            return ConfigValue.Clone(done);
        }
        var v = ConstructNew(node);
        _constructing[node] = v;
        return v;
    }

    private long _aliasBudget = 1_000_000;

    private static long CountValues(object? v, long limit)
    {
        long n = 1;
        switch (v)
        {
            case ConfigMap m:
                foreach (var kv in m) { n += CountValues(kv.Value, limit); if (n > limit) return n; }
                break;
            case ConfigList l:
                foreach (var x in l) { n += CountValues(x, limit); if (n > limit) return n; }
                break;
        }
        return n;
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

    /// <summary>
    /// Reads a file as text; UTF-8 (with or without BOM), as SPINE opens it. Regular files of at most
    /// <see cref="IO.SafeFile.YamlMaxBytes"/> only: anything else is an <see cref="IO.FileRefusedException"/>.
    /// </summary>
    public static string ReadText(string path)
    {
        try
        {
            return IO.SafeFile.ReadAllText(path, IO.SafeFile.YamlMaxBytes);
        }
        catch (DecoderFallbackException e)
        {
            throw new SpineProdException(ConfigErrors.YamlSyntax, $"Error loading {path}: the file is not UTF-8 ({e.Message})", path);
        }
    }
}
