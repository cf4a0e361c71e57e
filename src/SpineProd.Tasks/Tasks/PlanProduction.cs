using System.Collections;
using Microsoft.Build.Framework;
using SpineProd.Diagnostics;
using SpineProd.Scheduler;
using SpineProd.Planning;

namespace SpineProd.Tasks;

/// <summary>
/// Build: validates the production and writes its plan (chunk lists, job scripts, plan.json) into
/// the intermediate folder. A thin adapter over <see cref="Planner"/>.
/// </summary>
public sealed class PlanProduction : SpineProdTask
{
    [Required] public string ProjectFile { get; set; } = "";
    /// <summary>One item whose metadata are the production's settings (SpineProd.Settings.targets, from Options/SettingsCatalogue.cs).</summary>
    [Required] public ITaskItem[] Settings { get; set; } = [];
    public ITaskItem[] Sources { get; set; } = [];
    public ITaskItem[] SourceLists { get; set; } = [];
    public ITaskItem[] Stages { get; set; } = [];
    public string? PipelineFile { get; set; }
    public string? MaxArraySize { get; set; }
    public string? MaxArraySizeSource { get; set; }
    public string Scheduler { get; set; } = "slurm";
    /// <summary>$(SpineProdSchedulers): the schedulers whose targets file is imported (each adds itself).</summary>
    public string? KnownSchedulers { get; set; }
    [Required] public string RepoRoot { get; set; } = "";
    [Required] public string JobsDir { get; set; } = "";
    [Required] public string StateDir { get; set; } = "";
    /// <summary>From ResolveProductionState: the identity key, the path it hashes, and whether the state folder accepts an unowned ledger.</summary>
    public string? Identity { get; set; }
    public string? IdentityPath { get; set; }
    public bool StateDirAcceptsUnownedLedger { get; set; }
    [Required] public string IntermediateDir { get; set; } = "";
    [Required] public string DependenciesFile { get; set; } = "";

    /// <summary>An item's custom metadata (the engine's dictionary type differs in and out of proc).</summary>
    internal static Dictionary<string, string> Metadata(ITaskItem item)
    {
        var result = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        var custom = item.CloneCustomMetadata();
        foreach (string key in custom.Keys) result[key] = item.GetMetadata(key);
        return result;
    }

    public override bool Execute() => Log.Run(ProjectFile, () =>
    {
        var xml = ProductionFile.Load(ProjectFile);
        foreach (var d in xml.FindTypos()) Log.LogSpn(d, ProjectFile);
        if (Log.HasLoggedErrors) return;

        var settings = Metadata(Settings[0]);
        var globals = BuildEngine is IBuildEngine6 e6
            ? new HashSet<string>(e6.GetGlobalProperties().Keys, StringComparer.OrdinalIgnoreCase)
            : new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        // A scheduler is usable with its client (a line in Schedulers) and its targets file (its templates).
        var known = string.IsNullOrWhiteSpace(KnownSchedulers) ? Schedulers.Names
            : KnownSchedulers.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(n => n.ToLowerInvariant()).Intersect(Schedulers.Names).ToList();
        if (!known.Contains(Scheduler.Trim().ToLowerInvariant()))
            throw new SpineProdException("SPN1030", $"Scheduler must be one of {string.Join(", ", known)}, not '{Scheduler}'.", ProjectFile, xml.PropertyLine("Scheduler"), 0);
        int? maxArray = null;
        if (!string.IsNullOrWhiteSpace(MaxArraySize))
            maxArray = int.TryParse(MaxArraySize, out int m) && m >= 1 ? m
                : throw new SpineProdException("SPN1023", $"MaxArraySize must be a whole number of at least 1, not '{MaxArraySize}'.", ProjectFile, xml.PropertyLine("MaxArraySize"), 0);

        var stages = Stages.Select(s => new StageRequest(s.ItemSpec, Metadata(s), ProjectFile, xml.ItemLine("Stage", s.ItemSpec))
            { MetadataLines = new Dictionary<string, int> { ["Cleanup"] = xml.ItemMetadataLine("Stage", s.ItemSpec, "Cleanup") } }).ToList();
        var sources = Sources.Select(s => new SourceItem(s.GetMetadata("FullPath"), s.GetMetadata("Stage"), SourceKind.File, ProjectFile, xml.ItemLine("Source", s.ItemSpec)))
            .Concat(SourceLists.Select(s => new SourceItem(s.GetMetadata("FullPath"), s.GetMetadata("Stage"), SourceKind.List, ProjectFile, xml.ItemLine("SourceList", s.ItemSpec)))).ToList();
        string? pipelineFile = string.IsNullOrWhiteSpace(PipelineFile) ? null : Path.GetFullPath(PipelineFile, Path.GetDirectoryName(ProjectFile)!);
        if (pipelineFile is not null)
        {
            // A spine-prod pipeline replaces the production's own stages and sources; its
            // properties still apply to every stage as defaults. (The targets resolved a -p:
            // PipelineFile against the folder dotnet runs in.)
            var pipeline = Planning.PipelineFile.Read(pipelineFile, RepoRoot);
            foreach (var w in pipeline.Warnings) Log.LogSpn(w, ProjectFile);
            if (stages.Count + sources.Count > 0)
                Report($"SpineProd: PipelineFile {PipelineFile} replaces this production's own Stage, Source and SourceList items.");
            stages = pipeline.Stages;
            sources = pipeline.Sources;
        }

        var request = new PlanRequest
        {
            ProductionFile = ProjectFile,
            PipelineFile = pipelineFile,
            RepoRoot = RepoRoot,
            Settings = settings,
            GlobalProperties = globals,
            Stages = stages,
            Sources = sources,
            MaxArraySize = maxArray,
            MaxArraySizeSource = MaxArraySizeSource,
            JobsDir = JobsDir,
            StateDir = StateDir,
            Identity = Identity ?? "",
            IdentityPath = IdentityPath ?? "",
            StateDirAcceptsUnownedLedger = StateDirAcceptsUnownedLedger,
            IntermediateDir = IntermediateDir,
            Scheduler = Scheduler,
            Environment = ConfigTaskSupport.Environment(),
            Xml = xml,
        };
        var planner = new Planner(request);
        var plan = planner.Plan();
        foreach (var d in planner.Diagnostics) Log.LogSpn(d, ProjectFile);
        if (plan is null || Log.HasLoggedErrors) return;
        IO.AtomicFile.WriteIfChanged(DependenciesFile, string.Join("\n", planner.Dependencies.Distinct(StringComparer.Ordinal)));
        foreach (var m in planner.Messages) Log.LogMessage(MessageImportance.Normal, "SpineProd: {0}", m);
        Log.LogMessage(MessageImportance.Normal, "SpineProd timings: {0}", string.Join(", ", planner.Timings.Select(t => $"{t.Phase} {t.Time.TotalSeconds:F2} s")));
        int arrays = plan.Stages.Sum(s => s.Arrays.Count);
        Report($"SpineProd: {plan.ProductionName}: {plan.Stages.Count} stage(s), {plan.Stages.Sum(s => s.FileCount)} file(s), {plan.Stages.Sum(s => s.TaskCount)} task(s), {arrays} array(s) (MaxArraySize {plan.MaxArraySize}, {plan.MaxArraySizeSource}); {planner.FilesWritten} file(s) written, {planner.FilesUnchanged} unchanged");
    });
}
