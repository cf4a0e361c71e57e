using System.Text;
using System.Text.Json;

namespace SpineProd.Audit;

/// <summary>
/// The production's audit journal, <c>&lt;state dir&gt;/audit.jsonl</c>: one <see cref="AuditRecord"/> a
/// line, appended (one write, forced to disk) as each build that changes the cluster records it. A
/// binlog is only complete once its build ends, and a build killed part way leaves a truncated one;
/// the journal and the ledger are what History trusts. A line a kill cut short is reported and skipped.
/// </summary>
public static class AuditLog
{
    public const string FileName = Layout.ProductionLayout.AuditJournalFileName;

    public static string PathIn(string stateDir) => new Layout.ProductionLayout(stateDir).AuditJournal;

    public static void Append(string stateDir, AuditRecord record)
    {
        Directory.CreateDirectory(stateDir);
        var bytes = Encoding.UTF8.GetBytes(record.ToJson() + "\n");
        // O_APPEND: concurrent writers never overwrite each other; one write call keeps the line whole.
        using var fs = new FileStream(PathIn(stateDir), FileMode.Append, FileAccess.Write, FileShare.ReadWrite, 1);
        fs.Write(bytes);
        fs.Flush(flushToDisk: true);
    }

    /// <summary>Every record, in the order written; lines that are not records are reported.</summary>
    public static (List<AuditRecord> Records, List<(string File, string Problem)> Skipped) Read(string stateDir)
    {
        var records = new List<AuditRecord>();
        var skipped = new List<(string, string)>();
        var path = PathIn(stateDir);
        if (!File.Exists(path)) return (records, skipped);
        int n = 0;
        foreach (var line in File.ReadLines(path))
        {
            n++;
            if (line.Trim().Length == 0) continue;
            try
            {
                var record = AuditRecord.FromJson(line) ?? throw new JsonException("null");
                if (record.Format != AuditRecord.CurrentFormat)
                    skipped.Add(($"{path}({n})", $"written by another SpineProd version (audit format {record.Format}, this one reads {AuditRecord.CurrentFormat})"));
                else records.Add(record);
            }
            catch (JsonException e)
            {
                skipped.Add(($"{path}({n})", $"line {n} is not an audit record (cut short by a kill, or damaged: {e.Message})"));
            }
        }
        return (records, skipped);
    }
}
