using System.Text.Json;
using System.Text.Json.Nodes;
using SpineProd.IO;
using SpineProd.Planning;

namespace SpineProd.Submission;

/// <summary>
/// <c>job_metadata.json</c> of one job folder: every key spine-prod wrote (in its order), then what
/// provenance needs. Rewritten atomically each time a job id becomes known.
/// </summary>
public static class JobMetadata
{
    public const string FileName = Layout.ProductionLayout.Job.Metadata;

    public static JsonObject Create(ProductionPlan plan, StagePlan stage, SubmissionRecord submission, SubmitContext context, int numFiles)
    {
        var r = stage.Resources;
        var dialect = Scheduler.Schedulers.Dialect(submission.Scheduler);
        var profileConfig = new JsonObject
        {
            ["partition"] = r.Partition,
            ["account"] = r.Account,
            ["qos"] = r.Qos,
            ["gpus"] = r.Gpus,
            ["cpus_per_task"] = r.CpusPerTask,
            // spine-prod's keys (spelled as the job's scheduler reads them), then the values themselves
            ["mem_per_cpu"] = r.MemPerCpuBytes is long m ? dialect.Memory(m) : null,
            ["time"] = r.Walltime is TimeSpan w ? dialect.Time(w) : null,
            ["mem_per_cpu_bytes"] = r.MemPerCpuBytes,
            ["walltime_seconds"] = r.Walltime is TimeSpan t ? (long)Math.Ceiling(t.TotalSeconds) : null,
            ["description"] = r.Description,
            ["constraint"] = r.Constraint,
            ["mem"] = r.MemPerNodeBytes is long node ? (node == 0 ? "0" : dialect.Memory(node)) : null,
            ["mem_bytes"] = r.MemPerNodeBytes,
            ["nodes"] = r.Nodes,
            ["system"] = r.System,
            ["place"] = r.Place,
            ["filesystems"] = r.Filesystems,
            ["site"] = stage.Site,
        };
        var rt = stage.Runtime;
        return new JsonObject
        {
            // spine-prod's keys, in its order
            ["spine_prod_version"] = context.SdkVersion,
            ["job_name"] = stage.JobName,
            ["detector"] = stage.Detector,
            ["config"] = stage.ConfigArgument,
            ["original_config"] = stage.Config,
            ["applied_modifiers"] = new JsonArray(stage.ApplyMods.Select(m => (JsonNode?)JsonValue.Create(m)).ToArray()),
            // spine-prod v0.8's container keys
            ["larcv_path"] = rt?.LarcvBaseDir,
            ["flashmatch_path"] = rt?.FlashmatchPath,
            ["spine_path"] = rt?.SpinePath,
            ["cvmfs"] = rt?.Cvmfs ?? false,
            ["profile"] = stage.Profile,
            ["profile_config"] = profileConfig,
            ["num_files"] = numFiles,
            ["num_chunks"] = 0,
            ["job_ids"] = new JsonArray(),
            ["output"] = stage.Output,
            // spine-prod v0.8's keys: --set, the output options, and (ours) the preloaded downloads.
            ["set_overrides"] = new JsonArray(stage.SpineSet.Select(e => (JsonNode?)JsonValue.Create(e)).ToArray()),
            ["output_layout"] = stage.OutputLayout,
            ["output_suffix"] = stage.OutputSuffix,
            ["inputs_from_config"] = stage.InputsFromConfig,
            ["downloads"] = new JsonArray(stage.Downloads.Select(d => (JsonNode?)new JsonObject { ["url"] = d.Url, ["sha256"] = d.Sha256, ["cached_file"] = d.CachedFile }).ToArray()),
            ["submitted"] = submission.Time.ToLocalTime().ToString("O"),
            ["command"] = context.Command,
            // provenance
            ["production"] = plan.ProductionName,
            ["production_file"] = plan.ProductionFile,
            ["production_identity"] = plan.Identity,
            ["stage"] = stage.Name,
            ["submission_id"] = submission.Id,
            ["scheduler"] = submission.Scheduler,
            ["resubmit"] = submission.Resubmit,
            ["resolved_profile"] = stage.ResolvedProfile,
            ["site"] = stage.Site,
            ["spine_version"] = rt?.SpineVersion,
            ["spine_command"] = rt is null ? null : new JsonArray(rt.SpineCommand.Select(m => (JsonNode?)JsonValue.Create(m)).ToArray()),
            ["container"] = rt?.Container,
            ["container_image"] = rt?.ImageOrNull,
            ["bind_paths"] = rt is null ? null : new JsonArray(rt.BindList.Select(m => (JsonNode?)JsonValue.Create(m)).ToArray()),
            ["modules"] = rt is null ? null : new JsonArray(rt.Modules.Select(m => (JsonNode?)JsonValue.Create(m)).ToArray()),
            ["config_sha256"] = stage.ConfigSha256,
            ["sdk_version"] = context.SdkVersion,
            ["git_commit"] = context.GitCommit,
            ["user"] = submission.User,
            ["host"] = submission.Host,
            ["max_array_size"] = plan.MaxArraySize,
            ["max_array_size_source"] = plan.MaxArraySizeSource,
            ["plan_sha256"] = plan.PlanSha256,
            ["output_dir"] = stage.OutputDir,
            ["state_dir"] = plan.StateDir,
            ["stage_num_files"] = stage.FileCount,
            ["stage_num_tasks"] = stage.TaskCount,
            ["depends_on"] = new JsonArray(stage.DependsOn.Select(m => (JsonNode?)JsonValue.Create(m)).ToArray()),
            ["arrays"] = new JsonArray(),
        };
    }

    /// <summary>The production file a job folder's metadata names; null when there is none or it cannot be read (never throws).</summary>
    public static string? ReadProductionFile(string jobFolder) => ReadString(jobFolder, "production_file");

    /// <summary>A string value of a job folder's metadata; null when absent, of another type, or unreadable (never throws: metadata is for people).</summary>
    public static string? ReadString(string jobFolder, string key)
    {
        if (string.IsNullOrEmpty(jobFolder)) return null;
        var path = Path.Combine(jobFolder, FileName);
        try
        {
            if (!File.Exists(path)) return null;
            return JsonNode.Parse(File.ReadAllText(path)) is JsonObject o && o[key] is JsonValue v && v.TryGetValue<string>(out var value) ? value : null;
        }
        catch (Exception e) when (e is JsonException or IOException or UnauthorizedAccessException or InvalidOperationException) { return null; }
    }

    /// <summary>Refreshes job_ids, num_chunks and arrays from the ledger entries, and writes the file atomically.</summary>
    public static void Write(string jobFolder, JsonObject metadata, StageSubmission stageSubmission, IReadOnlyDictionary<int, string> reasonsByArray)
    {
        metadata["job_ids"] = new JsonArray(stageSubmission.Arrays.Where(a => a.JobId is not null).Select(a => (JsonNode?)JsonValue.Create(a.JobId)).ToArray());
        metadata["num_chunks"] = stageSubmission.Arrays.Count;
        var arrays = new JsonArray();
        foreach (var a in stageSubmission.Arrays)
        {
            arrays.Add(new JsonObject
            {
                ["index"] = a.Array,
                ["job_name"] = a.JobName,
                ["job_id"] = a.JobId,
                ["state"] = JsonNamingPolicy.KebabCaseLower.ConvertName(a.State.ToString()),
                ["array_spec"] = a.ArraySpec,
                ["tasks"] = a.Tasks,
                ["first_task"] = a.FirstTask,
                ["script"] = a.Script,
                ["chunk_file"] = a.ChunkFile,
                ["dependency"] = a.Dependency,
                ["comment"] = a.Comment,
                ["submit_argv"] = new JsonArray(a.Argv.Select(x => (JsonNode?)JsonValue.Create(x)).ToArray()),
                ["why"] = reasonsByArray.TryGetValue(a.Array, out var why) ? why : null,
                ["error"] = a.Error,
            });
        }
        metadata["arrays"] = arrays;
        AtomicFile.Write(Path.Combine(jobFolder, FileName), metadata.ToJsonString(Ledger.ReadableJson));
    }
}
