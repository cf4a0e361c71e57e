using System.Globalization;
using System.Text;

namespace SpineProd.Scheduler;

/// <summary>
/// A SLURM array specification (<c>0-9</c>, <c>1,3,5-7</c>, <c>0-10:2</c>, each with an optional
/// <c>%throttle</c>): the indices it names and its throttle. Also the compact form SpineProd stores
/// task sets in (ledger, metadata), since a million task numbers are a few characters as ranges.
/// </summary>
public sealed class ArraySpec
{
    public ArraySpec(IEnumerable<int> indices, int? throttle = null)
    {
        Indices = indices.Distinct().OrderBy(i => i).ToArray();
        Throttle = throttle;
    }

    public IReadOnlyList<int> Indices { get; }
    public int? Throttle { get; }

    public static bool TryParse(string? text, out ArraySpec spec)
    {
        spec = new ArraySpec([]);
        if (string.IsNullOrWhiteSpace(text)) return false;
        text = text.Trim();
        int? throttle = null;
        int pct = text.IndexOf('%');
        if (pct >= 0)
        {
            if (!int.TryParse(text.AsSpan(pct + 1), NumberStyles.None, CultureInfo.InvariantCulture, out int t) || t < 1) return false;
            throttle = t;
            text = text[..pct];
        }
        var list = new List<int>();
        foreach (var part in text.Split(','))
        {
            var p = part;
            int step = 1;
            int colon = p.IndexOf(':');
            if (colon >= 0)
            {
                if (!int.TryParse(p.AsSpan(colon + 1), NumberStyles.None, CultureInfo.InvariantCulture, out step) || step < 1) return false;
                p = p[..colon];
            }
            int dash = p.IndexOf('-');
            if (dash < 0)
            {
                if (colon >= 0 || !int.TryParse(p, NumberStyles.None, CultureInfo.InvariantCulture, out int single)) return false;
                list.Add(single);
                continue;
            }
            if (!int.TryParse(p.AsSpan(0, dash), NumberStyles.None, CultureInfo.InvariantCulture, out int lo) ||
                !int.TryParse(p.AsSpan(dash + 1), NumberStyles.None, CultureInfo.InvariantCulture, out int hi) || hi < lo) return false;
            for (long i = lo; i <= hi; i += step) list.Add((int)i);
        }
        spec = new ArraySpec(list, throttle);
        return true;
    }

    public static ArraySpec Parse(string text) =>
        TryParse(text, out var s) ? s : throw new FormatException($"not an array specification: '{text}'");

    /// <summary>Indices as ranges (<c>0-4,7,9-10</c>), without the throttle.</summary>
    public static string FormatRanges(IEnumerable<int> indices)
    {
        var sorted = indices.Distinct().OrderBy(i => i).ToList();
        var sb = new StringBuilder();
        for (int i = 0; i < sorted.Count;)
        {
            int j = i;
            while (j + 1 < sorted.Count && sorted[j + 1] == sorted[j] + 1) j++;
            if (sb.Length > 0) sb.Append(',');
            sb.Append(sorted[i].ToString(CultureInfo.InvariantCulture));
            if (j > i) sb.Append('-').Append(sorted[j].ToString(CultureInfo.InvariantCulture));
            i = j + 1;
        }
        return sb.ToString();
    }

    public override string ToString() =>
        FormatRanges(Indices) + (Throttle is int t ? "%" + t.ToString(CultureInfo.InvariantCulture) : "");
}
