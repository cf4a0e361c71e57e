using System.Text.Json;
using System.Text.Json.Serialization;
using SpineProd.IO;

namespace SpineProd.Planning;

/// <summary>
/// What Build computes and Preview/Submit/Status read: the production's stages, each cut into
/// arrays of tasks. Written as <c>plan.json</c> in the production's intermediate folder, next to the
/// chunk lists and scripts it names (paths in the plan are relative to that folder unless noted).
/// Inputs are never stored here (a million of them would not belong in one JSON file): task N of a
/// stage is line N % ArraySize of its array's chunk list.
/// </summary>
public sealed class ProductionPlan
{
    public const int FormatVersion = 3; // 2: resources as values (Walltime, MemPerCpuBytes); 3: MemPerNodeBytes
    public int Format { get; set; } = FormatVersion;
    /// <summary>Full path of the .spineproj.</summary>
    public string ProductionFile { get; set; } = "";
    /// <summary>The .spineproj file name without extension; names the production's state folder.</summary>
    public string ProductionName { get; set; } = "";
    /// <summary>sha256 over every stage's ordered input list and settings: identifies this plan.</summary>
    public string PlanSha256 { get; set; } = "";
    /// <summary>MaxArraySize used, and where it came from (property, cluster, profiles).</summary>
    public int MaxArraySize { get; set; }
    public string MaxArraySizeSource { get; set; } = "";
    /// <summary>Full path of the folder Submit creates job folders in (JobsDir).</summary>
    public string JobsDir { get; set; } = "";
    /// <summary>Full path of the production's state folder (markers, ledger, default output).</summary>
    public string StateDir { get; set; } = "";
    /// <summary>The production's identity key (<c>name-hash</c>, see ProductionIdentity); empty in plans made by hand.</summary>
    public string Identity { get; set; } = "";
    /// <summary>The path the identity hashes: the production file relative to its repository root.</summary>
    public string IdentityPath { get; set; } = "";
    /// <summary>The state folder was named by the user or is a first-version folder proved ours: a ledger without owner is accepted.</summary>
    public bool StateDirAcceptsUnownedLedger { get; set; }

    /// <summary>Who owns this plan's state (null for plans made by hand, which check no owner).</summary>
    [JsonIgnore]
    public Submission.ProductionIdentity? Owner => Identity.Length == 0 ? null
        : new Submission.ProductionIdentity(ProductionName, Identity, ProductionFile, IdentityPath) { AcceptsUnownedLedger = StateDirAcceptsUnownedLedger };
    public string Scheduler { get; set; } = "slurm";
    /// <summary>The first line of the record a job writes into an output folder it creates (<see cref="OwnedFolder"/>).</summary>
    public string OutputOwner { get; set; } = "";
    public List<StagePlan> Stages { get; set; } = new();

    private static readonly JsonSerializerOptions Json = new()
    {
        WriteIndented = true,
        RespectNullableAnnotations = true,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    };

    public string ToJson() => JsonSerializer.Serialize(this, Json);
    /// <summary>Throws JsonException for a file that is not a plan (also valid JSON of the wrong shape).</summary>
    public static ProductionPlan FromJson(string json)
    {
        var plan = JsonSerializer.Deserialize<ProductionPlan>(json, Json) ?? throw new JsonException("the file holds null, not a plan");
        if (plan.Stages.Any(s => s is null || s.Arrays is null || s.Arrays.Any(a => a is null)))
            throw new JsonException("a stage or array of the plan is null");
        return plan;
    }
    public static ProductionPlan Load(string path) => FromJson(File.ReadAllText(path));
    public bool Save(string path) => AtomicFile.WriteIfChanged(path, ToJson());
}

public sealed class StagePlan
{
    public string Name { get; set; } = "";
    /// <summary>Base SLURM job name; arrays are named <c>JobName</c> or <c>JobName_N</c> when there are several.</summary>
    public string JobName { get; set; } = "";
    public string Detector { get; set; } = "";
    /// <summary>The config as the user named it (for people).</summary>
    public string Config { get; set; } = "";
    /// <summary>Config files this stage's job folder carries (relative to the stage's plan folder), e.g. a composite.</summary>
    public List<string> ConfigFiles { get; set; } = new();
    /// <summary>The path SPINE is given with -c, as the job script sees it (relative to the job folder or absolute).</summary>
    public string ConfigArgument { get; set; } = "";
    public string? ConfigSha256 { get; set; }
    public List<string> ApplyMods { get; set; } = new();
    /// <summary>Profile as requested (e.g. "auto") and as resolved.</summary>
    public string Profile { get; set; } = "";
    public string ResolvedProfile { get; set; } = "";
    public Resources Resources { get; set; } = new();
    /// <summary>The site the stage runs at (Site property); how its job starts SPINE there is <see cref="Runtime"/>.</summary>
    public string Site { get; set; } = Sites.SiteDefinition.DefaultSite;
    /// <summary>A user dependency (e.g. afterok:123) added to every array of the stage.</summary>
    public string? Dependency { get; set; }
    public List<string> DependsOn { get; set; } = new();
    /// <summary>Stages whose planned outputs this stage reads.</summary>
    public List<string> InputsFrom { get; set; } = new();
    /// <summary>The stage's cleanup job, when it has Cleanup paths and stages downstream of it.</summary>
    public CleanupPlan? Cleanup { get; set; }
    /// <summary>Full path of the stage's output folder (stable across resubmissions).</summary>
    public string OutputDir { get; set; } = "";
    /// <summary>The -o argument given to SPINE (full path).</summary>
    public string Output { get; set; } = "";
    /// <summary>SPINE's --set entries (SpineSet), in order; already applied to the stage's resolved config.</summary>
    public List<string> SpineSet { get; set; } = new();
    /// <summary>How SPINE is told where to write: file (-o Output), folder or task (--output-dir/--output-suffix; see SpineArgumentSettings).</summary>
    public string OutputLayout { get; set; } = "file";
    public string? OutputSuffix { get; set; }
    /// <summary>The stage has no Source/SourceList: its config names the inputs; one task, SPINE gets no -S and no output options.</summary>
    public bool InputsFromConfig { get; set; }
    /// <summary>The config's !download files and where Submit preloads them (empty when Preload is off).</summary>
    public List<DownloadPlan> Downloads { get; set; } = new();
    /// <summary>How the job runs SPINE (site, SPINE version, container, image, binds; recorded in job_metadata.json and History) and the template it was rendered from: what -t:RunTask renders one task with.</summary>
    public Rendering.JobRuntime? Runtime { get; set; }
    public string? Template { get; set; }
    public int FileCount { get; set; }
    public int TaskCount { get; set; }
    public int FilesPerTask { get; set; } = 1;
    public int? MaxRunningTasks { get; set; }
    /// <summary>Array size used to cut tasks (task N is in array N / ArraySize, line N % ArraySize).</summary>
    public int ArraySize { get; set; }
    public List<ArrayPlan> Arrays { get; set; } = new();
}

public sealed class ArrayPlan
{
    /// <summary>0-based index of the array within its stage.</summary>
    public int Index { get; set; }
    public string JobName { get; set; } = "";
    /// <summary>Stage-wide index of this array's first task.</summary>
    public int FirstTask { get; set; }
    public int TaskCount { get; set; }
    public int FileCount { get; set; }
    /// <summary>The --array value, e.g. "0-999%50".</summary>
    public string ArraySpec { get; set; } = "";
    /// <summary>
    /// Relative to the stage's plan folder <c>&lt;intermediate dir&gt;/&lt;stage&gt;/</c>, which Submit copies
    /// into the stage's job folder, where the script runs (sbatch --chdir).
    /// </summary>
    public string Script { get; set; } = "";
    /// <summary>One line per array index: that task's inputs joined with ','.</summary>
    public string ChunkFile { get; set; } = "";
    /// <summary>One line per array index: that task's stage-wide task index.</summary>
    public string TasksFile { get; set; } = "";
}

/// <summary>
/// A job that removes a stage's intermediate output folder once every stage downstream of it
/// succeeded (afterok on all their arrays). The build checked that each path is the stage's own
/// output folder, shared with no other stage, holding no bookkeeping, and created by this production;
/// the script checks it all again, on real paths, where it deletes.
/// </summary>
public sealed class CleanupPlan
{
    public string JobName { get; set; } = "";
    /// <summary>Relative to the stage's plan folder, like the array scripts.</summary>
    public string Script { get; set; } = "";
    /// <summary>Full paths to remove (the stage's output folder).</summary>
    public List<string> Paths { get; set; } = new();
    /// <summary>Folders the cleanup must neither remove nor remove a folder holding (the production's own, other stages' outputs).</summary>
    public List<string> Protected { get; set; } = new();
    /// <summary>Bookkeeping folders (markers, binlogs, the plan): nothing inside them is removed.</summary>
    public List<string> Bookkeeping { get; set; } = new();
    /// <summary>Stages (transitively downstream) whose arrays the cleanup waits on.</summary>
    public List<string> AfterStages { get; set; } = new();
    public string? Account { get; set; }
    public string? Partition { get; set; }
    // the cleanup profile's, for sites that need them (Perlmutter's QOS and constraint, Polaris's system and filesystems)
    public string? Qos { get; set; }
    public string? Constraint { get; set; }
    public string? System { get; set; }
    public string? Filesystems { get; set; }
}

/// <summary>
/// What one task of a stage asks for, as values: each scheduler's dialect spells them in its own
/// directives (SLURM <c>--time=4:00:00 --mem-per-cpu=8G</c>, PBS <c>walltime=04:00:00</c>, <c>mem=…</c>).
/// </summary>
public sealed class Resources
{
    public string? Account { get; set; }
    /// <summary>SLURM partition, PBS queue.</summary>
    public string? Partition { get; set; }
    public string? Qos { get; set; }
    public int Gpus { get; set; }
    public int CpusPerTask { get; set; } = 1;
    /// <summary>Memory of one CPU, in bytes (a task has <see cref="CpusPerTask"/> times this).</summary>
    public long? MemPerCpuBytes { get; set; }
    /// <summary>A task's time limit.</summary>
    public TimeSpan? Walltime { get; set; }
    public string? Description { get; set; }
    /// <summary>SLURM --constraint (Perlmutter: gpu, cpu, gpu&amp;hbm80g).</summary>
    public string? Constraint { get; set; }
    /// <summary>Memory of the whole task in bytes (MemPerNode: SLURM --mem; 0 = all of the node's); when set, MemPerCpu is not used.</summary>
    public long? MemPerNodeBytes { get; set; }
    /// <summary>Nodes of a task (SLURM --nodes, PBS select); null leaves it to the scheduler (one).</summary>
    public int? Nodes { get; set; }
    /// <summary>The site asks for GPUs per node (Perlmutter: --gpus-per-node) rather than per job (--gpus).</summary>
    public bool GpusPerNode { get; set; }
    /// <summary>PBS: select's system=, -l place=, -l filesystems= (Polaris).</summary>
    public string? System { get; set; }
    public string? Place { get; set; }
    public string? Filesystems { get; set; }
}

/// <summary>One <c>!download</c> of a stage's config: the URL, its sha256 if the config gives one, and the cached file.</summary>
public sealed class DownloadPlan
{
    public string Url { get; set; } = "";
    public string? Sha256 { get; set; }
    /// <summary>Full path in the download cache, named as SPINE names it (so SPINE_CACHE_DIR finds it).</summary>
    public string CachedFile { get; set; } = "";
    /// <summary>The config key that names it, for messages.</summary>
    public string Key { get; set; } = "";
}
