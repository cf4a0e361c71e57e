using Microsoft.Build.Framework;
using SpineProd.Audit;
using SpineProd.Diagnostics;
using SpineProd.Submission;

namespace SpineProd.Tasks;

/// <summary>
/// Files the staged binlogs (keeps those of builds that changed something on the cluster, in their
/// production's binlogs/ folder), then, for -t:History, prints the production's audit trail.
/// </summary>
public sealed class ReadHistory : SpineProdTask
{
    [Required] public string ProjectFile { get; set; } = "";
    [Required] public string StagingDir { get; set; } = "";
    [Required] public string StateDir { get; set; } = "";
    /// <summary>From the identity properties: whose ledger History may read.</summary>
    public string? Identity { get; set; }
    public string? IdentityPath { get; set; }
    public bool StateDirAcceptsUnownedLedger { get; set; }
    /// <summary>false: only file the staged binlogs (run before Submit, Cancel and Status).</summary>
    public bool Print { get; set; } = true;
    /// <summary>table (default) or json.</summary>
    public string? Format { get; set; }
    /// <summary>The history as printed (table or JSON), for -getProperty:SpineProdHistory, which prints only it (pipe it to jq).</summary>
    [Output] public string Text { get; private set; } = "";

    public override bool Execute() => Log.Run(ProjectFile, () =>
    {
        if (Format is { Length: > 0 } f && f is not ("table" or "json"))
            throw new SpineProdException("SPN5001", $"HistoryFormat must be table or json, not '{f}'.", ProjectFile);
        var filed = BinlogArchive.File(StagingDir);
        foreach (var (file, problem) in filed.Damaged)
            Log.LogWarning(null, "SPN5002", null, file, 0, 0, 0, 0, "Binlog skipped and moved to damaged/: {0}.", problem);
        if (filed.Filed.Count + filed.Deleted > 0)
            Log.LogMessage(MessageImportance.Normal, "SpineProd: filed {0} audit binlog(s), removed {1} of builds that changed nothing on the cluster.", filed.Filed.Count, filed.Deleted);
        if (!Print) return;

        string production = Path.GetFileNameWithoutExtension(ProjectFile);
        var owner = string.IsNullOrEmpty(Identity) ? null
            : new ProductionIdentity(production, Identity, Path.GetFullPath(ProjectFile), IdentityPath ?? "") { AcceptsUnownedLedger = StateDirAcceptsUnownedLedger };
        var (rows, skipped) = AuditTrail.Read(StateDir, Ledger.Load(StateDir, production, owner));
        foreach (var (file, problem) in skipped)
            if (file.EndsWith(".binlog", StringComparison.Ordinal)) Log.LogWarning(null, "SPN5002", null, file, 0, 0, 0, 0, "Binlog skipped: {0}.", problem);
            else Log.LogWarning(null, "SPN5004", null, file, 0, 0, 0, 0, "Audit record skipped: {0}.", problem);
        Text = Format == "json" ? HistoryPrinter.Json(rows) : HistoryPrinter.Table(production, rows);
        Report(Text);
    });
}
