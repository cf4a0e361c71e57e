using System.Globalization;
using System.Numerics;
using System.Text;

namespace SpineProd.Config;

/// <summary>
/// Writes a resolved config as block YAML that PyYAML's SafeLoader (and <see cref="Yaml11Reader"/>)
/// reads back to the same tree: a string that would otherwise read as a bool/number/date/null is
/// quoted, floats always carry a dot (YAML 1.1 needs it), <c>!download</c> stays tagged.
/// </summary>
public static class YamlWriter
{
    public static string Write(ConfigMap map)
    {
        var sb = new StringBuilder();
        if (map.Count == 0) return "{}\n";
        WriteMap(sb, map, 0);
        return sb.ToString();
    }

    private static void WriteMap(StringBuilder sb, ConfigMap map, int indent)
    {
        foreach (var (k, v) in map)
        {
            sb.Append(' ', indent).Append(Scalar(k, isKey: true)).Append(':');
            WriteValue(sb, v, indent, inList: false);
        }
    }

    private static void WriteValue(StringBuilder sb, object? v, int indent, bool inList)
    {
        switch (v)
        {
            case ConfigMap m when m.Count > 0:
                if (inList)
                {
                    // "- key: value" with the rest of the map aligned under the first key.
                    sb.Append(' ');
                    var first = true;
                    foreach (var (k, val) in m)
                    {
                        if (!first) sb.Append(' ', indent + 2);
                        first = false;
                        sb.Append(Scalar(k, isKey: true)).Append(':');
                        WriteValue(sb, val, indent + 2, inList: false);
                    }
                }
                else
                {
                    sb.Append('\n');
                    WriteMap(sb, m, indent + 2);
                }
                break;
            case ConfigList l when l.Count > 0:
                if (inList)
                {
                    sb.Append(' ');
                    var first = true;
                    foreach (var item in l)
                    {
                        if (!first) sb.Append(' ', indent + 2);
                        first = false;
                        sb.Append('-');
                        WriteValue(sb, item, indent + 2, inList: true);
                    }
                }
                else
                {
                    sb.Append('\n');
                    foreach (var item in l)
                    {
                        sb.Append(' ', indent).Append('-');
                        WriteValue(sb, item, indent, inList: true);
                    }
                }
                break;
            case TaggedValue t:
                sb.Append(' ').Append(t.Tag);
                if (t.Value is ConfigMap tm && tm.Count > 0)
                {
                    sb.Append('\n');
                    WriteMap(sb, tm, indent + 2);
                }
                else sb.Append(' ').Append(Scalar(t.Value, isKey: false)).Append('\n');
                break;
            default:
                sb.Append(' ').Append(Scalar(v, isKey: false)).Append('\n');
                break;
        }
    }

    public static string Scalar(object? v, bool isKey) => v switch
    {
        null => "null",
        bool b => b ? "true" : "false",
        long or BigInteger => Convert.ToString(v, CultureInfo.InvariantCulture)!,
        double d => Float(d),
        string s => Str(s),
        YamlTimestamp t => t.Iso,
        ConfigMap { Count: 0 } => "{}",
        ConfigList { Count: 0 } => "[]",
        _ => Str(v.ToString() ?? ""),
    };

    private static string Float(double d)
    {
        if (double.IsNaN(d)) return ".nan";
        if (double.IsInfinity(d)) return d > 0 ? ".inf" : "-.inf";
        var r = PyRepr.Float(d);
        // YAML 1.1 floats need a dot: 1e+16 must be written 1.0e+16 (as PyYAML's representer does).
        if (!r.Contains('.') && r.Contains('e')) r = r.Replace("e", ".0e");
        return r;
    }

    /// <summary>Plain when it reads back as the same string; else single-quoted; else double-quoted with escapes.</summary>
    public static string Str(string s)
    {
        if (CanBePlain(s)) return s;
        if (s.All(c => c >= 0x20 && c != 0x7f && c is not ('\u0085' or '\u2028' or '\u2029' or '\uFEFF')))
            return "'" + s.Replace("'", "''") + "'";
        var sb = new StringBuilder("\"");
        foreach (var c in s)
        {
            switch (c)
            {
                case '"': sb.Append("\\\""); break;
                case '\\': sb.Append("\\\\"); break;
                case '\n': sb.Append("\\n"); break;
                case '\t': sb.Append("\\t"); break;
                case '\r': sb.Append("\\r"); break;
                default:
                    if (c < 0x20 || c == 0x7f || c is '\u0085' or '\u2028' or '\u2029' or '\uFEFF')
                        sb.Append("\\u").Append(((int)c).ToString("x4", CultureInfo.InvariantCulture));
                    else sb.Append(c);
                    break;
            }
        }
        return sb.Append('"').ToString();
    }

    private static bool CanBePlain(string s)
    {
        if (s.Length == 0 || s != s.Trim()) return false;
        if ("-?:,[]{}#&*!|>'\"%@`".Contains(s[0])) return false;
        if (s.Contains(": ") || s.Contains(" #") || s.EndsWith(':')) return false;
        foreach (var c in s)
            if (c < 0x20 || c > 0x7e || c is ',' or '[' or ']' or '{' or '}') return false;
        return Yaml11Scalars.ResolvePlain(s) == Yaml11Scalars.StrTag;
    }
}
