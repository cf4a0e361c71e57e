using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.Build.Framework;
using Microsoft.Build.Utilities;

namespace SpineProd.Audit;

/// <summary>
/// What a build that changed something on the cluster (Submit, resubmission, Cancel) did, logged as
/// one message <c>SpineProd audit: {json}</c> so the build's binlog carries it; -t:History reads it
/// back. Versioned: a binlog whose record has another <see cref="Format"/> is reported and skipped.
/// </summary>
public sealed class AuditRecord
{
    public const int CurrentFormat = 1;
    public const string MessagePrefix = "SpineProd audit: ";

    public const string Started = "started";

    public int Format { get; set; } = CurrentFormat;
    /// <summary>One id per build (task run): a "started" record and the final one of the same build pair up, and the journal and the binlog's copy.</summary>
    public string? BuildId { get; set; }
    /// <summary><see cref="Started"/> for a record written before the build touches the cluster (a Cancel); null for the final one.</summary>
    public string? Phase { get; set; }
    /// <summary>The ledger submissions this build added (Submit, Resubmit).</summary>
    public List<string> SubmissionIds { get; set; } = new();
    /// <summary>Submit, Resubmit or Cancel.</summary>
    public string Action { get; set; } = "";
    public DateTimeOffset Time { get; set; } = DateTimeOffset.UtcNow;
    public string User { get; set; } = Environment.UserName;
    public string Host { get; set; } = Environment.MachineName;
    public string Production { get; set; } = "";
    /// <summary>The production's state folder: where its binlogs are kept.</summary>
    public string StateDir { get; set; } = "";
    public string SdkVersion { get; set; } = Rendering.JobScriptRenderer.Version;
    public string? GitCommit { get; set; }
    public List<AuditStage> Stages { get; set; } = new();
    /// <summary>Every scheduler command run, with the job id it returned (none for scancel).</summary>
    public List<AuditCommand> Commands { get; set; } = new();
    public bool Succeeded { get; set; }
    public string? Error { get; set; }

    private static readonly JsonSerializerOptions Json = new()
    {
        RespectNullableAnnotations = true,
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    };

    public string ToJson() => JsonSerializer.Serialize(this, Json);

    public static AuditRecord? FromMessage(string? message)
    {
        if (message is null || !message.StartsWith(MessagePrefix, StringComparison.Ordinal)) return null;
        return FromJson(message[MessagePrefix.Length..]);
    }

    /// <summary>Throws JsonException for JSON that is not a record (also of the wrong shape).</summary>
    public static AuditRecord? FromJson(string json)
    {
        var r = JsonSerializer.Deserialize<AuditRecord>(json, Json);
        if (r is not null && (r.Stages.Any(s => s is null || s.JobIds is null) || r.Commands.Any(c => c is null || c.Argv is null) || r.SubmissionIds.Any(s => s is null)))
            throw new JsonException("a stage, command or id of the record is null");
        return r;
    }

    /// <summary>
    /// Logs the record where the binlog keeps it. Low importance: the binlog records every message,
    /// while the console (normal verbosity) stays readable; -v:diag shows it there too.
    /// </summary>
    public void Log(TaskLoggingHelper log) => log.LogMessage(MessageImportance.Low, "{0}", MessagePrefix + ToJson());

    /// <summary>
    /// Records it: appended to the production's audit journal (what History trusts) and logged into
    /// the build's binlog (the detail). A journal that cannot be written is a warning (SPN5003): the
    /// build has already changed the cluster, and the ledger still says what.
    /// </summary>
    public void Record(TaskLoggingHelper log)
    {
        try { AuditLog.Append(StateDir, this); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            log.LogWarning(null, "SPN5003", null, AuditLog.PathIn(StateDir), 0, 0, 0, 0, "The audit record could not be added to {0}: {1}", AuditLog.PathIn(StateDir), e.Message);
        }
        if (Phase is null) Log(log);
    }
}

public sealed class AuditStage
{
    public string Stage { get; set; } = "";
    /// <summary>The config as the production names it, and the path SPINE is given (-c).</summary>
    public string Config { get; set; } = "";
    public string? ConfigPath { get; set; }
    public string? ConfigSha256 { get; set; }
    public string Profile { get; set; } = "";
    public string? ResolvedProfile { get; set; }
    /// <summary>Where and what ran: the site, the SPINE version, its container image and a local SPINE checkout.</summary>
    public string? Site { get; set; }
    public string? SpineVersion { get; set; }
    public string? ContainerImage { get; set; }
    public string? SpinePath { get; set; }
    public int Arrays { get; set; }
    public int Tasks { get; set; }
    public List<string> JobIds { get; set; } = new();
}

public sealed class AuditCommand
{
    public List<string> Argv { get; set; } = new();
    public string? JobId { get; set; }
    public int ExitCode { get; set; }
}
