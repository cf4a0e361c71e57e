using SpineProd.Diagnostics;

namespace SpineProd.Sites;

/// <summary>
/// How jobs run at one site (an entry of <c>sites:</c> in the profiles file): its scheduler, its
/// default profiles, and how SPINE's container is started there. Data, not code: a group's own
/// profiles file can define its site, or redefine one of the SDK's.
/// </summary>
public sealed record SiteDefinition(
    string Name,
    string? Description,
    /// <summary>slurm or pbs: the scheduler Site picks (SpineProd.Sites.targets holds the same choice for evaluation).</summary>
    string Scheduler,
    string? DefaultProfile,
    string? CpuProfile,
    string? CleanupProfile,
    /// <summary>singularity, apptainer, shifter or none.</summary>
    string Container,
    /// <summary>The image, with {version} / {version_dashes} for the SPINE version; null when the production must name one.</summary>
    string? Image,
    string? BindPaths,
    string? ContainerArgs,
    string? Launcher,
    string? ModuleUse,
    string? Modules,
    string? Account,
    /// <summary>GPUs are asked per node with one node (Perlmutter: --nodes=1 --gpus-per-node=N), not per job (--gpus=N).</summary>
    bool GpusPerNode,
    string File,
    int Line)
{
    public const string DefaultSite = "s3df";

    public static readonly string[] Containers = ["singularity", "apptainer", "shifter", "none"];

    /// <summary>spine-prod's site names as SpineProd's: nersc is perlmutter, anl is polaris (any case).</summary>
    public static string Canonical(string name) => name.Trim().ToLowerInvariant() switch
    {
        "nersc" => "perlmutter",
        "anl" or "alcf" => "polaris",
        var n => n,
    };

    /// <summary>The site entry <paramref name="name"/> at <paramref name="line"/>; <paramref name="at"/> gives a field's own line and column, so a bad value is reported where it is written.</summary>
    internal static SiteDefinition Read(string name, Func<string, string?> value, string file, int line, Func<string, (int Line, int Column)?>? at = null)
    {
        SpineProdException Bad(string field, string message)
        {
            var (l, c) = at?.Invoke(field) ?? (line, 1);
            return new SpineProdException("SPN1302", message, file, l, c);
        }
        string scheduler = (value("scheduler") ?? "slurm").ToLowerInvariant();
        if (scheduler is not ("slurm" or "pbs"))
            throw Bad("scheduler", $"Site '{name}': scheduler must be slurm or pbs, not '{scheduler}'.");
        string container = (value("container") ?? "none").ToLowerInvariant();
        if (!Containers.Contains(container))
            throw Bad("container", $"Site '{name}': container must be one of {string.Join(", ", Containers)}, not '{container}'.");
        return new SiteDefinition(name, value("description"), scheduler, value("default_profile"), value("cpu_profile"), value("cleanup_profile"),
            container, value("image"), value("bind_paths"), value("container_args"), value("launcher"), value("module_use"), value("modules"),
            value("account"), value("gpus_per_node")?.ToLowerInvariant() is "true" or "yes", file, line);
    }

    /// <summary>The image for a SPINE version: <c>{version}</c> is <c>0.17.1</c>, <c>{version_dashes}</c> <c>0-17-1</c> (spine-prod's SIF names).</summary>
    public string? ImageFor(string spineVersion) =>
        Image?.Replace("{version}", spineVersion, StringComparison.Ordinal)
            .Replace("{version_dashes}", spineVersion.Replace('.', '-'), StringComparison.Ordinal);
}
