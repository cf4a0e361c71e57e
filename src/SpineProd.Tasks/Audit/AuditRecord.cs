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

    public int Format { get; set; } = CurrentFormat;
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
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    };

    public string ToJson() => JsonSerializer.Serialize(this, Json);

    public static AuditRecord? FromMessage(string? message)
    {
        if (message is null || !message.StartsWith(MessagePrefix, StringComparison.Ordinal)) return null;
        return JsonSerializer.Deserialize<AuditRecord>(message.AsSpan(MessagePrefix.Length), Json);
    }

    /// <summary>
    /// Logs the record where the binlog keeps it. Low importance: the binlog records every message,
    /// while the console (normal verbosity) stays readable; -v:diag shows it there too.
    /// </summary>
    public void Log(TaskLoggingHelper log) => log.LogMessage(MessageImportance.Low, "{0}", MessagePrefix + ToJson());
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
