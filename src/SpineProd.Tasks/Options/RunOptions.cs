using System.Globalization;
using System.Text.RegularExpressions;
using SpineProd.Diagnostics;
using SpineProd.Planning;

namespace SpineProd.Options;

/// <summary>
/// The run-time properties of Submit and Status (Wait, WaitTimeout, PollInterval, FailOnProblems,
/// LocalParallelism, SubmitRetries, ClusterQueryTimeout), parsed strictly: a mistyped value is an
/// SPN error naming where it was set, never a silent fallback to the default. Every task that reads
/// one of them parses it here, and the build checks them all before it does anything.
/// </summary>
public sealed partial class RunOptions
{
    /// <summary>Where a property was set: the command line, or its line in the production.</summary>
    private readonly Func<string, (string Origin, int Line)> _where;
    private readonly string _file;

    public RunOptions(string productionFile, ISet<string>? globalProperties = null, ProductionFile? xml = null)
    {
        _file = productionFile;
        _where = name => globalProperties?.Contains(name) == true ? ($"-p:{name} on the command line", 0)
            : ($"<{name}>", xml?.PropertyLine(name) ?? 0);
    }

    /// <summary>WaitTimeout, PollInterval, ClusterQueryTimeout: seconds (<c>90</c>, <c>90s</c>), <c>10m</c>, <c>4h</c>, <c>2d</c>, <c>4:00:00</c> or <c>1-00:00:00</c>.</summary>
    public TimeSpan Duration(string name, string? value, TimeSpan fallback)
    {
        if (string.IsNullOrWhiteSpace(value)) return fallback;
        if (TryParseDuration(value, out var d) && d > TimeSpan.Zero) return d;
        throw Error("SPN1061", name, value,
            "is not a duration: write seconds (90), a unit (90s, 10m, 4h, 2d) or hours:minutes:seconds (4:00:00, 1-00:00:00 for a day)");
    }

    /// <summary>LocalParallelism, SubmitRetries: a whole number at least <paramref name="min"/>.</summary>
    public int Count(string name, string? value, int fallback, int min = 0)
    {
        if (string.IsNullOrWhiteSpace(value)) return fallback;
        if (int.TryParse(value.Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out int n) && n >= min) return n;
        throw Error("SPN1062", name, value, $"is not a whole number of at least {min}");
    }

    /// <summary>Wait, FailOnProblems: true or false (MSBuild's spellings: true/false, on/off, yes/no).</summary>
    public bool Flag(string name, string? value, bool fallback = false)
    {
        if (string.IsNullOrWhiteSpace(value)) return fallback;
        switch (value.Trim().ToLowerInvariant())
        {
            case "true" or "on" or "yes": return true;
            case "false" or "off" or "no": return false;
            default: throw Error("SPN1063", name, value, "is not true or false");
        }
    }

    private SpineProdException Error(string code, string name, string value, string what)
    {
        var (origin, line) = _where(name);
        return new SpineProdException(code, $"{name} '{value}' {what} (from {origin}).", _file, line, line > 0 ? 1 : 0);
    }

    public static bool TryParseDuration(string value, out TimeSpan duration)
    {
        duration = default;
        var m = DurationPattern().Match(value.Trim());
        if (!m.Success) return false;
        try
        {
            if (m.Groups["n"].Success)
            {
                double n = double.Parse(m.Groups["n"].Value, CultureInfo.InvariantCulture);
                duration = m.Groups["unit"].Value.ToLowerInvariant() switch
                {
                    "m" or "min" => TimeSpan.FromMinutes(n),
                    "h" => TimeSpan.FromHours(n),
                    "d" => TimeSpan.FromDays(n),
                    _ => TimeSpan.FromSeconds(n),
                };
            }
            else
            {
                int days = m.Groups["d"].Success ? int.Parse(m.Groups["d"].Value, CultureInfo.InvariantCulture) : 0;
                duration = new TimeSpan(days, int.Parse(m.Groups["h"].Value, CultureInfo.InvariantCulture),
                    int.Parse(m.Groups["mi"].Value, CultureInfo.InvariantCulture), int.Parse(m.Groups["s"].Value, CultureInfo.InvariantCulture));
            }
        }
        catch (Exception e) when (e is OverflowException or ArgumentException) { return false; }
        // Past a year is a typo, and would overflow the clock arithmetic.
        return duration <= TimeSpan.FromDays(366);
    }

    [GeneratedRegex(@"^(?:(?<n>\d+(?:\.\d+)?)\s*(?<unit>s|m|min|h|d)?|(?:(?<d>\d+)-)?(?<h>\d+):(?<mi>[0-5]?\d):(?<s>[0-5]?\d))$", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex DurationPattern();
}
