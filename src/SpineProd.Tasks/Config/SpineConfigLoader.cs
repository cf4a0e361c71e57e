using System.Collections.Immutable;
using System.Text.RegularExpressions;
using SpineProd.Diagnostics;

namespace SpineProd.Config;

/// <summary>
/// SPINE's config loader, re-implemented so a production's config is validated at build time and
/// resolves to exactly what SPINE will see (research/upstream.md §4.2, then the §4.3 additions):
/// <list type="bullet">
/// <item>includes depth-first in list order, deep-merged (maps merge; lists and scalars replace);</item>
/// <item>each include's <c>remove:</c> then <c>override:</c> applied right after it is merged; overrides whose
/// parent path is missing move up to the including file; the file's own keys beat its includes;</item>
/// <item>at the top: compatibility checks, then overrides, then removals (the reverse of the include level);</item>
/// <item><c>key+</c>/<c>key-</c> collection operations, <c>__meta__</c> kind/strict/list_append/version/compatible_with,
/// modifier <c>conflicts_with</c>, include cycles per branch;</item>
/// <item>path search with .yaml/.yml and SPINE_CONFIG_PATH, <c>!include</c> (recursive, as SPINE ≥ 0.10.2),
/// <c>!path</c>, <c>!download</c> kept unresolved, <c>$VAR</c> expansion after merging.</item>
/// </list>
/// Every error is a <see cref="SpineProdException"/> with an SPN2xxx code at the YAML file and line of
/// the key or include that failed; <see cref="ConfigErrors.SpineClass"/> gives SPINE's class for it.
/// </summary>
public sealed partial class SpineConfigLoader
{
    private readonly IReadOnlyDictionary<string, string?> _env;
    private readonly List<string> _filesRead = new();
    private readonly HashSet<string> _filesReadSet = new(StringComparer.Ordinal);

    public SpineConfigLoader(IReadOnlyDictionary<string, string?>? env = null) => _env = env ?? new Dictionary<string, string?>();

    /// <summary>Expand <c>$VAR</c>/<c>${VAR}</c> in string values after merging (SPINE ≥ 0.10.9). On by default.</summary>
    public bool ExpandEnvironment { get; init; } = true;

    /// <summary>Warnings SPINE would print (strict: warn problems, invalid __meta__ values, duplicate keys).</summary>
    public List<SpnDiagnostic> Warnings { get; } = new();

    /// <summary>Absolute paths of every file read (configs, followed link placeholders, <c>!path</c> targets), in first-read order.</summary>
    public IReadOnlyList<string> FilesRead => _filesRead;

    private void NoteRead(string path)
    {
        if (_filesReadSet.Add(path)) _filesRead.Add(path);
    }

    // ------------------------------------------------------------------ entry points

    /// <summary>SPINE's <c>load_config_file(path, download=False)</c>.</summary>
    public ConfigMap LoadFile(string path)
    {
        var full = Path.GetFullPath(path);
        if (!File.Exists(full) && !Directory.Exists(full))
            throw new SpineProdException(ConfigErrors.ConfigNotFound, $"Configuration file not found: {full}", full);
        return LoadTop(full, null, Path.GetDirectoryName(full)!);
    }

    /// <summary>SPINE's <c>load_config(text, root_dir)</c>; <paramref name="virtualPath"/> names the text in errors.</summary>
    public ConfigMap LoadString(string yaml, string virtualPath, string rootDir) => LoadTop(virtualPath, yaml, rootDir);

    private ConfigMap LoadTop(string path, string? text, string rootDir)
    {
        var checks = new List<CompatCheck>();
        var r = LoadRecursive(path, text, rootDir, ImmutableList<string>.Empty, checks, null);
        foreach (var c in checks) CheckCompatibility(c);
        var config = r.Content;
        ApplyOverrides(config, r.Overrides, r.Meta.Strict, r.Meta.ListAppend, deferMissing: false);
        ApplyRemovals(config, r.Removals, r.Meta.Strict);
        config.Remove(MetaKey);
        return ExpandEnvironment ? (ConfigMap)ExpandVars(config)! : config;
    }

    // ------------------------------------------------------------------ recursive load

    private const string MetaKey = "__meta__";

    internal sealed class Meta
    {
        public ConfigMap Raw = new();
        public string Kind = "bundle";
        public string Strict = "error";
        public string ListAppend = "append";
        public string FilePath = "";
        public ConfigMap? Components;
        public List<ModifierId> Modifiers = new();
        public object? Get(string key) => Raw.TryGetValue(key, out var v) ? v : null;
        public bool Has(string key) => Raw.ContainsKey(key);
        public SourceMark? MarkOf(string key) => Raw.MarkOf(key);
    }

    internal sealed record ModifierId(object Name, object? ConflictsWith, string FilePath, SourceMark? Mark);

    private sealed record CompatCheck(Meta Parent, Meta Included, string IncludedPath, SourceMark? At);

    private sealed record LoadResult(ConfigMap Content, ConfigMap Overrides, List<(string Path, SourceMark? Mark)> Removals, Meta Meta);

    private LoadResult LoadRecursive(string path, string? text, string rootDir, ImmutableList<string> stack,
        List<CompatCheck> checks, SourceMark? includedAt)
    {
        if (text is null && stack.Contains(path))
        {
            var cycle = string.Join(" -> ", stack.Add(path));
            throw ConfigErrors.At(ConfigErrors.IncludeCycle, $"Circular include detected: {cycle}", includedAt, path);
        }
        stack = stack.Add(path);
        text ??= ReadConfigText(path, includedAt);

        var reader = new Yaml11Reader(path) { CustomTag = (tag, node, rd) => ConstructTag(tag, node, rd, rootDir, stack) };
        var root = reader.Read(text);
        Warnings.AddRange(reader.Warnings);

        var meta = new Meta { FilePath = path };
        if (root is null) return new LoadResult(new ConfigMap(), new ConfigMap(), new(), meta);
        if (root is not ConfigMap main)
            throw new SpineProdException(ConfigErrors.RootNotMapping,
                $"Configuration root in `{path}` must be a mapping, got {ConfigValue.PyTypeName(root)}.", path, 1, 1);

        ExtractMeta(main, meta);

        // Directives, in file order; everything else (minus __meta__) is content.
        var includes = new List<(object? Value, SourceMark? Mark)>();
        var overrides = new ConfigMap();
        var removals = new List<(string, SourceMark?)>();
        var content = new ConfigMap();
        foreach (var (key, value, mark) in main.EntriesWithMarks())
        {
            switch (key)
            {
                case "include":
                    if (value is string s) includes.Add((s, mark));
                    else if (value is ConfigList l) for (var i = 0; i < l.Count; i++) includes.Add((l[i], l.MarkAt(i) ?? mark));
                    else throw ConfigErrors.At(ConfigErrors.BadDirective, $"'include' must be a string or list of strings, got <class '{ConfigValue.PyTypeName(value)}'>", mark);
                    break;
                case "override":
                    if (value is not ConfigMap om)
                        throw ConfigErrors.At(ConfigErrors.BadDirective, $"'override' must be a dictionary, got <class '{ConfigValue.PyTypeName(value)}'>", mark);
                    overrides = om;
                    break;
                case "remove":
                    if (value is string rs) removals.Add((rs, mark));
                    else if (value is ConfigList rl)
                        for (var i = 0; i < rl.Count; i++)
                        {
                            if (rl[i] is not string p)
                                throw ConfigErrors.At(ConfigErrors.BadDirective, $"'remove' entries must be strings, got <class '{ConfigValue.PyTypeName(rl[i])}'>", rl.MarkAt(i) ?? mark);
                            removals.Add((p, rl.MarkAt(i) ?? mark));
                        }
                    else throw ConfigErrors.At(ConfigErrors.BadDirective, $"'remove' must be a string or list of strings, got <class '{ConfigValue.PyTypeName(value)}'>", mark);
                    break;
                case MetaKey:
                    break;
                default:
                    content.Set(key, value, mark);
                    break;
            }
        }
        foreach (var k in overrides.Keys)
            if (k is not string)
                throw ConfigErrors.At(ConfigErrors.BadDirective, $"override keys must be dotted-path strings, got {ConfigValue.PyTypeName(k)} '{k}'", overrides.MarkOf(k));

        var config = new ConfigMap();
        foreach (var (inc, incMark) in includes)
        {
            if (inc is not string incName)
                throw ConfigErrors.At(ConfigErrors.BadDirective, $"'include' must be a string or list of strings, got an entry of type {ConfigValue.PyTypeName(inc)}", incMark);
            var incPath = ResolveConfigPath(incName, rootDir, incMark, ConfigErrors.IncludeNotFound);
            var sub = LoadRecursive(incPath, null, Path.GetDirectoryName(incPath)!, stack, checks, incMark);

            checks.Add(new CompatCheck(meta, sub.Meta, incPath, incMark));

            // Modifier identities travel up; a conflict is checked in both directions (SPINE ≥ 0.17.1).
            CheckModifierConflicts(meta.Modifiers, sub.Meta.Modifiers, incMark);
            meta.Modifiers.AddRange(sub.Meta.Modifiers);

            config = DeepMerge(config, sub.Content);

            // Component versions let later includes' compatible_with see what was merged before them.
            if (sub.Meta.Components is { } comps)
            {
                meta.Components ??= new ConfigMap();
                foreach (var (k, v, m) in comps.EntriesWithMarks()) meta.Components.Set(k, v, m);
            }
            else if (sub.Meta.Kind != "fragment" && sub.Meta.Has("version"))
            {
                var dir = Path.GetFileName(Path.GetDirectoryName(incPath) ?? "");
                if (dir is not ("" or "."))
                {
                    meta.Components ??= new ConfigMap();
                    meta.Components.Set(dir, sub.Meta.Get("version"), sub.Meta.MarkOf("version"));
                }
            }

            // v0.9.0 order at include level: the include's removals, then its overrides.
            ApplyRemovals(config, sub.Removals, sub.Meta.Strict);
            var unapplied = ApplyOverrides(config, sub.Overrides, sub.Meta.Strict, sub.Meta.ListAppend, deferMissing: true);
            if (unapplied.Count > 0)
            {
                // {**unapplied, **overrides}: unapplied keys first; the file's own value wins a clash.
                var merged = new ConfigMap();
                foreach (var (k, v, m) in unapplied.EntriesWithMarks()) merged.Set(k, v, m);
                foreach (var (k, v, m) in overrides.EntriesWithMarks()) merged.Set(k, v, m);
                overrides = merged;
            }
        }
        if (content.Count > 0) config = DeepMerge(config, content);
        return new LoadResult(config, overrides, removals, meta);
    }

    private string ReadConfigText(string path, SourceMark? includedAt)
    {
        if (Directory.Exists(path))
            throw ConfigErrors.At(ConfigErrors.YamlSyntax, $"Error loading {path}: [Errno 21] Is a directory: '{path}'", includedAt, path);
        if (!File.Exists(path))
            throw ConfigErrors.At(ConfigErrors.IncludeNotFound, $"Configuration file not found: {path}", includedAt, path);
        NoteRead(path);
        var text = ReadRegular(path, includedAt);
        // A Git symlink checked out without symlink support (core.symlinks=false, or copied as data)
        // is a one-line file holding the target's relative path: spine-prod's latest*.cfg. Follow it
        // as the real link would be followed; includes stay relative to the link's own folder.
        var at = path;
        for (var hop = 0; hop < 8 && LinkPlaceholderTarget(at, text) is { } target; hop++)
        {
            NoteRead(target);
            text = ReadRegular(target, includedAt);
            at = target;
        }
        return text;
    }

    /// <summary>A FIFO, a device or a huge file is refused at the include that names it, before it is read.</summary>
    private static string ReadRegular(string path, SourceMark? includedAt)
    {
        try { return Yaml11Reader.ReadText(path); }
        catch (IO.FileRefusedException e)
        {
            throw ConfigErrors.At(ConfigErrors.NotRegularFile, $"Error loading {path}: {e.Reason}; a config is a YAML text file", includedAt, path);
        }
    }

    /// <summary>The target of a Git symlink placeholder file, or null if <paramref name="text"/> is ordinary YAML.</summary>
    public static string? LinkPlaceholderTarget(string path, string text)
    {
        if (text.Length is 0 or > 1024 || text.Contains('\n') || text.Contains('\r') || text.Contains(": ") ||
            text.StartsWith('#') || text.Trim() != text)
            return null;
        if (!(text.EndsWith(".cfg", StringComparison.Ordinal) || text.EndsWith(".yaml", StringComparison.Ordinal) || text.EndsWith(".yml", StringComparison.Ordinal)))
            return null;
        var target = Path.GetFullPath(Path.Combine(Path.GetDirectoryName(path)!, text));
        return File.Exists(target) ? target : null;
    }

    private void ExtractMeta(ConfigMap main, Meta meta)
    {
        if (main.TryGetValue(MetaKey, out var raw))
        {
            if (raw is not ConfigMap rm)
                throw ConfigErrors.At(ConfigErrors.BadMeta, $"__meta__ must be a mapping, got {ConfigValue.PyTypeName(raw)}", main.MarkOf(MetaKey));
            meta.Raw = rm;
        }
        var kind = meta.Raw.TryGetValue("kind", out var k) ? k : "bundle";
        if (kind is not ("bundle" or "mod" or "fragment"))
        {
            Warn(ConfigErrors.InvalidMeta, $"Invalid __meta__.kind: '{kind}', must be one of ('bundle', 'mod', 'fragment'). Using 'bundle'", meta.MarkOf("kind"));
            kind = "bundle";
        }
        meta.Kind = (string)kind!;
        var strict = meta.Get("strict");
        if (strict is null) meta.Strict = meta.Kind == "mod" ? "warn" : "error";
        else if (strict is "error" or "warn") meta.Strict = (string)strict;
        else
        {
            Warn(ConfigErrors.InvalidMeta, $"Invalid __meta__.strict: '{strict}', must be one of ('error', 'warn'). Using default", meta.MarkOf("strict"));
            meta.Strict = meta.Kind == "mod" ? "warn" : "error";
        }
        var la = meta.Raw.TryGetValue("list_append", out var l) ? l : "append";
        if (la is not ("append" or "unique"))
        {
            Warn(ConfigErrors.InvalidMeta, $"Invalid __meta__.list_append: '{la}', must be one of ('append', 'unique'). Using 'append'", meta.MarkOf("list_append"));
            la = "append";
        }
        meta.ListAppend = (string)la!;
        if (meta.Raw.TryGetValue("components", out var comps))
        {
            if (comps is not ConfigMap cm)
                throw ConfigErrors.At(ConfigErrors.BadMeta, $"__meta__.components must be a mapping, got {ConfigValue.PyTypeName(comps)}", meta.MarkOf("components"));
            meta.Components = ConfigValue.CloneMap(cm);
        }
        if (meta.Kind == "mod" && Truthy(meta.Get("name")))
            meta.Modifiers.Add(new ModifierId(meta.Get("name")!, meta.Get("conflicts_with") ?? new ConfigList(), meta.FilePath, meta.MarkOf("name")));
    }

    private static bool Truthy(object? v) => v switch
    {
        null => false,
        bool b => b,
        string s => s.Length > 0,
        long l => l != 0,
        double d => d != 0,
        ConfigMap m => m.Count > 0,
        ConfigList l => l.Count > 0,
        _ => true,
    };

    private void Warn(string code, string message, SourceMark? mark) =>
        Warnings.Add(new SpnDiagnostic(code, message, mark?.File, mark?.Line ?? 0, mark?.Column ?? 0));

    // ------------------------------------------------------------------ tags

    private object? ConstructTag(string tag, Yaml11Reader.YNode node, Yaml11Reader reader, string rootDir, ImmutableList<string> stack)
    {
        switch (tag)
        {
            case "!include":
            {
                var name = reader.ScalarText(node, tag);
                var path = ResolveConfigPath(name, rootDir, node.Mark, ConfigErrors.IncludeNotFound);
                // SPINE ≥ 0.10.2: the file is loaded with its own includes and directives, its __meta__
                // stripped; its compatibility checks are not run. SPINE starts a fresh include stack
                // here (a cycle recurses until Python gives up); we keep the stack to report the cycle.
                var r = LoadRecursive(path, null, Path.GetDirectoryName(path)!, stack, new List<CompatCheck>(), node.Mark);
                ApplyOverrides(r.Content, r.Overrides, r.Meta.Strict, r.Meta.ListAppend, deferMissing: false);
                ApplyRemovals(r.Content, r.Removals, r.Meta.Strict);
                r.Content.Remove(MetaKey);
                return r.Content;
            }
            case "!path":
            {
                var name = reader.ScalarText(node, tag);
                var path = ResolveConfigPath(name, rootDir, node.Mark, ConfigErrors.PathTagNotFound);
                if (File.Exists(path)) NoteRead(Path.GetFullPath(path));
                return path;
            }
            case "!download":
                // Kept unresolved (SPINE's download=False): the job downloads on the compute node.
                return node switch
                {
                    Yaml11Reader.YScalar s => new TaggedValue("!download", s.Value),
                    Yaml11Reader.YMap m => new TaggedValue("!download", reader.ConstructMapping(m)),
                    _ => throw new SpineProdException(ConfigErrors.BadTagOrScalar,
                        "!download expects a string URL or dict, got a sequence", node.Mark.File, node.Mark.Line, node.Mark.Column),
                };
        }
        throw new InvalidOperationException(tag);
    }

    // ------------------------------------------------------------------ path search

    /// <summary>SPINE_CONFIG_PATH entries (colon-separated, blanks dropped).</summary>
    public static IReadOnlyList<string> SearchPath(IReadOnlyDictionary<string, string?> env) =>
        env.TryGetValue("SPINE_CONFIG_PATH", out var v) && v is not null
            ? v.Split(':').Select(p => p.Trim()).Where(p => p.Length > 0).ToArray()
            : Array.Empty<string>();

    private static bool Exists(string p) => File.Exists(p) || Directory.Exists(p);

    /// <summary>
    /// SPINE's resolve_config_path (v0.9.2): absolute as is; else relative to the including file's
    /// folder, then with .yaml/.yml; then each SPINE_CONFIG_PATH entry, the same way.
    /// </summary>
    public string ResolveConfigPath(string filename, string currentDir, SourceMark? at, string notFoundCode)
    {
        if (Path.IsPathRooted(filename))
        {
            if (Exists(filename)) return filename;
            throw ConfigErrors.At(notFoundCode, $"Absolute path not found: {filename}", at);
        }
        var found = FindRelative(filename, currentDir);
        if (found is not null) return found;
        var search = SearchPath(_env);
        foreach (var dir in search)
        {
            found = FindRelative(filename, dir);
            if (found is not null) return found;
        }
        var msg = $"Config file '{filename}' not found.\nSearched in:\n  - Relative to: {currentDir}";
        if (search.Count > 0) msg += $"\n  - SPINE_CONFIG_PATH: {string.Join(":", search)}";
        else msg += "\n\nTip: Set SPINE_CONFIG_PATH environment variable to specify additional search directories.";
        throw ConfigErrors.At(notFoundCode, msg, at);
    }

    private static string? FindRelative(string filename, string dir)
    {
        var p = Path.Combine(dir, filename);
        if (Exists(p)) return Path.GetFullPath(p);
        foreach (var ext in new[] { ".yaml", ".yml" })
            if (!filename.EndsWith(ext, StringComparison.Ordinal) && Exists(p + ext))
                return Path.GetFullPath(p + ext);
        return null;
    }

    // ------------------------------------------------------------------ merge and directives

    /// <summary>SPINE's deep_merge: a copy of <paramref name="b"/> where maps merge and anything else is replaced.</summary>
    public static ConfigMap DeepMerge(ConfigMap b, ConfigMap over)
    {
        var result = ConfigValue.CloneMap(b);
        foreach (var (k, v, mark) in over.EntriesWithMarks())
        {
            if (result.TryGetValue(k, out var cur) && cur is ConfigMap cm && v is ConfigMap vm)
                result.Set(k, DeepMerge(cm, vm), mark);
            else
                result.Set(k, ConfigValue.Clone(v), mark);
        }
        return result;
    }

    /// <summary>
    /// Applies overrides in order. With <paramref name="deferMissing"/> (include level) an override whose
    /// parent path is missing is returned unapplied (collection operations always in "error" mode);
    /// at the top a regular override with a missing parent is skipped and collection operations use strict.
    /// </summary>
    private ConfigMap ApplyOverrides(ConfigMap config, ConfigMap overrides, string strict, string listAppend, bool deferMissing)
    {
        var unapplied = new ConfigMap();
        foreach (var (k, value, mark) in overrides.EntriesWithMarks())
        {
            var keyPath = (string)k!;
            var parsed = ParseValue(value);
            if (keyPath.EndsWith('+') || keyPath.EndsWith('-'))
            {
                if (deferMissing)
                {
                    if (!CollectionOperation(config, keyPath[..^1], parsed, keyPath[^1], "error", listAppend, mark, deferring: true))
                        unapplied.Set(keyPath, value, mark);
                }
                else CollectionOperation(config, keyPath[..^1], parsed, keyPath[^1], strict, listAppend, mark, deferring: false);
            }
            else if (!SetNested(config, keyPath, parsed, mark) && deferMissing)
                unapplied.Set(keyPath, value, mark);
        }
        return unapplied;
    }

    /// <summary>SPINE's parse_value: strings are re-read with yaml.safe_load (so "[a, b]" is a list); blank strings stay.</summary>
    public static object? ParseValue(object? value)
    {
        if (value is not string s) return ConfigValue.Clone(value);
        if (string.IsNullOrWhiteSpace(s)) return s;
        // Most override values are names, numbers and paths: a single plain scalar, typed directly
        // (a YAML parser per value is most of the loader's time otherwise).
        if (s[0] is not ('-' or '.') && s.All(c => char.IsAsciiLetterOrDigit(c) || c is '_' or '.' or '/' or '+' or '-' or '~'))
        {
            try
            {
                return Yaml11Scalars.TryConstruct(Yaml11Scalars.ResolvePlain(s), s, out var v) ? v : s;
            }
            catch (FormatException)
            {
                return s;
            }
        }
        try
        {
            return new Yaml11Reader("<override value>").Read(s);
        }
        catch (SpineProdException)
        {
            return s;
        }
    }

    /// <summary>set_nested_value(only_if_exists=True): false when an intermediate key is missing.</summary>
    private static bool SetNested(ConfigMap config, string keyPath, object? value, SourceMark? mark)
    {
        var keys = keyPath.Split('.');
        var current = config;
        for (var i = 0; i < keys.Length - 1; i++)
        {
            if (!current.TryGetValue(keys[i], out var next)) return false;
            if (next is not ConfigMap nm)
                throw ConfigErrors.At(ConfigErrors.NotADictionary, $"Cannot set '{keyPath}': '{keys[i]}' is not a dictionary", mark);
            current = nm;
        }
        current.Set(keys[^1], value, mark ?? current.MarkOf(keys[^1])); // the override wrote it now
        return true;
    }

    /// <summary>SPINE's apply_collection_operation. Returns false (instead of a path error) when <paramref name="deferring"/>.</summary>
    private bool CollectionOperation(ConfigMap config, string keyPath, object? value, char op, string strict, string listAppend,
        SourceMark? mark, bool deferring)
    {
        var keys = keyPath.Split('.');
        var current = config;
        for (var i = 0; i < keys.Length - 1; i++)
        {
            if (!current.TryGetValue(keys[i], out var next))
            {
                if (deferring) return false;
                var msg = $"Cannot apply collection operation to '{keyPath}': path does not exist";
                if (strict == "error") throw ConfigErrors.At(ConfigErrors.OperationPathMissing, msg, mark);
                Warn(ConfigErrors.StrictWarn, msg, mark);
                return true;
            }
            if (next is not ConfigMap nm)
                throw ConfigErrors.At(ConfigErrors.NotADictionary, $"Cannot apply collection operation to '{keyPath}': '{keys[i]}' is not a dictionary", mark);
            current = nm;
        }
        var final = keys[^1];
        if (!current.ContainsKey(final))
        {
            if (op == '+') current.Set(final, new ConfigList(), mark);
            else
            {
                if (deferring) return false;
                var msg = $"Cannot remove from '{keyPath}': key does not exist";
                if (strict == "error") throw ConfigErrors.At(ConfigErrors.RemoveFromMissing, msg, mark);
                Warn(ConfigErrors.StrictWarn, msg, mark);
                return true;
            }
        }
        var target = current[final];
        var values = value is ConfigList vl ? vl.ToList() : new List<object?> { value };
        switch (target)
        {
            case ConfigList list when op == '+':
                if (listAppend == "unique")
                {
                    foreach (var v in values)
                        if (!list.Any(x => ConfigValue.PyEquals(x, v))) list.Add(ConfigValue.Clone(v));
                }
                else
                {
                    var n = new ConfigList(list);
                    n.AddRange(values.Select(ConfigValue.Clone));
                    current.Set(final, n, null);
                }
                break;
            case ConfigList list:
                current.Set(final, new ConfigList(list.Where(x => !values.Any(v => ConfigValue.PyEquals(x, v)))), null);
                break;
            case ConfigMap map when op == '-':
                foreach (var k in values)
                {
                    if (k is ConfigMap or ConfigList)
                        throw ConfigErrors.At(ConfigErrors.NotACollection, $"Cannot remove key of type {ConfigValue.PyTypeName(k)} from '{keyPath}'", mark);
                    if (!map.Remove(k) && strict == "warn")
                        Warn(ConfigErrors.StrictWarn, $"Key '{k}' not found in '{keyPath}', skipping removal", mark);
                }
                break;
            case ConfigMap:
                throw ConfigErrors.At(ConfigErrors.AppendToDict, $"Cannot append to dict '{keyPath}': '+' operation not supported for dicts", mark);
            default:
                throw ConfigErrors.At(ConfigErrors.NotACollection,
                    $"Cannot apply collection operation to '{keyPath}': target is {ConfigValue.PyTypeName(target)}, not a list or dict", mark);
        }
        return true;
    }

    /// <summary>SPINE's remove: set_nested_value(delete=True, strict).</summary>
    private void ApplyRemovals(ConfigMap config, List<(string Path, SourceMark? Mark)> removals, string strict)
    {
        foreach (var (keyPath, mark) in removals)
        {
            var keys = keyPath.Split('.');
            var current = config;
            var skip = false;
            for (var i = 0; i < keys.Length - 1 && !skip; i++)
            {
                if (!current.TryGetValue(keys[i], out var next))
                {
                    if (strict == "error")
                        throw ConfigErrors.At(ConfigErrors.RemovePathMissing,
                            $"Cannot delete '{keyPath}': path '{string.Join('.', keys[..(i + 1)])}' does not exist", mark);
                    skip = true;
                    break;
                }
                if (next is not ConfigMap nm)
                    throw ConfigErrors.At(ConfigErrors.NotADictionary, $"Cannot set '{keyPath}': '{keys[i]}' is not a dictionary", mark);
                current = nm;
            }
            if (skip) continue;
            if (current.Remove(keys[^1])) continue;
            if (strict == "error") throw ConfigErrors.At(ConfigErrors.RemovePathMissing, $"Cannot delete '{keyPath}': key does not exist", mark);
            Warn(ConfigErrors.StrictWarn, $"Key '{keyPath}' not found, skipping deletion", mark);
        }
    }

    // ------------------------------------------------------------------ metadata checks

    private static void CheckModifierConflicts(List<ModifierId> existing, List<ModifierId> included, SourceMark? at)
    {
        foreach (var e in existing)
            foreach (var i in included)
            {
                if (!ConflictNames(e.ConflictsWith).Any(n => ConfigValue.PyEquals(n, i.Name)) &&
                    !ConflictNames(i.ConflictsWith).Any(n => ConfigValue.PyEquals(n, e.Name)))
                    continue;
                throw ConfigErrors.At(ConfigErrors.ModifierConflict,
                    $"Modifier conflict: '{e.Name}' ({e.FilePath}) conflicts with '{i.Name}' ({i.FilePath}).", at);
            }
    }

    private static IEnumerable<object?> ConflictNames(object? v) => v switch
    {
        string s => new object?[] { s },
        ConfigList l => l,
        _ => Array.Empty<object?>(),
    };

    [GeneratedRegex("^[0-9]{6}$")]
    private static partial Regex SixDigits();

    private static void CheckCompatibility(CompatCheck c)
    {
        var cw = c.Included.Get("compatible_with");
        if (!Truthy(cw)) return;
        var cwMark = c.Included.MarkOf("compatible_with");
        var fileName = Path.GetFileName(c.IncludedPath);
        var parentFile = Path.GetFileName(c.Parent.FilePath);
        if (cw is ConfigMap constraints)
        {
            var failures = new List<string>();
            foreach (var (comp, constraint, mark) in constraints.EntriesWithMarks())
            {
                object? actual = null;
                c.Parent.Components?.TryGetValue(comp, out actual);
                actual ??= c.Parent.Get("version");
                if (constraint is not string cs)
                    throw ConfigErrors.At(ConfigErrors.BadVersion, $"Invalid version constraint for '{comp}': {constraint} (write it as a quoted string, e.g. \">=240719\")", mark ?? cwMark);
                var (op, required) = ParseConstraint(cs);
                if (actual is null)
                {
                    failures.Add($"{comp}: parent has no version (required {op}{required})");
                    continue;
                }
                if (actual is not string a || !SixDigits().IsMatch(a))
                    throw ConfigErrors.At(ConfigErrors.BadVersion, $"Invalid version format: '{actual}'. Must be exactly 6 digits (YYMMDD format, e.g., '240719'), as a quoted string", c.At);
                if (!SixDigits().IsMatch(required))
                    throw ConfigErrors.At(ConfigErrors.BadVersion, $"Invalid version format: '{required}'. Must be exactly 6 digits (YYMMDD format, e.g., '240719')", mark ?? cwMark);
                var x = int.Parse(a); var y = int.Parse(required);
                var ok = op switch
                {
                    ">=" => x >= y, "<=" => x <= y, ">" => x > y, "<" => x < y, "!=" => x != y, _ => x == y,
                };
                if (!ok) failures.Add($"{comp}: {a} does not satisfy {op}{required}");
            }
            if (failures.Count > 0)
                throw ConfigErrors.At(ConfigErrors.Incompatible,
                    $"Compatibility error: '{fileName}' has incompatible version requirements.\n  Parent: '{parentFile}'\n  Failed constraints: {string.Join("; ", failures)}", c.At);
            return;
        }
        // Legacy string/list form: matched against the parent's kind, extends and version.
        var ids = new List<object?> { c.Parent.Kind };
        var ext = c.Parent.Get("extends");
        if (Truthy(ext)) { if (ext is ConfigList el) ids.AddRange(el); else ids.Add(ext); }
        var pv = c.Parent.Get("version");
        if (Truthy(pv)) ids.AddRange(ids.ToList().Select(p => (object?)$"{p}_{pv}"));
        var allowed = cw is ConfigList cl ? cl.ToList() : new List<object?> { cw };
        if (!ids.Any(id => allowed.Any(a => ConfigValue.PyEquals(a, id))))
            throw ConfigErrors.At(ConfigErrors.Incompatible,
                $"Compatibility error: '{fileName}' declares compatible_with={cw}, but parent '{parentFile}' has kind='{c.Parent.Kind}', extends={ext}, version={pv}. The included config cannot be used in this context.", c.At);
    }

    private static (string Op, string Version) ParseConstraint(string constraint)
    {
        var s = constraint.Trim();
        foreach (var op in new[] { ">=", "<=", "==", "!=", ">", "<" })
            if (s.StartsWith(op, StringComparison.Ordinal)) return (op, s[op.Length..].Trim());
        return ("==", s);
    }

    // ------------------------------------------------------------------ $VAR

    [GeneratedRegex(@"\$([A-Za-z0-9_]+|\{[^}]*\})")]
    private static partial Regex VarRe();

    private object? ExpandVars(object? v)
    {
        switch (v)
        {
            case string s: return ExpandString(s, _env);
            case ConfigList l:
                var nl = new ConfigList(l.Select(ExpandVars)) { ItemMarks = l.ItemMarks };
                return nl;
            case ConfigMap m:
                var nm = new ConfigMap();
                foreach (var (k, val, mark) in m.EntriesWithMarks()) nm.Set(k, ExpandVars(val), mark);
                return nm;
            default: return v;
        }
    }

    /// <summary>Python's posixpath.expandvars: known $NAME/${NAME} replaced, unknown left as written, no re-expansion.</summary>
    public static string ExpandString(string s, IReadOnlyDictionary<string, string?> env)
    {
        if (!s.Contains('$')) return s;
        var i = 0;
        while (true)
        {
            var m = VarRe().Match(s, i);
            if (!m.Success) break;
            var name = m.Groups[1].Value;
            if (name.StartsWith('{') && name.EndsWith('}')) name = name[1..^1];
            if (env.TryGetValue(name, out var value) && value is not null)
            {
                var tail = s[(m.Index + m.Length)..];
                s = s[..m.Index] + value;
                i = s.Length;
                s += tail;
            }
            else i = m.Index + m.Length;
        }
        return s;
    }
}
