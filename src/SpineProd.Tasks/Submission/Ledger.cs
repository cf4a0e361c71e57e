using System.Text.Json;
using System.Text.Json.Serialization;
using SpineProd.Diagnostics;
using SpineProd.IO;

namespace SpineProd.Submission;

/// <summary>
/// Every submission of a production, in <c>&lt;state dir&gt;/submissions.json</c>: which arrays were
/// submitted, when, with which job id and which task indices. Rewritten atomically the moment each
/// job id is known (and just before each sbatch, as an intent), so a crash between two arrays
/// leaves a ledger that says exactly what was submitted, and what may have been.
/// </summary>
public sealed class Ledger
{
    public const string FileName = Layout.ProductionLayout.LedgerFileName;
    public int Format { get; set; } = 1;
    public string Production { get; set; } = "";
    /// <summary>The owner: the identity key and production file of the production that wrote it (absent in first-version ledgers).</summary>
    public string? Identity { get; set; }
    public string? ProductionFile { get; set; }
    public List<SubmissionRecord> Submissions { get; set; } = new();

    /// <summary>The production it was loaded for: stamped as the owner on every save.</summary>
    private ProductionIdentity? _owner;

    /// <summary>For files people read (metadata, status): indented, and paths and times not \u-escaped ('+', non-ASCII).</summary>
    public static readonly JsonSerializerOptions ReadableJson = new()
    {
        WriteIndented = true,
        Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    private static readonly JsonSerializerOptions Json = new()
    {
        WriteIndented = true,
        // "Submissions": null and the like are a damaged file (SPN3005), not an empty ledger.
        RespectNullableAnnotations = true,
        Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.KebabCaseLower) },
    };

    public static string PathIn(string stateDir) => new Layout.ProductionLayout(stateDir).Ledger;

    /// <summary>
    /// Reads the ledger. With <paramref name="owner"/>, refuses one another production wrote
    /// (SPN3021) and stamps the owner on every later save. A file that is not a ledger, including
    /// valid JSON of the wrong shape, is SPN3005 naming it.
    /// </summary>
    public static Ledger Load(string stateDir, string production, ProductionIdentity? owner = null)
    {
        var path = PathIn(stateDir);
        Ledger ledger;
        if (!File.Exists(path)) ledger = new Ledger { Production = production };
        else
        {
            try
            {
                ledger = JsonSerializer.Deserialize<Ledger>(File.ReadAllText(path), Json)
                    ?? throw new JsonException("the file holds null, not a ledger");
                ledger.CheckShape();
            }
            catch (JsonException e)
            {
                throw new SpineProdException("SPN3005",
                    $"the submission ledger is not a valid ledger ({e.Message}). It records which jobs this production submitted: restore it from a backup, or move it away if those jobs no longer matter.", path);
            }
            owner?.CheckOwner(ledger, path);
        }
        ledger._owner = owner;
        return ledger;
    }

    /// <summary>What the serializer lets through: null entries inside lists.</summary>
    private void CheckShape()
    {
        for (int i = 0; i < Submissions.Count; i++)
        {
            var s = Submissions[i] ?? throw new JsonException($"Submissions[{i}] is null");
            if (s.Stages.Any(st => st is null || st.Arrays is null || st.Arrays.Any(a => a is null || a.Argv is null || a.Argv.Any(w => w is null))))
                throw new JsonException($"Submissions[{i}] ({s.Id}) has a null stage, array or argument");
            if (s.Cleanups.Any(c => c is null || c.Argv is null || c.Argv.Any(w => w is null)))
                throw new JsonException($"Submissions[{i}] ({s.Id}) has a null cleanup entry or argument");
        }
    }

    public void Save(string stateDir)
    {
        if (_owner is not null)
        {
            Identity = _owner.Key;
            ProductionFile = _owner.ProductionFile;
        }
        AtomicFile.Write(PathIn(stateDir), JsonSerializer.Serialize(this, Json));
    }

    /// <summary>Every array entry of every submission, oldest first.</summary>
    public IEnumerable<(SubmissionRecord Submission, StageSubmission Stage, ArraySubmission Array)> AllArrays() =>
        from s in Submissions from st in s.Stages from a in st.Arrays select (s, st, a);
}

public sealed class SubmissionRecord
{
    /// <summary>Unique per production: the time stamp, with a suffix if two fall in one second.</summary>
    public string Id { get; set; } = "";
    public DateTimeOffset Time { get; set; }
    public string Scheduler { get; set; } = "slurm";
    public string PlanSha256 { get; set; } = "";
    public string Resubmit { get; set; } = "";
    public string User { get; set; } = "";
    public string Host { get; set; } = "";
    public List<StageSubmission> Stages { get; set; } = new();
    /// <summary>Cleanup jobs this submission sent (one per stage with Cleanup paths whose downstream stages it submitted).</summary>
    public List<CleanupSubmission> Cleanups { get; set; } = new();
    /// <summary>Why this Submit stopped before sending everything it meant to (Ctrl-C, its build process gone); null when it ran to the end.</summary>
    public string? Interrupted { get; set; }
}

public sealed class CleanupSubmission
{
    public string Stage { get; set; } = "";
    public string JobName { get; set; } = "";
    public string JobFolder { get; set; } = "";
    public string? JobId { get; set; }
    /// <summary>Its --comment (absent in first-version ledgers: <c>spineprod:&lt;name&gt;:&lt;stage&gt;:cleanup:&lt;submission&gt;</c>).</summary>
    public string? Comment { get; set; }
    public string Dependency { get; set; } = "";
    /// <summary>Submitting is the intent written before sbatch (null in older ledgers: then JobId says).</summary>
    public ArraySubmissionState? State { get; set; }
    public List<string> Argv { get; set; } = new();
    public string? Error { get; set; }
}

public sealed class StageSubmission
{
    public string Stage { get; set; } = "";
    public string JobFolder { get; set; } = "";
    public List<ArraySubmission> Arrays { get; set; } = new();
}

public enum ArraySubmissionState
{
    /// <summary>Written just before sbatch: if a Submit dies here, the next one looks the array up by its comment.</summary>
    Submitting,
    Submitted,
    /// <summary>sbatch failed for good (or the intent was found never to have reached the cluster).</summary>
    NotSubmitted,
}

public sealed class ArraySubmission
{
    /// <summary>Index of the array in the stage's plan (ArrayPlan.Index).</summary>
    public int Array { get; set; }
    public string JobName { get; set; } = "";
    public ArraySubmissionState State { get; set; }
    public string? JobId { get; set; }
    /// <summary>The --array value submitted (array indices, with throttle).</summary>
    public string ArraySpec { get; set; } = "";
    /// <summary>Stage-wide task indices it covers, as ranges.</summary>
    public string Tasks { get; set; } = "";
    /// <summary>Stage task index = FirstTask + array index.</summary>
    public int FirstTask { get; set; }
    public string Comment { get; set; } = "";
    public string? Dependency { get; set; }
    public string Script { get; set; } = "";
    /// <summary>The job folder's copy of the chunk list (full path): what this submission's tasks ran.</summary>
    public string ChunkFile { get; set; } = "";
    public List<string> Argv { get; set; } = new();
    public string? Error { get; set; }
}
