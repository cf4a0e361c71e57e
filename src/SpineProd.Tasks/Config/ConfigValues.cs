using System.Collections;
using System.Numerics;

namespace SpineProd.Config;

/// <summary>Where a key or item was written: the file, 1-based line and column (for SPN errors).</summary>
public readonly record struct SourceMark(string File, int Line, int Column);

/// <summary>
/// A YAML timestamp. PyYAML gives a <c>date</c> or <c>datetime</c>; SPINE's configs carry it on and the
/// corpus writes it as its ISO string, so the value is that ISO string plus whether it was a bare date.
/// </summary>
public sealed record YamlTimestamp(string Iso, bool IsDate)
{
    public override string ToString() => Iso;
}

/// <summary>
/// A tagged value SPINE resolves at run time and we keep unresolved (<c>!download</c>): resolving it
/// here would download model weights at build time; the job's SPINE does that on the compute node.
/// </summary>
public sealed record TaggedValue(string Tag, object? Value);

/// <summary>
/// A YAML mapping as PyYAML builds it: insertion-ordered, keys compared like Python dict keys
/// (1 == 1.0 == True), and for every key the place it was written so errors can point at it.
/// Config files are small, so a list plus an index is plenty.
/// </summary>
public sealed class ConfigMap : IEnumerable<KeyValuePair<object?, object?>>
{
    private readonly List<Entry> _entries = new();
    private readonly Dictionary<object, int> _index = new(PyKeyComparer.Instance);
    private static readonly object NullKey = new();

    private struct Entry
    {
        public object? Key;
        public object? Value;
        public SourceMark? Mark;
    }

    public int Count => _entries.Count;

    private static object Box(object? key) => key ?? NullKey;

    public bool ContainsKey(object? key) => _index.ContainsKey(Box(key));

    public bool TryGetValue(object? key, out object? value)
    {
        if (_index.TryGetValue(Box(key), out var i)) { value = _entries[i].Value; return true; }
        value = null;
        return false;
    }

    public object? this[object? key]
    {
        get => TryGetValue(key, out var v) ? v : throw new KeyNotFoundException(key?.ToString());
        set => Set(key, value, null);
    }

    /// <summary>Python's <c>d[k] = v</c>: an existing key keeps its position (and its first key object).</summary>
    public void Set(object? key, object? value, SourceMark? mark)
    {
        if (_index.TryGetValue(Box(key), out var i))
        {
            var e = _entries[i];
            e.Value = value;
            if (mark is not null) e.Mark = mark;
            _entries[i] = e;
        }
        else
        {
            _index[Box(key)] = _entries.Count;
            _entries.Add(new Entry { Key = key, Value = value, Mark = mark });
        }
    }

    public SourceMark? MarkOf(object? key) => _index.TryGetValue(Box(key), out var i) ? _entries[i].Mark : null;

    public bool Remove(object? key)
    {
        if (!_index.TryGetValue(Box(key), out var i)) return false;
        _entries.RemoveAt(i);
        _index.Clear();
        for (var j = 0; j < _entries.Count; j++) _index[Box(_entries[j].Key)] = j;
        return true;
    }

    public IEnumerable<object?> Keys => _entries.Select(e => e.Key);

    public IEnumerable<(object? Key, object? Value, SourceMark? Mark)> EntriesWithMarks()
    {
        foreach (var e in _entries) yield return (e.Key, e.Value, e.Mark);
    }

    public IEnumerator<KeyValuePair<object?, object?>> GetEnumerator()
    {
        foreach (var e in _entries) yield return new(e.Key, e.Value);
    }

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
}

/// <summary>A YAML sequence; <see cref="ItemMarks"/> are the items' places as parsed (used for include/remove lists).</summary>
public sealed class ConfigList : List<object?>
{
    public ConfigList() { }
    public ConfigList(IEnumerable<object?> items) : base(items) { }
    public SourceMark?[]? ItemMarks { get; set; }
    public SourceMark? MarkAt(int i) => ItemMarks is { } m && i < m.Length && m.Length == Count ? m[i] : null;
}

/// <summary>Python semantics for config values: deep copy, equality (<c>==</c>) and type names.</summary>
public static class ConfigValue
{
    public static object? Clone(object? v) => v switch
    {
        ConfigMap m => CloneMap(m),
        ConfigList l => new ConfigList(l.Select(Clone)) { ItemMarks = l.ItemMarks },
        TaggedValue t => t with { Value = Clone(t.Value) },
        _ => v,
    };

    public static ConfigMap CloneMap(ConfigMap m)
    {
        var r = new ConfigMap();
        foreach (var (k, v, mark) in m.EntriesWithMarks()) r.Set(k, Clone(v), mark);
        return r;
    }

    /// <summary>Python's <c>a == b</c> for YAML values: numbers compare across int/float/bool, maps without order.</summary>
    public static bool PyEquals(object? a, object? b)
    {
        if (a is null || b is null) return a is null && b is null;
        if (IsNumber(a) && IsNumber(b)) return NumEquals(a, b);
        switch (a)
        {
            case string s: return b is string t && s == t;
            case ConfigList la:
                if (b is not ConfigList lb || la.Count != lb.Count) return false;
                for (var i = 0; i < la.Count; i++) if (!PyEquals(la[i], lb[i])) return false;
                return true;
            case ConfigMap ma:
                if (b is not ConfigMap mb || ma.Count != mb.Count) return false;
                foreach (var kv in ma)
                    if (!mb.TryGetValue(kv.Key, out var bv) || !PyEquals(kv.Value, bv)) return false;
                return true;
            default: return a.Equals(b);
        }
    }

    internal static bool IsNumber(object o) => o is bool or long or BigInteger or double;

    internal static bool NumEquals(object a, object b)
    {
        if (a is double da || b is double)
        {
            var x = ToDouble(a); var y = ToDouble(b);
            return x == y; // NaN != NaN, as in Python for distinct objects
        }
        return ToBig(a) == ToBig(b);
    }

    internal static BigInteger ToBig(object o) => o switch
    {
        bool b => b ? BigInteger.One : BigInteger.Zero,
        long l => l,
        BigInteger bi => bi,
        _ => throw new InvalidOperationException(),
    };

    internal static double ToDouble(object o) => o switch
    {
        bool b => b ? 1 : 0,
        long l => l,
        BigInteger bi => (double)bi,
        double d => d,
        _ => throw new InvalidOperationException(),
    };

    /// <summary>Python's <c>type(x).__name__</c>, for SPINE's error messages.</summary>
    public static string PyTypeName(object? v) => v switch
    {
        null => "NoneType",
        bool => "bool",
        long or BigInteger => "int",
        double => "float",
        string => "str",
        ConfigMap => "dict",
        ConfigList => "list",
        YamlTimestamp t => t.IsDate ? "date" : "datetime",
        TaggedValue => "DownloadTag",
        _ => v.GetType().Name,
    };

    /// <summary>Normalizes an integer to long when it fits, else BigInteger.</summary>
    public static object Int(BigInteger v) => v >= long.MinValue && v <= long.MaxValue ? (object)(long)v : v;
}

/// <summary>Python dict-key equality and hashing: 1, 1.0 and True are the same key.</summary>
internal sealed class PyKeyComparer : IEqualityComparer<object>
{
    public static readonly PyKeyComparer Instance = new();

    public new bool Equals(object? x, object? y)
    {
        if (ReferenceEquals(x, y)) return true;
        if (x is null || y is null) return false;
        if (ConfigValue.IsNumber(x) && ConfigValue.IsNumber(y)) return ConfigValue.NumEquals(x, y);
        return x.Equals(y);
    }

    public int GetHashCode(object o)
    {
        if (ConfigValue.IsNumber(o))
        {
            if (o is double d)
            {
                if (double.IsFinite(d) && Math.Floor(d) == d && Math.Abs(d) < 1e300) return new BigInteger(d).GetHashCode();
                return d.GetHashCode();
            }
            return ConfigValue.ToBig(o).GetHashCode();
        }
        return o.GetHashCode();
    }
}
