using System.Globalization;
using System.Text.Json;

namespace SpineProd.Scheduler.Pbs;

/// <summary>One entry of <c>qstat -f -F json</c>: a plain job, an array parent (<c>N[]</c>) or a subjob (<c>N[i]</c>).</summary>
public sealed record PbsJobStatus(
    string Id,
    string State,
    int? Substate,
    int? ExitStatus,
    bool IsArrayParent,
    string? ArrayId,
    int? ArrayIndex,
    string? ExecHost,
    int? RunCount,
    string? Comment,
    string? JobName,
    string? Key,
    string? ArrayIndicesSubmitted,
    string? HoldTypes)
{
    /// <summary>What it used and asked for (<see cref="PbsUsage"/>).</summary>
    public TaskUsage? Usage { get; init; }

    /// <summary>It started at least once: only then is its Exit_status its own.</summary>
    public bool Ran => ExecHost is { Length: > 0 } || RunCount is > 0;

    /// <summary>
    /// Parses <c>qstat -f -F json</c>. Numbers come as JSON numbers, booleans as "True"/"False"
    /// strings, Variable_List as an object. An unknown id leaves the header without "Jobs".
    /// </summary>
    public static List<PbsJobStatus> ParseJson(string json)
    {
        var list = new List<PbsJobStatus>();
        if (string.IsNullOrWhiteSpace(json)) return list;
        using var doc = JsonDocument.Parse(json, new JsonDocumentOptions { AllowTrailingCommas = true });
        if (!doc.RootElement.TryGetProperty("Jobs", out var jobs) || jobs.ValueKind != JsonValueKind.Object) return list;
        foreach (var job in jobs.EnumerateObject())
        {
            var j = job.Value;
            string? key = null;
            if (j.TryGetProperty("Variable_List", out var vars) && vars.ValueKind == JsonValueKind.Object &&
                vars.TryGetProperty(PbsDialect.KeyVariable, out var k))
                key = Text(k);
            int? index = Int(j, "array_index");
            string? arrayId = Str(j, "array_id");
            // a subjob that never ran may lack array_id/array_index (it copies its parent): its id says both
            if ((index is null || arrayId is null) && PbsDialect.SplitSubjobId(job.Name) is var (parent, i))
            {
                arrayId ??= parent;
                index ??= i;
            }
            list.Add(new PbsJobStatus(
                job.Name,
                Str(j, "job_state") ?? "",
                Int(j, "substate"),
                Int(j, "Exit_status"),
                job.Name.Contains("[]", StringComparison.Ordinal),
                arrayId,
                index,
                Str(j, "exec_host"),
                Int(j, "run_count"),
                Str(j, "comment"),
                Str(j, "Job_Name"),
                key,
                Str(j, "array_indices_submitted"),
                Str(j, "Hold_Types")) { Usage = PbsUsage.From(j) });
        }
        return list;
    }

    private static string? Str(JsonElement e, string name) => e.TryGetProperty(name, out var v) ? Text(v) : null;

    private static string? Text(JsonElement v) => v.ValueKind switch
    {
        JsonValueKind.String => v.GetString(),
        JsonValueKind.Number or JsonValueKind.True or JsonValueKind.False => v.GetRawText(),
        _ => null,
    };

    private static int? Int(JsonElement e, string name)
    {
        if (!e.TryGetProperty(name, out var v)) return null;
        if (v.ValueKind == JsonValueKind.Number && v.TryGetInt32(out int n)) return n;
        return v.ValueKind == JsonValueKind.String && int.TryParse(v.GetString(), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out n) ? n : null;
    }
}
