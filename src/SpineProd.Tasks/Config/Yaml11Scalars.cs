using System.Globalization;
using System.Numerics;
using System.Text.RegularExpressions;

namespace SpineProd.Config;

/// <summary>
/// YAML 1.1 plain-scalar resolution and construction as PyYAML's SafeLoader does it, because SPINE
/// reads configs with PyYAML: <c>yes</c>/<c>on</c> are booleans, a float needs a dot (<c>1e-3</c> is a
/// string, <c>1.0e-3</c> a float), <c>2:00:00</c> is the base-60 integer 7200, <c>010</c> is octal 8,
/// dates are dates. The patterns are YAML 1.1's resolver rules as PyYAML implements them.
/// </summary>
public static partial class Yaml11Scalars
{
    public const string StrTag = "tag:yaml.org,2002:str";
    public const string NullTag = "tag:yaml.org,2002:null";
    public const string BoolTag = "tag:yaml.org,2002:bool";
    public const string IntTag = "tag:yaml.org,2002:int";
    public const string FloatTag = "tag:yaml.org,2002:float";
    public const string TimestampTag = "tag:yaml.org,2002:timestamp";
    public const string MergeTag = "tag:yaml.org,2002:merge";
    public const string ValueTag = "tag:yaml.org,2002:value";

    [GeneratedRegex("^(?:yes|Yes|YES|no|No|NO|true|True|TRUE|false|False|FALSE|on|On|ON|off|Off|OFF)$")]
    private static partial Regex BoolRe();

    [GeneratedRegex(@"^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+][0-9]+)?|\.[0-9][0-9_]*(?:[eE][-+][0-9]+)?|[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+\.[0-9_]*|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$")]
    private static partial Regex FloatRe();

    [GeneratedRegex(@"^(?:[-+]?0b[0-1_]+|[-+]?0[0-7_]+|[-+]?(?:0|[1-9][0-9_]*)|[-+]?0x[0-9a-fA-F_]+|[-+]?[1-9][0-9_]*(?::[0-5]?[0-9])+)$")]
    private static partial Regex IntRe();

    [GeneratedRegex(@"^(?:~|null|Null|NULL|)$")]
    private static partial Regex NullRe();

    [GeneratedRegex(@"^(?:[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]|[0-9][0-9][0-9][0-9]-[0-9][0-9]?-[0-9][0-9]?(?:[Tt]|[ \t]+)[0-9][0-9]?:[0-9][0-9]:[0-9][0-9](?:\.[0-9]*)?(?:[ \t]*(?:Z|[-+][0-9][0-9]?(?::[0-9][0-9])?))?)$")]
    private static partial Regex TimestampRe();

    [GeneratedRegex(@"^(?<year>[0-9][0-9][0-9][0-9])-(?<month>[0-9][0-9]?)-(?<day>[0-9][0-9]?)(?:(?:[Tt]|[ \t]+)(?<hour>[0-9][0-9]?):(?<minute>[0-9][0-9]):(?<second>[0-9][0-9])(?:\.(?<fraction>[0-9]*))?(?:[ \t]*(?<tz>Z|(?<tz_sign>[-+])(?<tz_hour>[0-9][0-9]?)(?::(?<tz_minute>[0-9][0-9]))?))?)?$")]
    private static partial Regex TimestampParts();

    /// <summary>The tag PyYAML's resolver gives an untagged plain scalar (first matching rule, by first character).</summary>
    public static string ResolvePlain(string v)
    {
        // PyYAML only tries the resolvers registered for the first character, in registration order.
        var c = v.Length == 0 ? '\0' : v[0];
        if ("yYnNtTfFoO".Contains(c) && BoolRe().IsMatch(v)) return BoolTag;
        if ("-+0123456789.".Contains(c) && FloatRe().IsMatch(v)) return FloatTag;
        if ("-+0123456789".Contains(c) && IntRe().IsMatch(v)) return IntTag;
        if (c == '<' && v == "<<") return MergeTag;
        if ((v.Length == 0 || "~nN".Contains(c)) && NullRe().IsMatch(v)) return NullTag;
        if (char.IsAsciiDigit(c) && TimestampRe().IsMatch(v)) return TimestampTag;
        if (c == '=' && v == "=") return ValueTag;
        return StrTag;
    }

    /// <summary>
    /// Builds the value for a scalar of a core tag. Returns false for tags SafeLoader cannot construct.
    /// Throws <see cref="FormatException"/> where PyYAML's constructor raises (e.g. <c>!!int x</c>, <c>2025-13-01</c>).
    /// </summary>
    public static bool TryConstruct(string tag, string v, out object? value)
    {
        switch (tag)
        {
            case StrTag: value = v; return true;
            case NullTag: value = null; return true;
            case BoolTag: value = ConstructBool(v); return true;
            case IntTag: value = ConstructInt(v); return true;
            case FloatTag: value = ConstructFloat(v); return true;
            case TimestampTag: value = ConstructTimestamp(v); return true;
            default: value = null; return false;
        }
    }

    private static bool ConstructBool(string v) => v.ToLowerInvariant() switch
    {
        "yes" or "true" or "on" => true,
        "no" or "false" or "off" => false,
        _ => throw new FormatException($"invalid boolean '{v}'"),
    };

    /// <summary>PyYAML's construct_yaml_int: sign, 0b, 0x, leading-0 octal, base 60, else decimal; underscores dropped.</summary>
    public static object ConstructInt(string text)
    {
        var v = text.Replace("_", "");
        if (v.Length == 0) throw new FormatException($"invalid int '{text}'");
        var sign = 1;
        if (v[0] == '-') sign = -1;
        if (v[0] is '+' or '-') v = v[1..];
        if (v.Length == 0) throw new FormatException($"invalid int '{text}'");
        BigInteger r;
        if (v == "0") r = 0;
        else if (v.StartsWith("0b", StringComparison.Ordinal)) r = ParseBase(v[2..], 2, text);
        else if (v.StartsWith("0x", StringComparison.Ordinal)) r = ParseBase(v[2..], 16, text);
        else if (v[0] == '0') r = ParseBase(v, 8, text);
        else if (v.Contains(':'))
        {
            r = 0;
            BigInteger b = 1;
            foreach (var part in v.Split(':').Reverse())
            {
                r += ParseBase(part, 10, text) * b;
                b *= 60;
            }
        }
        else r = ParseBase(v, 10, text);
        return ConfigValue.Int(sign * r);
    }

    private static BigInteger ParseBase(string digits, int b, string text)
    {
        // Python's int(x, base) also accepts surrounding whitespace and a sign; YAML's regexes never pass those.
        if (digits.Length == 0) throw new FormatException($"invalid int '{text}'");
        BigInteger r = 0;
        foreach (var ch in digits)
        {
            var d = ch switch
            {
                >= '0' and <= '9' => ch - '0',
                >= 'a' and <= 'f' => ch - 'a' + 10,
                >= 'A' and <= 'F' => ch - 'A' + 10,
                _ => 99,
            };
            if (d >= b) throw new FormatException($"invalid int '{text}'");
            r = r * b + d;
        }
        return r;
    }

    /// <summary>PyYAML's construct_yaml_float: .inf/.nan, base 60, else Python float().</summary>
    public static double ConstructFloat(string text)
    {
        var v = text.Replace("_", "").ToLowerInvariant();
        if (v.Length == 0) throw new FormatException($"invalid float '{text}'");
        var sign = 1.0;
        if (v[0] == '-') sign = -1;
        if (v[0] is '+' or '-') v = v[1..];
        if (v == ".inf") return sign * double.PositiveInfinity;
        if (v == ".nan") return double.NaN;
        if (v.Contains(':'))
        {
            double r = 0, b = 1;
            foreach (var part in v.Split(':').Reverse())
            {
                r += PyFloat(part, text) * b;
                b *= 60;
            }
            return sign * r;
        }
        return sign * PyFloat(v, text);
    }

    private static double PyFloat(string s, string text)
    {
        var t = s.Trim();
        switch (t)
        {
            case "inf" or "+inf" or "infinity" or "+infinity": return double.PositiveInfinity;
            case "-inf" or "-infinity": return double.NegativeInfinity;
            case "nan" or "+nan" or "-nan": return double.NaN;
        }
        if (t.Length > 0 && (char.IsAsciiDigit(t[^1]) || t[^1] == '.') &&
            double.TryParse(t, NumberStyles.Float, CultureInfo.InvariantCulture, out var d))
            return d;
        throw new FormatException($"could not convert string to float: '{text}'");
    }

    /// <summary>PyYAML's construct_yaml_timestamp, written out the way Python's isoformat() writes it.</summary>
    public static YamlTimestamp ConstructTimestamp(string text)
    {
        var m = TimestampParts().Match(text);
        if (!m.Success) throw new FormatException($"invalid timestamp '{text}'");
        var year = int.Parse(m.Groups["year"].Value, CultureInfo.InvariantCulture);
        var month = int.Parse(m.Groups["month"].Value, CultureInfo.InvariantCulture);
        var day = int.Parse(m.Groups["day"].Value, CultureInfo.InvariantCulture);
        if (year < 1 || month is < 1 or > 12 || day < 1 || day > DateTime.DaysInMonth(year, month))
            throw new FormatException(month is < 1 or > 12 ? "month must be in 1..12" : "day is out of range for month");
        var date = $"{year:D4}-{month:D2}-{day:D2}";
        if (!m.Groups["hour"].Success) return new YamlTimestamp(date, true);
        var hour = int.Parse(m.Groups["hour"].Value, CultureInfo.InvariantCulture);
        var minute = int.Parse(m.Groups["minute"].Value, CultureInfo.InvariantCulture);
        var second = int.Parse(m.Groups["second"].Value, CultureInfo.InvariantCulture);
        if (hour > 23) throw new FormatException("hour must be in 0..23");
        if (minute > 59) throw new FormatException("minute must be in 0..59");
        if (second > 59) throw new FormatException("second must be in 0..59");
        var iso = $"{date}T{hour:D2}:{minute:D2}:{second:D2}";
        if (m.Groups["fraction"].Success)
        {
            var f = m.Groups["fraction"].Value;
            f = f.Length > 6 ? f[..6] : f.PadRight(6, '0');
            if (int.Parse(f, CultureInfo.InvariantCulture) != 0) iso += "." + f;
        }
        if (m.Groups["tz_sign"].Success)
        {
            var th = int.Parse(m.Groups["tz_hour"].Value, CultureInfo.InvariantCulture);
            var tm = m.Groups["tz_minute"].Success ? int.Parse(m.Groups["tz_minute"].Value, CultureInfo.InvariantCulture) : 0;
            if (th > 23 && !(th == 24 && tm == 0) || tm > 59 || th * 60 + tm >= 24 * 60)
                throw new FormatException("offset must be a timedelta strictly between -timedelta(hours=24) and timedelta(hours=24)");
            var total = th * 60 + tm;
            var s = total == 0 ? "+" : m.Groups["tz_sign"].Value;
            iso += $"{s}{total / 60:D2}:{total % 60:D2}";
        }
        else if (m.Groups["tz"].Success) iso += "+00:00";
        return new YamlTimestamp(iso, false);
    }
}
