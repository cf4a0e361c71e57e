using System.Globalization;
using System.Numerics;
using System.Text;

namespace SpineProd.Config;

/// <summary>
/// Writes config values as the conformance corpus does: Python's <c>json.dumps(obj, indent=1)</c>
/// (ASCII-only, ", "/": " separators, Python float repr), with dates as ISO strings and non-finite
/// floats as "inf"/"-inf"/"nan". Byte-identical output lets a plain diff compare us with SPINE.
/// </summary>
public static class CanonicalJson
{
    public static string Ok(ConfigMap config)
    {
        var sb = new StringBuilder();
        sb.Append("{\n \"ok\": true,\n \"config\": ");
        Write(sb, config, 1);
        sb.Append("\n}\n");
        return sb.ToString();
    }

    public static string Error(string errorClass, string message)
    {
        var sb = new StringBuilder();
        sb.Append("{\n \"ok\": false,\n \"error\": ");
        WriteString(sb, errorClass);
        sb.Append(",\n \"message\": ");
        WriteString(sb, message);
        sb.Append("\n}\n");
        return sb.ToString();
    }

    public static string Serialize(object? value)
    {
        var sb = new StringBuilder();
        Write(sb, value, 0);
        return sb.ToString();
    }

    private static void Write(StringBuilder sb, object? v, int level)
    {
        switch (v)
        {
            case null: sb.Append("null"); break;
            case bool b: sb.Append(b ? "true" : "false"); break;
            case long or BigInteger: sb.Append(Convert.ToString(v, CultureInfo.InvariantCulture)); break;
            case double d:
                if (double.IsNaN(d)) WriteString(sb, "nan");
                else if (double.IsInfinity(d)) WriteString(sb, d > 0 ? "inf" : "-inf");
                else sb.Append(PyRepr.Float(d));
                break;
            case string s: WriteString(sb, s); break;
            case YamlTimestamp t: WriteString(sb, t.Iso); break;
            case TaggedValue tv:
                // Not in SPINE's output (it resolves the tag); kept visible as {"!download": value}.
                var m = new ConfigMap();
                m.Set(tv.Tag, tv.Value, null);
                Write(sb, m, level);
                break;
            case ConfigMap map:
                if (map.Count == 0) { sb.Append("{}"); break; }
                sb.Append('{');
                var first = true;
                foreach (var (k, val) in map)
                {
                    sb.Append(first ? "\n" : ",\n");
                    first = false;
                    sb.Append(' ', level + 1);
                    WriteString(sb, KeyString(k));
                    sb.Append(": ");
                    Write(sb, val, level + 1);
                }
                sb.Append('\n').Append(' ', level).Append('}');
                break;
            case ConfigList list:
                if (list.Count == 0) { sb.Append("[]"); break; }
                sb.Append('[');
                for (var i = 0; i < list.Count; i++)
                {
                    sb.Append(i == 0 ? "\n" : ",\n");
                    sb.Append(' ', level + 1);
                    Write(sb, list[i], level + 1);
                }
                sb.Append('\n').Append(' ', level).Append(']');
                break;
            default: WriteString(sb, v.ToString() ?? ""); break;
        }
    }

    /// <summary>json.dumps turns non-string keys into strings: True → "true", None → "null", 1.5 → "1.5".</summary>
    private static string KeyString(object? k) => k switch
    {
        null => "null",
        bool b => b ? "true" : "false",
        double d => double.IsNaN(d) ? "NaN" : double.IsPositiveInfinity(d) ? "Infinity" : double.IsNegativeInfinity(d) ? "-Infinity" : PyRepr.Float(d),
        long or BigInteger => Convert.ToString(k, CultureInfo.InvariantCulture)!,
        _ => k.ToString() ?? "",
    };

    private static void WriteString(StringBuilder sb, string s)
    {
        sb.Append('"');
        foreach (var c in s)
        {
            switch (c)
            {
                case '"': sb.Append("\\\""); break;
                case '\\': sb.Append("\\\\"); break;
                case '\n': sb.Append("\\n"); break;
                case '\r': sb.Append("\\r"); break;
                case '\t': sb.Append("\\t"); break;
                case '\b': sb.Append("\\b"); break;
                case '\f': sb.Append("\\f"); break;
                default:
                    if (c < 0x20 || c > 0x7e) sb.Append("\\u").Append(((int)c).ToString("x4", CultureInfo.InvariantCulture));
                    else sb.Append(c);
                    break;
            }
        }
        sb.Append('"');
    }
}

/// <summary>Python's <c>repr(float)</c>: shortest round-trip digits, exponent form below 1e-4 and from 1e16.</summary>
public static class PyRepr
{
    public static string Float(double d)
    {
        if (double.IsNaN(d)) return "nan";
        if (double.IsInfinity(d)) return d > 0 ? "inf" : "-inf";
        if (d == 0) return double.IsNegative(d) ? "-0.0" : "0.0";
        // .NET's "R" gives the shortest round-trip digits; re-layout them the way Python does.
        var shortest = Math.Abs(d).ToString("R", CultureInfo.InvariantCulture);
        string digits; int exp10;
        {
            var s = shortest;
            var e = 0;
            var ei = s.IndexOfAny(['E', 'e']);
            if (ei >= 0) { e = int.Parse(s[(ei + 1)..], CultureInfo.InvariantCulture); s = s[..ei]; }
            var dot = s.IndexOf('.');
            var intPart = dot >= 0 ? s[..dot] : s;
            var frac = dot >= 0 ? s[(dot + 1)..] : "";
            var all = (intPart + frac).TrimStart('0');
            var lead = (intPart + frac).Length - all.Length;
            // value = 0.all × 10^decpt where decpt = len(intPart) - lead + e
            exp10 = intPart.Length - lead + e;
            digits = all.TrimEnd('0');
            if (digits.Length == 0) digits = "0";
        }
        var decpt = exp10; // Python's decpt: digits d1d2... with the point after decpt digits
        var sb = new StringBuilder();
        if (d < 0) sb.Append('-');
        if (decpt > -4 && decpt <= 16)
        {
            if (decpt <= 0) sb.Append("0.").Append('0', -decpt).Append(digits);
            else if (decpt >= digits.Length) sb.Append(digits).Append('0', decpt - digits.Length).Append(".0");
            else sb.Append(digits[..decpt]).Append('.').Append(digits[decpt..]);
        }
        else
        {
            sb.Append(digits[0]);
            if (digits.Length > 1) sb.Append('.').Append(digits[1..]);
            var e = decpt - 1;
            sb.Append('e').Append(e < 0 ? '-' : '+').Append(Math.Abs(e).ToString("D2", CultureInfo.InvariantCulture));
        }
        return sb.ToString();
    }
}
