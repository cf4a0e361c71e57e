using System.Text;
using System.Text.Json;

namespace SpineProd.Audit;

/// <summary>-t:History output: a table for people, or JSON (-p:HistoryFormat=json) for scripts.</summary>
public static class HistoryPrinter
{
    public static string Table(string production, IReadOnlyList<HistoryRow> rows)
    {
        var sb = new StringBuilder();
        sb.AppendLine($"History of {production}: {rows.Count} build(s) that changed something on the cluster, newest first");
        if (rows.Count == 0) return sb.ToString();
        var table = rows.Select(r =>
        {
            var rec = r.Record;
            return new[]
            {
                rec.Time.ToLocalTime().ToString("yyyy-MM-dd HH:mm:ss"),
                $"{rec.User}@{rec.Host}",
                rec.Action,
                string.Join(", ", rec.Stages.Select(s => $"{s.Config}{(s.ConfigSha256 is { Length: >= 12 } h ? $" ({h[..12]})" : "")}").Distinct()),
                string.Join(", ", rec.Stages.Select(Where).Distinct()),
                rec.Stages.Sum(s => s.Arrays).ToString(),
                rec.Stages.Sum(s => s.Tasks).ToString(),
                Ids(rec.Stages.SelectMany(s => s.JobIds).ToList()),
                rec.Succeeded ? "ok" : "FAILED" + (rec.Error is null ? "" : ": " + rec.Error),
            };
        }).ToList();
        string[] header = ["date", "user@host", "action", "config (sha256)", "profile", "arrays", "tasks", "job ids", "result"];
        var widths = header.Select((h, i) => Math.Min(60, Math.Max(h.Length, table.Max(row => row[i].Length)))).ToArray();
        sb.AppendLine(string.Join("  ", header.Select((h, i) => h.PadRight(widths[i]))).TrimEnd());
        sb.AppendLine(string.Join("  ", widths.Select(w => new string('-', w))));
        foreach (var row in table)
            sb.AppendLine(string.Join("  ", row.Select((c, i) => (c.Length > widths[i] ? c[..(widths[i] - 1)] + "…" : c).PadRight(widths[i]))).TrimEnd());
        return sb.ToString();
    }

    /// <summary>"s3df_ampere @ s3df, SPINE 0.17.1": the profile, where it ran and which SPINE.</summary>
    private static string Where(AuditStage s) =>
        (s.ResolvedProfile ?? s.Profile) + (s.Site is null ? "" : $" @ {s.Site}") + (s.SpineVersion is { Length: > 0 } v ? $", SPINE {v}" : "")
            + (s.SpinePath is null ? "" : $" ({s.SpinePath})");

    public static string Json(IReadOnlyList<HistoryRow> rows) =>
        "[" + string.Join(",", rows.Select(r => r.Record.ToJson().TrimEnd('}') + $",\"binlog\":{(r.Binlog is null ? "null" : JsonSerializer.Serialize(r.Binlog))}}}")) + "]";

    private static string Ids(List<string> ids) => ids.Count <= 4 ? string.Join(",", ids) : $"{string.Join(",", ids.Take(3))},… ({ids.Count})";
}
