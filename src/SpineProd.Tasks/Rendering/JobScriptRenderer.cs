using Scriban;
using Scriban.Runtime;
using SpineProd.Diagnostics;
using SpineProd.IO;
using SpineProd.Layout;
using SpineProd.Planning;

namespace SpineProd.Rendering;

/// <summary>How the job of a stage runs SPINE: the command, container and optional set-up (Sites.SiteRuntime resolves it).</summary>
public sealed record JobRuntime(
    IReadOnlyList<string> SpineCommand,
    string Container,            // "singularity", "apptainer", "shifter" or "none"
    string ContainerImage,
    string ContainerBindPaths,
    string? LarcvBaseDir,
    bool Flashmatch)
{
    public string Site { get; init; } = Sites.SiteDefinition.DefaultSite;
    public string SpineVersion { get; init; } = "";
    public string? SpinePath { get; init; }
    public string? FlashmatchPath { get; init; }
    public bool Cvmfs { get; init; }
    /// <summary>The container's executable (a path, or the container's name found on PATH).</summary>
    public string? ContainerCommand { get; init; }
    public IReadOnlyList<string> ContainerArgs { get; init; } = [];
    /// <summary>Words that start the container (srun -n 1 at NERSC).</summary>
    public IReadOnlyList<string> Launcher { get; init; } = [];
    public string? ModuleUse { get; init; }
    public IReadOnlyList<string> Modules { get; init; } = [];
    public int Gpus { get; init; }

    /// <summary>The image, or null when no container runs.</summary>
    [System.Text.Json.Serialization.JsonIgnore]
    public string? ImageOrNull => Container == "none" ? null : ContainerImage;
    /// <summary>The container's binds, one a path (none when no container runs).</summary>
    [System.Text.Json.Serialization.JsonIgnore]
    public List<string> BindList => Container == "none" ? [] : Sites.SiteRuntime.Split(ContainerBindPaths);
}

/// <summary>
/// Renders job scripts from a Scriban template (templates/job.sbatch.scriban). The model hands the
/// template values already quoted for bash (<c>*_q</c>) and #SBATCH values that validation limited
/// to safe characters, so a template cannot forget to quote. Custom templates can call
/// <c>sh_quote</c> (literal) and <c>sh_quote_env</c> (allowing $VAR). Paths of the state and job
/// folders come from <see cref="ProductionLayout"/>, and every rendered script is checked against
/// <see cref="TemplateContract"/>, so a template that moves a marker or a log fails the build.
/// </summary>
public sealed class JobScriptRenderer
{
    public const string Version = "0.1.0";
    private readonly Template _template;
    private readonly string _templatePath;
    private readonly string _templateText;

    public JobScriptRenderer(string templatePath)
    {
        _templatePath = templatePath;
        if (!File.Exists(templatePath))
            throw new SpineProdException("SPN1101", $"The job template '{templatePath}' does not exist. Set <JobTemplate> to a Scriban template (see templates/job.sbatch.scriban).");
        string text;
        try { text = IO.SafeFile.ReadAllText(templatePath, IO.SafeFile.YamlMaxBytes, new System.Text.UTF8Encoding(false)); }
        catch (IO.FileRefusedException e)
        {
            throw new SpineProdException("SPN1045", $"The job template '{templatePath}' cannot be read: {e.Reason}; a job template is a Scriban text file.", templatePath);
        }
        _templateText = text;
        _template = Template.Parse(text, templatePath);
        if (_template.HasErrors)
        {
            var m = _template.Messages.First();
            throw new SpineProdException("SPN1102", $"The job template has an error: {m.Message}", templatePath, m.Span.Start.Line + 1, m.Span.Start.Column + 1);
        }
    }

    /// <summary>The job script of one array of a stage.</summary>
    public string Render(ProductionPlan plan, StagePlan stage, ArrayPlan array, JobRuntime runtime)
    {
        var r = stage.Resources;
        var dialect = Scheduler.Schedulers.Dialect(plan.Scheduler);
        var markerDir = ProductionLayout.Of(plan).MarkerDir(stage.Name);
        bool container = runtime.Container != "none";
        var model = new ScriptObject
        {
            ["version"] = Version,
            ["production"] = Path.GetFileName(plan.ProductionFile),
            ["stage"] = stage.Name,
            ["array_index"] = array.Index,
            ["array_count"] = stage.Arrays.Count,
            ["task_count"] = array.TaskCount,
            ["first_task"] = array.FirstTask,
            ["account"] = r.Account,
            ["partition"] = r.Partition,
            ["qos"] = r.Qos,
            ["cpus_per_task"] = r.CpusPerTask,
            // the plan's values as the production's scheduler spells them (its template's directives)
            ["mem_per_cpu"] = r.MemPerCpuBytes is long m ? dialect.Memory(m) : null,
            ["time"] = r.Walltime is TimeSpan t ? dialect.Time(t) : null,
            // the same limits as plain values
            ["walltime"] = Walltime(r),
            ["mem_per_task_mb"] = MemPerTaskMb(r),
            ["gpus"] = r.Gpus,
            ["array_spec"] = array.ArraySpec,
            ["job_name"] = array.JobName,
            ["dependency"] = stage.Dependency,
            ["chunk_file_q"] = ShellQuote.Literal(array.ChunkFile),
            ["output_q"] = ShellQuote.Literal(stage.Output),
            ["output_dir_q"] = ShellQuote.Literal(Path.GetDirectoryName(stage.Output)!),
            ["owner_q"] = ShellQuote.Literal(plan.OutputOwner),
            ["owner_record"] = OwnedFolder.RecordName,
            ["stage_q"] = ShellQuote.Literal(stage.Name),
            ["config_q"] = ShellQuote.Literal(stage.ConfigArgument),
            ["marker_dir_q"] = ShellQuote.Literal(markerDir),
            ["marker_suffix"] = ProductionLayout.MarkerSuffix,
            ["logs_dir"] = ProductionLayout.Job.Logs,
            ["log_output"] = ProductionLayout.Job.SlurmTaskLog(array.JobName, "out"),
            ["log_error"] = ProductionLayout.Job.SlurmTaskLog(array.JobName, "err"),
            ["config_sources"] = ProductionLayout.Job.ConfigSources,
            ["verify_config"] = stage.ConfigFiles.Contains(ProductionLayout.Job.ConfigSources),
            ["spine_command_q"] = string.Join(" ", runtime.SpineCommand.Select(ShellQuote.AllowingEnvironment)),
            ["container"] = container,
            ["container_q"] = ShellQuote.Literal(runtime.Container),
            ["container_image_q"] = ShellQuote.AllowingEnvironment(runtime.ContainerImage),
            ["bind_paths_q"] = ShellQuote.AllowingEnvironment(runtime.ContainerBindPaths),
            ["larcv_basedir_q"] = runtime.LarcvBaseDir is { Length: > 0 } l ? ShellQuote.AllowingEnvironment(l) : null,
            ["flashmatch_path_q"] = runtime.FlashmatchPath is { Length: > 0 } f ? ShellQuote.AllowingEnvironment(f) : null,
            ["container_setup"] = ContainerSetup(runtime),
            // the whole container start, quoted (Sites.SiteRuntime): srun, apptainer/shifter and their options
            ["launcher_q"] = Sites.SiteRuntime.LauncherWords(runtime),
            ["site"] = runtime.Site,
            ["spine_version"] = runtime.SpineVersion,
            ["module_use_q"] = runtime.ModuleUse is { Length: > 0 } mu ? ShellQuote.Literal(mu) : null,
            ["modules_q"] = runtime.Modules.Count > 0 ? string.Join(" ", runtime.Modules.Select(ShellQuote.Literal)) : null,
            ["constraint"] = r.Constraint,
            ["nodes"] = r.Nodes,
            ["mem"] = r.MemPerNodeBytes is long node ? (node == 0 ? "0" : dialect.Memory(node)) : null,
            ["gpus_per_node"] = r.GpusPerNode,
            ["system"] = r.System,
            ["place"] = r.Place,
            ["filesystems"] = r.Filesystems,
            ["inputs_from_config"] = stage.InputsFromConfig,
            ["output_layout"] = stage.OutputLayout,
            ["spine_args"] = SpineArguments(stage),
            ["spine_cache_dir_q"] = stage.Downloads.Count > 0 ? ShellQuote.Literal(Path.GetDirectoryName(stage.Downloads[0].CachedFile)!) : null,
            ["downloads_q"] = string.Join(" ", stage.Downloads.Select(d => ShellQuote.Literal(d.CachedFile))),
        };
        var script = Render(model);
        TemplateContract.CheckJob(script, new TemplateContract.JobExpectations(markerDir, array.ChunkFile, array.JobName,
            stage.Cleanup is null ? null : plan.OutputOwner), dialect, _templatePath, _templateText);
        return script;
    }

    /// <summary>
    /// SPINE's arguments after the command, for a bash array: the task's list (<c>-S</c>, unless the
    /// config names the inputs), where to write (<c>-o</c>, or <c>--output-dir/--output-suffix/--log-dir</c>
    /// for SPINE &gt;= 0.15.3), the config, and the <c>--set</c> overrides. Values are quoted here; the
    /// only expansions are the script's own variables.
    /// </summary>
    public static string SpineArguments(StagePlan stage)
    {
        var a = new List<string>();
        if (!stage.InputsFromConfig) a.Add("-S \"$task_list\"");
        if (stage.InputsFromConfig) { }
        else if (stage.OutputLayout == SpineArgumentSettings.FileLayout) a.Add("-o \"$output\"");
        else a.Add($"--output-dir \"$spine_output_dir\" --output-suffix {ShellQuote.Literal(stage.OutputSuffix ?? "")} --log-dir \"$spine_log_dir\"");
        a.Add("-c \"$config\"");
        foreach (var e in stage.SpineSet) a.Add("--set " + ShellQuote.Literal(e));
        return string.Join(" ", a);
    }

    /// <summary>The cleanup job of a stage (cleanup.sbatch.scriban).</summary>
    public string RenderCleanup(ProductionPlan plan, StagePlan stage, CleanupPlan cleanup)
    {
        var model = new ScriptObject
        {
            ["version"] = Version,
            ["production"] = Path.GetFileName(plan.ProductionFile),
            ["stage"] = stage.Name,
            ["account"] = cleanup.Account,
            ["partition"] = cleanup.Partition,
            ["qos"] = cleanup.Qos,
            ["constraint"] = cleanup.Constraint,
            ["system"] = cleanup.System,
            ["filesystems"] = cleanup.Filesystems,
            ["job_name"] = cleanup.JobName,
            ["after_stages"] = string.Join(", ", cleanup.AfterStages),
            ["paths_q"] = string.Join(" ", cleanup.Paths.Select(ShellQuote.Literal)),
            ["protected_q"] = string.Join(" ", cleanup.Protected.Select(ShellQuote.Literal)),
            ["bookkeeping_q"] = string.Join(" ", cleanup.Bookkeeping.Select(ShellQuote.Literal)),
            // Every task of every stage it waits for, as (marker folder, task count) pairs: a cleanup
            // checks their completion markers where it deletes (PBS may release an afterok on an
            // array whose last subjob succeeded while another failed).
            ["after_markers_q"] = string.Join(" ", cleanup.AfterStages.Select(a => plan.Stages.FirstOrDefault(x => x.Name == a)).OfType<StagePlan>()
                .Select(a => ShellQuote.Literal(ProductionLayout.Of(plan).MarkerDir(a.Name)) + " " + a.TaskCount.ToString(System.Globalization.CultureInfo.InvariantCulture))),
            ["marker_suffix"] = ProductionLayout.MarkerSuffix,
            ["owner_q"] = ShellQuote.Literal(plan.OutputOwner),
            ["owner_record"] = OwnedFolder.RecordName,
            ["logs_dir"] = ProductionLayout.Job.Logs,
            ["log_output"] = ProductionLayout.Job.SlurmCleanupLog(cleanup.JobName, "out"),
            ["log_error"] = ProductionLayout.Job.SlurmCleanupLog(cleanup.JobName, "err"),
        };
        var script = Render(model);
        TemplateContract.CheckCleanup(script, plan.OutputOwner, Scheduler.Schedulers.Dialect(plan.Scheduler), _templatePath, _templateText);
        return script;
    }

    private string Render(ScriptObject model)
    {
        model.Import("sh_quote", new Func<string, string>(ShellQuote.Literal));
        model.Import("sh_quote_env", new Func<string, string>(ShellQuote.AllowingEnvironment));
        var context = new TemplateContext { StrictVariables = true, MemberRenamer = m => m.Name };
        context.PushGlobal(model);
        try
        {
            return _template.Render(context);
        }
        catch (Scriban.Syntax.ScriptRuntimeException e)
        {
            throw new SpineProdException("SPN1102", $"The job template failed to render: {e.OriginalMessage}", _templatePath, e.Span.Start.Line + 1, e.Span.Start.Column + 1);
        }
    }

    /// <summary><c>HH:MM:SS</c> (hours past 24 allowed) of the stage's time limit; empty when it has none.</summary>
    private static string Walltime(Resources r) =>
        Scheduler.ResourceValues.FromPlan(r).Walltime is TimeSpan t ? Scheduler.ResourceValues.Hms(t) : "";

    /// <summary>Memory of one task (per CPU times CPUs) in MiB, rounded up; 0 when the plan has none.</summary>
    private static long MemPerTaskMb(Resources r) =>
        Scheduler.ResourceValues.FromPlan(r).MemoryBytes is long b ? (b + (1L << 20) - 1) >> 20 : 0;

    /// <summary>
    /// Shell text run inside the container before SPINE (single-quoted in the script, so it must not
    /// contain a single quote: it is built only from constants and variable names).
    /// </summary>
    private static string ContainerSetup(JobRuntime runtime)
    {
        var parts = new List<string>();
        if (runtime.LarcvBaseDir is { Length: > 0 } || runtime.FlashmatchPath is { Length: > 0 })
            parts.Add("unset which; ");
        if (runtime.LarcvBaseDir is { Length: > 0 })
            parts.Add("source \"${SPINEPROD_LARCV_BASEDIR}/configure.sh\"; ");
        if (runtime.FlashmatchPath is { Length: > 0 })
            parts.Add("source \"${SPINEPROD_FLASHMATCH_PATH}/configure.sh\"; ");
        else if (runtime.Flashmatch)
            parts.Add("source \"${FMATCH_BASEDIR}/configure.sh\"; ");
        return string.Concat(parts);
    }
}
