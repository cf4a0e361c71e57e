using System.Text.Json.Nodes;
using SpineProd.Diagnostics;
using SpineProd.Scheduler;

namespace SpineProd.Submission;

/// <summary>
/// Before a Submit decides anything, the scheduler is asked (one call) for the live jobs carrying
/// this production's comment. Those the ledger does not know (it was deleted, or restored from an
/// older backup, while they ran) are put back into it from their job folder's job_metadata.json,
/// which records the same entry as the ledger did. Their tasks then count as pending or running,
/// so they are not submitted a second time, and Status and Cancel see them again.
/// </summary>
public static class LiveJobs
{
    public static void Recover(Ledger ledger, string stateDir, string production, string commentPrefix, IScheduler scheduler, Action<string> log)
    {
        var live = scheduler.ListLiveJobs(commentPrefix);
        if (live is null)
            throw new SpineProdException("SPN3009",
                $"the scheduler did not answer when asked for the running jobs of {production} (so that none is submitted twice); run again when it answers",
                Ledger.PathIn(stateDir));
        var known = ledger.AllArrays().Select(x => x.Array.JobId)
            .Concat(ledger.Submissions.SelectMany(s => s.Cleanups).Select(c => c.JobId))
            .OfType<string>().ToHashSet();
        var unexplained = new List<LiveJob>();
        bool changed = false;
        foreach (var job in live.Where(j => !known.Contains(j.JobId)))
        {
            var recovered = TryRecover(ledger, stateDir, job);
            if (recovered is null) { unexplained.Add(job); continue; }
            if (recovered.Length == 0) continue;   // another production's job of the same name: not ours
            log($"job {job.JobId} ({job.JobName}) of {production} is {recovered} but was missing from the ledger (deleted or restored from a backup?): recorded again from {job.WorkDir}");
            changed = true;
        }
        if (changed)
        {
            // oldest first, as the ledger is read (the latest submission covering a task speaks for it)
            ledger.Submissions = ledger.Submissions.OrderBy(s => s.Time).ToList();
            ledger.Save(stateDir);
        }
        if (unexplained.Count > 0)
            throw new SpineProdException("SPN3033",
                $"{unexplained.Count} pending or running job(s) carry this production's comment but neither the ledger nor their job folder says which tasks they run " +
                $"(jobs {string.Join(", ", unexplained.Select(j => j.JobId).Take(10))}); submitting now could run those tasks twice. Wait for them or cancel them with the scheduler, then Submit again.",
                Ledger.PathIn(stateDir));
    }

    /// <summary>
    /// Puts the job back into the ledger from its job folder's metadata: returns what it runs, ""
    /// when the folder belongs to another production's state folder, null when it cannot say.
    /// </summary>
    private static string? TryRecover(Ledger ledger, string stateDir, LiveJob job)
    {
        // spineprod:<production>:<stage>:<array index or "cleanup">:<submission id>
        var parts = job.Comment.Split(':');
        if (parts.Length < 5) return null;
        var (stage, which, submissionId) = (parts[^3], parts[^2], parts[^1]);
        var metaFile = Path.Combine(job.WorkDir, JobMetadata.FileName);
        JsonObject? meta = null;
        try { meta = File.Exists(metaFile) ? JsonNode.Parse(File.ReadAllText(metaFile)) as JsonObject : null; }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or System.Text.Json.JsonException) { }

        if (meta is null) return null;
        if (meta["state_dir"]?.GetValue<string>() is not string owner) return null;
        if (!SameFolder(owner, stateDir)) return "";
        if (which == "cleanup")
        {
            var sub = SubmissionFor(ledger, submissionId, meta);
            sub.Cleanups.Add(new CleanupSubmission
            {
                Stage = stage, JobName = job.JobName, JobFolder = job.WorkDir, JobId = job.JobId, Comment = job.Comment,
                State = ArraySubmissionState.Submitted, Dependency = (string?)meta["dependency"] ?? "",
            });
            return $"the cleanup job of stage {stage}";
        }
        var entry = (meta["arrays"] as JsonArray)?.OfType<JsonObject>().FirstOrDefault(a => (string?)a["comment"] == job.Comment);
        if (entry is null) return null;
        var submission = SubmissionFor(ledger, submissionId, meta);
        var stageSub = submission.Stages.FirstOrDefault(s => s.Stage == stage && s.JobFolder == job.WorkDir);
        if (stageSub is null) submission.Stages.Add(stageSub = new StageSubmission { Stage = stage, JobFolder = job.WorkDir });
        stageSub.Arrays.RemoveAll(a => a.Comment == job.Comment);
        var array = new ArraySubmission
        {
            Array = (int?)entry["index"] ?? 0,
            JobName = (string?)entry["job_name"] ?? job.JobName,
            State = ArraySubmissionState.Submitted,
            JobId = job.JobId,
            ArraySpec = (string?)entry["array_spec"] ?? "",
            Tasks = (string?)entry["tasks"] ?? "",
            FirstTask = (int?)entry["first_task"] ?? 0,
            Comment = job.Comment,
            Dependency = (string?)entry["dependency"],
            Script = (string?)entry["script"] ?? "",
            ChunkFile = (string?)entry["chunk_file"] ?? "",
            Argv = ((entry["submit_argv"] ?? entry["sbatch_argv"]) as JsonArray)?.Select(x => (string?)x ?? "").ToList() ?? new(),
        };
        stageSub.Arrays.Add(array);
        return $"running tasks {array.Tasks} of stage {stage}";
    }

    private static SubmissionRecord SubmissionFor(Ledger ledger, string id, JsonObject? meta)
    {
        var sub = ledger.Submissions.FirstOrDefault(s => s.Id == id);
        if (sub is not null) return sub;
        sub = new SubmissionRecord
        {
            Id = id,
            Time = DateTimeOffset.TryParse((string?)meta?["submitted"], out var t) ? t : DateTimeOffset.UtcNow,
            Scheduler = (string?)meta?["scheduler"] ?? "slurm",
            PlanSha256 = (string?)meta?["plan_sha256"] ?? "",
            Resubmit = (string?)meta?["resubmit"] ?? "",
            User = (string?)meta?["user"] ?? "",
            Host = (string?)meta?["host"] ?? "",
        };
        ledger.Submissions.Add(sub);
        return sub;
    }

    private static bool SameFolder(string a, string b) =>
        string.Equals(Path.TrimEndingDirectorySeparator(Path.GetFullPath(a)), Path.TrimEndingDirectorySeparator(Path.GetFullPath(b)), StringComparison.Ordinal);
}
