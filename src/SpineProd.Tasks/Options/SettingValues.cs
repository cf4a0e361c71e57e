using System.Globalization;
using System.Text.RegularExpressions;

namespace SpineProd.Options;

/// <summary>
/// The value grammars of the catalogue's resource settings (<see cref="SettingType.TimeLimit"/>,
/// <see cref="SettingType.Memory"/>), in the forms users write. One parser each, for the planner,
/// the profiles and any property that takes the same kind of value.
/// </summary>
public static partial class SettingValues
{
    /// <summary>
    /// A job's time limit: SLURM's forms (minutes; MM:SS; H:MM:SS; D-HH; D-HH:MM; D-HH:MM:SS) or a
    /// number with a unit (<c>30s</c>, <c>90m</c>, <c>4h</c>, <c>2d</c>). More than zero, at most a year.
    /// </summary>
    public static bool TryParseTimeLimit(string value, out TimeSpan limit)
    {
        limit = default;
        var m = TimePattern().Match(value.Trim());
        if (!m.Success) return false;
        long N(string group) => m.Groups[group].Success ? long.Parse(m.Groups[group].Value, CultureInfo.InvariantCulture) : 0;
        try
        {
            if (m.Groups["n"].Success)
            {
                double n = double.Parse(m.Groups["n"].Value, CultureInfo.InvariantCulture);
                limit = m.Groups["unit"].Value.ToLowerInvariant() switch
                {
                    "s" => TimeSpan.FromSeconds(n),
                    "h" => TimeSpan.FromHours(n),
                    "d" => TimeSpan.FromDays(n),
                    _ => TimeSpan.FromMinutes(n), // m, min, and SLURM's bare number
                };
            }
            else if (m.Groups["days"].Success)
                limit = TimeSpan.FromDays(N("days")) + TimeSpan.FromHours(N("dh")) + TimeSpan.FromMinutes(N("dm")) + TimeSpan.FromSeconds(N("ds"));
            else if (m.Groups["hh"].Success)
                limit = TimeSpan.FromHours(N("hh")) + TimeSpan.FromMinutes(N("hm")) + TimeSpan.FromSeconds(N("hs"));
            else
                limit = TimeSpan.FromMinutes(N("mm")) + TimeSpan.FromSeconds(N("ms"));
        }
        catch (Exception e) when (e is OverflowException or ArgumentException) { return false; }
        return limit > TimeSpan.Zero && limit <= TimeSpan.FromDays(366);
    }

    /// <summary>A memory size as SLURM reads it: <c>8g</c>, <c>4000M</c>, <c>512</c> (MB), K/M/G/T in powers of 1024, an optional B.</summary>
    public static bool TryParseMemory(string value, out long bytes)
    {
        bytes = 0;
        var m = MemoryPattern().Match(value.Trim());
        if (!m.Success) return false;
        long factor = m.Groups["unit"].Value.ToUpperInvariant() switch { "K" => 1L << 10, "G" => 1L << 30, "T" => 1L << 40, _ => 1L << 20 };
        if (!long.TryParse(m.Groups["n"].Value, NumberStyles.None, CultureInfo.InvariantCulture, out long n) || n > long.MaxValue / factor) return false;
        bytes = n * factor;
        return bytes > 0;
    }

    /// <summary>A size setting (<c>4g</c>, <c>4000M</c>, <c>512</c> = MB) in bytes, or null when it is not one.</summary>
    public static long? ParseMemory(string? value) => value is not null && TryParseMemory(value, out long bytes) ? bytes : null;

    [GeneratedRegex(@"^(?<n>[0-9]+)(?<unit>[KMGTkmgt]?)[Bb]?$")]
    private static partial Regex MemoryPattern();
    // 90 (SLURM: minutes) | 90m | 1.5h | 2d | MM:SS | H:MM:SS | D-HH | D-HH:MM | D-HH:MM:SS
    [GeneratedRegex(@"^(?:(?<n>\d+(?:\.\d+)?)\s*(?<unit>s|m|min|h|d)?|(?<days>\d+)-(?<dh>\d{1,2})(?::(?<dm>\d{1,2})(?::(?<ds>\d{1,2}))?)?|(?<hh>\d+):(?<hm>\d{1,2}):(?<hs>\d{1,2})|(?<mm>\d+):(?<ms>\d{1,2}))$", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex TimePattern();
}
