namespace SpineProd.Planning;

/// <summary>A setting's value and where it came from, so an error can point at the line that set it.</summary>
public sealed record SettingValue(string Value, string? File, int Line, string Origin)
{
    public bool IsSet => Value.Length > 0;
}

public enum SourceKind { File, List, Glob }

/// <summary>
/// An input source of a stage: a file or a source list (Source/SourceList items as MSBuild evaluated
/// them), or a glob the planner expands itself (a pipeline YAML's <c>files:</c>), with where it was declared.
/// </summary>
public sealed record SourceItem(string FullPath, string? Stage, SourceKind Kind, string? DeclaredIn = null, int Line = 0)
{
    public bool IsList => Kind == SourceKind.List;
}

/// <summary>A stage as declared (a Stage item, or a pipeline YAML entry), with its own settings.</summary>
public sealed record StageRequest(string Name, IReadOnlyDictionary<string, string> Metadata, string File, int Line,
    IReadOnlyDictionary<string, int>? MetadataLines = null)
{
    /// <summary>The line that sets this metadata (a pipeline YAML key's own line), else the stage's.</summary>
    public int LineOf(string metadata) => MetadataLines?.TryGetValue(metadata, out int l) == true && l > 0 ? l : Line;
}

/// <summary>Everything the planner needs, gathered by the PlanProduction task (or a test).</summary>
public sealed class PlanRequest
{
    public required string ProductionFile { get; init; }
    /// <summary>The spine-prod pipeline YAML whose stages and sources replace the production's own, if any.</summary>
    public string? PipelineFile { get; init; }
    public string ProductionName => Path.GetFileNameWithoutExtension(ProductionFile);
    public string ProductionDir => Path.GetDirectoryName(ProductionFile)!;
    public required string RepoRoot { get; init; }
    /// <summary>Production-level settings by setting name (metadata names of _SpineProdSettings).</summary>
    public required IReadOnlyDictionary<string, string> Settings { get; init; }
    /// <summary>Properties set on the command line (-p:X=...): they beat stage metadata too.</summary>
    public IReadOnlySet<string> GlobalProperties { get; init; } = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
    public IReadOnlyList<StageRequest> Stages { get; init; } = [];
    public required IReadOnlyList<SourceItem> Sources { get; init; }
    public int? MaxArraySize { get; init; }
    public string? MaxArraySizeSource { get; init; }
    public required string JobsDir { get; init; }
    public required string StateDir { get; init; }
    /// <summary>The production's identity and whether its state folder accepts a ledger without owner (StateFolder.Resolve).</summary>
    public string Identity { get; init; } = "";
    public string IdentityPath { get; init; } = "";
    public bool StateDirAcceptsUnownedLedger { get; init; }
    public required string IntermediateDir { get; init; }
    public string Scheduler { get; init; } = "slurm";
    /// <summary>The SDK's own profiles.yaml: the sites of a profiles file that defines none (spine-prod's).</summary>
    public string? SdkProfilesFile { get; init; }
    public IReadOnlyDictionary<string, string?> Environment { get; init; } = new Dictionary<string, string?>();
    /// <summary>The parsed .spineproj for line numbers; null in unit tests.</summary>
    public ProductionFile? Xml { get; init; }
}
