namespace SpineProd.Options;

/// <summary>Where a setting can be written. A setting may be several of these.</summary>
[Flags]
public enum SettingPlace
{
    /// <summary>An MSBuild property of the production (and <c>-p:</c> on the command line).</summary>
    Property = 1,
    /// <summary>Metadata of a &lt;Stage&gt; item (and, with a pipeline key, a key of a pipeline YAML stage).</summary>
    Stage = 2,
    /// <summary>Handed to the planner in the <c>_SpineProdSettings</c> item, and hashed into the plan's inputs.</summary>
    Plan = 4,
}

/// <summary>What values a setting takes; the build parses, and the editor schema checks, the same.</summary>
public enum SettingType
{
    Text,
    /// <summary>A file or folder.</summary>
    Path,
    /// <summary>A whole number of at least 1.</summary>
    WholeNumber,
    /// <summary>A whole number of at least 0.</summary>
    Count,
    /// <summary>true or false, any case.</summary>
    Flag,
    /// <summary>A run-time duration: seconds, 90s, 10m, 4h, 2d, 4:00:00 (<see cref="RunOptions.TryParseDuration"/>).</summary>
    Duration,
    /// <summary>A job's time limit: SLURM's forms (minutes, H:MM:SS, D-HH:MM:SS) or a unit (90m, 4h, 2d).</summary>
    TimeLimit,
    /// <summary>A memory size: 8g, 4000M, 512 (MB).</summary>
    Memory,
    /// <summary>One of <see cref="Setting.Choices"/>.</summary>
    Choice,
}

/// <summary>One setting of a production: its name, where it can be written, its values, default and meaning.</summary>
/// <param name="Default">The default as the README states it (Markdown); empty when there is none.</param>
/// <param name="MSBuildDefault">The literal default the SDK's props/targets set (<c>Condition="'$(X)' == ''"</c>), if any; several, in file order, one a line.</param>
/// <param name="PipelineKey">The key of a spine-prod pipeline YAML stage that sets it.</param>
/// <param name="Aliases">Other names for it (properties and stage metadata alike), e.g. spine-prod's <c>Ntasks</c>.</param>
/// <param name="StageAliases">Names only stage metadata may use, e.g. <c>Config</c> for SpineConfig.</param>
/// <param name="PipelineAliases">Other pipeline keys for it (spine-prod's own spelling next to ours).</param>
public sealed record Setting(
    string Name,
    SettingPlace Places,
    SettingType Type,
    string Description,
    string Default = "",
    string? MSBuildDefault = null,
    string? PipelineKey = null,
    string[]? Aliases = null,
    string[]? StageAliases = null,
    string[]? Choices = null,
    string[]? PipelineAliases = null)
{
    public bool IsProperty => Places.HasFlag(SettingPlace.Property);
    public bool IsStageMetadata => Places.HasFlag(SettingPlace.Stage);
    public bool IsPlanSetting => Places.HasFlag(SettingPlace.Plan);
    public IReadOnlyList<string> AllAliases => Aliases ?? [];
}

/// <summary>
/// Every setting of a production, in one list: the source of the typo checks (SPN1002, SPN1003,
/// SPN1060), the pipeline YAML keys, the planner's settings item and inputs hash in
/// SpineProd.Settings.targets, the defaults in the SDK's props and targets, the editor schema and the
/// README's property table. <c>SettingsCatalogueTests</c> checks each of them against this list;
/// adding a setting is one line here, then the files that test names.
/// </summary>
public static class SettingsCatalogue
{
    private const SettingPlace P = SettingPlace.Property;
    private const SettingPlace PlanProperty = SettingPlace.Property | SettingPlace.Plan;
    private const SettingPlace PerStage = SettingPlace.Property | SettingPlace.Stage | SettingPlace.Plan;
    private const SettingPlace StageOnly = SettingPlace.Stage;

    public static readonly IReadOnlyList<Setting> All =
    [
        // ---- what a stage runs: properties, <Stage> metadata and pipeline keys alike
        new("SpineConfig", PerStage, SettingType.Path, "The SPINE config: a file, a detector folder (`infer/icarus`) or a `latest` name",
            Default: "(required)", PipelineKey: "config", StageAliases: ["Config"]),
        new("ApplyMods", PerStage, SettingType.Text, "Config modifiers, `;`- or `,`-separated: `data,lite:240719,path/to/mod.yaml` (on the command line `,` avoids MSBuild's `;` splitting)",
            PipelineKey: "apply_mods"),
        new("Detector", PerStage, SettingType.Text, "`icarus`, `sbnd`, `2x2`, `2x2-single`, `fsd`, `nd-lar`, `protodune-sp`, `protodune-vd`, `dune10kt-1x2x6`, `generic`, `common`",
            Default: "from the config path", PipelineKey: "detector"),
        new("Site", PlanProperty, SettingType.Choice, "`s3df`, `perlmutter` (`nersc`) or `polaris` (`anl`): the scheduler, templates, default profiles, container and image. See [Sites](#sites-s3df-perlmutter-polaris)",
            Default: "`s3df`", MSBuildDefault: "s3df", Choices: ["s3df", "perlmutter", "nersc", "polaris", "anl", "alcf"]),
        new("Profile", PerStage, SettingType.Text, "A profile of the profiles file, of the production's site; `auto` = the detector's `default_profile` at its site, else the site's",
            Default: "`auto`", MSBuildDefault: "auto", PipelineKey: "profile"),
        new("ProfilesFile", PlanProperty, SettingType.Path, "Another profiles file (a site's)",
            Default: "the SDK's `templates/profiles.yaml`", MSBuildDefault: "$(SpineProdTemplatesDir)profiles.yaml"),
        new("FilesPerTask", PerStage, SettingType.WholeNumber, "Input files per array task (a whole number ≥ 1)",
            Default: "`1`", PipelineKey: "files_per_task"),
        new("TaskCount", PerStage, SettingType.WholeNumber, "Cut the inputs into this many roughly even tasks (spine-prod ≥ 0.6's `--ntasks N` alone); not with `FilesPerTask`",
            PipelineKey: "task_count"),
        new("MaxRunningTasks", PerStage, SettingType.WholeNumber, "Array throttle `%N`: at most N tasks of an array run at once (spine-prod's `--ntasks` up to 0.5, and with `--files-per-task` after)",
            MSBuildDefault: "$(Ntasks)", PipelineKey: "ntasks", Aliases: ["Ntasks"]),
        new("Partition", PerStage, SettingType.Text, "SLURM `--partition` (PBS `-q` queue)", Default: "profile", PipelineKey: "partition", PipelineAliases: ["queue"]),
        new("Account", PerStage, SettingType.Text, "SLURM `--account` (PBS `-A`)", Default: "profile / detector at the site / site / defaults (S3DF)", PipelineKey: "account"),
        new("Qos", PerStage, SettingType.Text, "SLURM `--qos`", Default: "profile", PipelineKey: "qos"),
        new("Constraint", PerStage, SettingType.Text, "SLURM `--constraint` (`gpu`, `gpu&hbm80g` at Perlmutter)", Default: "profile", PipelineKey: "constraint"),
        new("Gpus", PerStage, SettingType.Count, "GPUs per task (`--gpus`; `0` for CPU jobs; `--gpus-per-node` at Perlmutter, `ngpus=` at Polaris)", Default: "profile", PipelineKey: "gpus", PipelineAliases: ["gpus_per_node"]),
        new("CpusPerTask", PerStage, SettingType.WholeNumber, "CPUs per task (`--cpus-per-task`)", Default: "profile", PipelineKey: "cpus_per_task"),
        new("MemPerCpu", PerStage, SettingType.Memory, "Memory per CPU (`--mem-per-cpu`): `8g`, `4000M`, `512` (MB)", Default: "profile", PipelineKey: "mem_per_cpu"),
        new("MemPerNode", PerStage, SettingType.Memory, "Memory of the whole task, `--mem` (`54g`; `0` = the whole node); not with `MemPerCpu` (SPN1116)", Default: "profile's `mem`", PipelineKey: "mem_per_node"),
        new("Time", PerStage, SettingType.TimeLimit, "A task's time limit: SLURM's forms (minutes, `2:00:00`, `1-00:00:00`) or a unit (`90m`, `4h`, `2d`)", Default: "profile", PipelineKey: "time"),
        new("Dependency", PerStage, SettingType.Text, "A wait added to every array, in the scheduler's own syntax: SLURM `afterok:12345`, PBS `afterok:12[].server`", PipelineKey: "dependency"),
        new("JobName", PerStage, SettingType.Text, "SLURM job name and log names",
            Default: "`spine_<detector>_<config stem>`; a stage: its name", PipelineKey: "job_name"),
        new("OutputFile", PerStage, SettingType.Path, "The `-o` given to SPINE (spine-prod's `--output`; MSBuild reserves the name `Output`: `<Output>` is MSB4004, `-p:Output=` MSB4177)",
            Default: "`<OutputDir>/<JobName>.h5`", PipelineKey: "output_file"),
        new("OutputDir", PerStage, SettingType.Path, "One output folder per production (per stage), the same across resubmissions; relative to `jobs/<production>-<hash>/`. The job creates it (recording that it did) if it does not exist",
            Default: "`jobs/<production>-<hash>/output/`", PipelineKey: "output"),
        new("SpineCommand", PerStage, SettingType.Text, "The SPINE command (words; `$VAR` expands in the job)",
            Default: "`spine` (the container's), or `SpinePath`'s", PipelineKey: "spine_command"),
        new("SpineVersion", PerStage, SettingType.Text, "The SPINE release (`0.17.1`; a leading `v` is dropped); names the site's image (`spine_v0-17-1.sif`, `spine:0.17.1`)",
            Default: "`defaults.spine_version` of the profiles file", PipelineKey: "spine_version"),
        new("SpinePath", PerStage, SettingType.Path, "A local SPINE checkout, bound into the container; its `bin/spine` (else `python3 bin/run.py`) runs (SPN1114)",
            PipelineKey: "spine_path"),
        new("Container", PerStage, SettingType.Choice, "`singularity`, `apptainer`, `shifter` or `none`",
            Default: "the site's", Choices: ["singularity", "apptainer", "shifter", "none"]),
        new("ContainerImage", PerStage, SettingType.Text, "The image (`$VAR` expands in the job); required at Polaris (SPN1113)",
            Default: "the site's image of `SpineVersion`", PipelineKey: "container_image"),
        new("ContainerBindPaths", PerStage, SettingType.Text, "Binds of the container (replacing the site's); `SpinePath`, `LarcvBaseDir`, `FlashmatchPath` and `/cvmfs` are added",
            Default: "the site's (`/sdf/,/fs/` at S3DF)", PipelineKey: "bind_paths"),
        new("ContainerCommand", PerStage, SettingType.Text, "The container's executable (`apptainer`, a path, or a test double)",
            Default: "the container's name"),
        new("ContainerArgs", PerStage, SettingType.Text, "The container's options before the image (words)",
            Default: "the site's (`--fakeroot` at Polaris)"),
        new("Cvmfs", PerStage, SettingType.Flag, "`true`: `/cvmfs` in the container (a bind; Shifter's `cvmfs` module at Perlmutter) (SPN1120)",
            Default: "`false`", PipelineKey: "cvmfs"),
        new("Modules", PerStage, SettingType.Text, "Modules loaded before the container (`;`- or `,`-separated); `none` for none (SPN1119)",
            Default: "the site's (`spack-pe-base;apptainer` at Polaris)", PipelineKey: "modules"),
        new("LarcvBaseDir", PerStage, SettingType.Path, "A LArCV installation whose `configure.sh` is sourced in the container; checked at build time (SPN1066) unless it names a `$VAR`",
            PipelineKey: "larcv_basedir", PipelineAliases: ["larcv_path"]),
        new("FlashmatchPath", PerStage, SettingType.Path, "An OpT0Finder folder with `configure.sh`, bound and sourced in the container (SPN1117)",
            PipelineKey: "flashmatch_path"),
        new("Flashmatch", PerStage, SettingType.Flag, "`true`: source `$FMATCH_BASEDIR/configure.sh` in the container (`true`/`false`, any case)",
            Default: "`false`", MSBuildDefault: "false", PipelineKey: "flashmatch"),
        new("JobTemplate", PlanProperty, SettingType.Path, "The Scriban job template; a site's own must keep [the contract](#your-own-job-template-the-contract) (SPN0040–SPN0044)",
            Default: "the scheduler's own (its targets file sets it): the SDK's `templates/job.sbatch.scriban` (slurm), `templates/job.pbs.scriban` (pbs) or `templates/job.local.scriban` (local)"),
        new("CleanupTemplate", PlanProperty, SettingType.Path, "The Scriban cleanup-job template; the same contract as the job template",
            Default: "the scheduler's own: `templates/cleanup.sbatch.scriban` (slurm), `templates/cleanup.pbs.scriban` (pbs) or `templates/cleanup.local.scriban` (local)"),

        new("SpineSet", PerStage, SettingType.Text, "SPINE's `--set KEY=VALUE` overrides, `;`-separated (`io.loader.batch_size=4;base.iterations=100`; on the command line `'-p:SpineSet=\"a=1;b=2\"'`): passed to SPINE in every job and applied to the config SpineProd resolves and records; no whitespace or quotes (SPN2070); a key the config lacks is a warning (SPN2071)",
            PipelineKey: "set", PipelineAliases: ["spine_set"]),
        new("OutputLayout", PerStage, SettingType.Text, "How SPINE is told where to write: `file` (`-o OutputFile`, any SPINE), `folder` (`--output-dir OutputDir --output-suffix OutputSuffix`) or `task` (spine-prod v0.8's per-task folders `OutputDir/task_<N>/{output,logs,inputs.txt}`); `folder` and `task` need SPINE ≥ 0.15.3",
            Default: "`file`", PipelineKey: "output_layout"),
        new("OutputSuffix", PerStage, SettingType.Text, "`OutputLayout` `folder`/`task`: SPINE's `--output-suffix` (outputs are `<input stem>_<suffix>.h5`)",
            Default: "the stem of the config SPINE is given", PipelineKey: "output_suffix"),
        new("Preload", PerStage, SettingType.Flag, "Submit (and RunTask) fetch every `!download` of the configs into `DownloadCacheDir` on the submit host and verify its sha256 first; `false` leaves it to SPINE on the node",
            Default: "`true`", PipelineKey: "preload"),
        new("DownloadCacheDir", PerStage, SettingType.Path, "The download cache (shared with the compute nodes); jobs get it as `SPINE_CACHE_DIR`",
            Default: "`$SPINE_CACHE_DIR`, else `.cache/weights/` at `SpineProdRoot`", MSBuildDefault: "$(SPINE_CACHE_DIR)\n$(SpineProdRoot).cache/weights/", PipelineKey: "download_cache_dir"),

        // ---- how stages connect: <Stage> metadata and pipeline keys only
        new("DependsOn", StageOnly, SettingType.Text, "Stages this stage waits for (`;`- or `,`-separated)", PipelineKey: "depends_on"),
        new("InputsFrom", StageOnly, SettingType.Text, "Stages whose planned outputs are this stage's inputs (also a DependsOn)", PipelineKey: "inputs_from"),
        new("Cleanup", StageOnly, SettingType.Text, "The stage's own output folder, removed once every stage downstream of it succeeded", PipelineKey: "cleanup"),

        // ---- the production as a whole
        new("MaxArraySize", P, SettingType.WholeNumber, "Tasks per array", Default: "cluster's, else `defaults.max_array_size`"),
        new("JobsDir", P, SettingType.Path, "Where job folders and production state go",
            Default: "`jobs/` at `SpineProdRoot`", MSBuildDefault: "$(SpineProdRoot)jobs/"),
        new("SpineProdRoot", P, SettingType.Path, "The production's root: `jobs/`, the audit binlogs' staging folder, and where configs and pipeline paths are also looked for",
            Default: "folder of the nearest `global.json` above, else the production's folder",
            MSBuildDefault: "$([MSBuild]::GetDirectoryNameOfFileAbove('$(MSBuildProjectDirectory)', 'global.json'))\n$(MSBuildProjectDirectory)"),
        new("SpineProdStateDir", P, SettingType.Path, "The production's state folder (ledger, markers, lock, audit journal, default outputs); the hash is of the production's path in the repository, see [Submitting](#submitting-status-resubmission)",
            Default: "`$(JobsDir)<production>-<hash>/`", MSBuildDefault: "$(JobsDir)$(_SpineProdIdentity)/"),
        new("Scheduler", P, SettingType.Choice, "`slurm`, `pbs` (PBS Pro / OpenPBS) or `local` (run the jobs on this machine); see [Schedulers](#schedulers)",
            Default: "the site's: `slurm`, `pbs` at Polaris", MSBuildDefault: "slurm", Choices: ["slurm", "pbs", "local"]),
        new("PipelineFile", P, SettingType.Path, "A spine-prod pipeline YAML to run as stages (`-p:` relative to the current folder)"),

        // ---- Submit, Status, History, ResolveConfigs
        new("Resubmit", P, SettingType.Choice, "Submit (and Preview) of a production submitted before: `missing`, `failed` or `none`",
            Default: "`missing`", MSBuildDefault: "missing", Choices: ["missing", "failed", "none"]),
        new("Wait", P, SettingType.Flag, "Status: poll until nothing is pending or running (`true`/`false`)", Default: "`false`"),
        new("WaitTimeout", P, SettingType.Duration, "Status `Wait`: give up after this long. A duration: seconds (`90`), with a unit (`90s`, `10m`, `4h`, `2d`) or `H:MM:SS` / `D-HH:MM:SS` (`4:00:00`); `4:00` is refused as ambiguous",
            Default: "`24h`"),
        new("PollInterval", P, SettingType.Duration, "Status `Wait`: the first interval between polls (a duration as above); it grows to 5 minutes", Default: "`30s`"),
        new("FailOnProblems", P, SettingType.Flag, "Status: fail the build (SPN3017) when a task did not succeed (CI)", Default: "`false`"),
        new("LocalParallelism", P, SettingType.Count, "`Scheduler=local`: tasks run at once (a whole number ≥ 0)", Default: "`0` (= cores)", MSBuildDefault: "0"),
        new("SubmitRetries", P, SettingType.Count, "sbatch retries after transient errors (a whole number ≥ 0)", Default: "`5`", MSBuildDefault: "5"),
        new("ClusterQueryTimeout", P, SettingType.Duration, "How long Build waits for `scontrol show config` (a duration as above)", Default: "`5` (seconds)", MSBuildDefault: "5"),
        new("HistoryFormat", P, SettingType.Choice, "History: `table` or `json`", Default: "`table`", MSBuildDefault: "table", Choices: ["table", "json"]),
        new("ReportFile", P, SettingType.Path, "Report and Run: where the HTML page goes (relative to the production)",
            Default: "`report.html` in the state folder", MSBuildDefault: "$(SpineProdStateDir)report.html"),
        new("RetryMaxAttempts", P, SettingType.WholeNumber, "Run: attempts of a task that runs out of memory or time (the first included)",
            Default: "`3`", MSBuildDefault: "3"),
        new("RetryMemoryFactor", P, SettingType.Text, "Run: each retry of an out-of-memory task asks for this many times the memory of its last attempt (a number above 1)",
            Default: "`2`", MSBuildDefault: "2"),
        new("RetryTimeFactor", P, SettingType.Text, "Run: each retry of a timed-out task asks for this many times the time of its last attempt (a number above 1)",
            Default: "`2`", MSBuildDefault: "2"),
        new("RetryFailedAttempts", P, SettingType.WholeNumber, "Run: how many times a task may fail with an exit code (not memory, not time) before it is left; `1`: never retried",
            Default: "`1`", MSBuildDefault: "1"),
        new("RetryMaxTime", P, SettingType.Duration, "Run: the longest time a retry may ask for (a duration as above); the partition's own `MaxTime` is never passed either",
            Default: "the partition's limit"),
        new("RetryMaxMemPerCpu", P, SettingType.Memory, "Run: the most memory per CPU a retry may ask for (a size, `16g`); the partition's own `MaxMemPerCPU` is never passed either",
            Default: "the partition's limit"),
        new("TaskId", P, SettingType.Text, "RunTask: the task to run here (the number Status and Preview show)"),
        new("RunStage", P, SettingType.Text, "RunTask: the stage of a multi-stage production", Default: "the only stage"),
        new("RunRuntime", P, SettingType.Text, "RunTask: `container` (as the batch job) or `local` (SPINE installed here, run as `LocalSpineCommand`)", Default: "`container`"),
        new("LocalSpineCommand", P, SettingType.Text, "RunTask `-p:RunRuntime=local`: the SPINE command", Default: "`spine`"),
        new("ConfigRoot", P, SettingType.Path, "ResolveConfigs: resolve every config under this folder (relative to the current folder)"),
        new("ResolvedConfigDir", P, SettingType.Path, "ResolveConfigs: write one JSON result per config here"),

        // ---- extension points (microsoft/MSBuildSdks style)
        new("CustomBeforeSpineProdProps", P, SettingType.Path, "Extension point: a file imported before SpineProd's props"),
        new("CustomAfterSpineProdProps", P, SettingType.Path, "Extension point: a file imported after SpineProd's props"),
        new("CustomBeforeSpineProdTargets", P, SettingType.Path, "Extension point: a file imported before SpineProd's targets"),
        new("CustomAfterSpineProdTargets", P, SettingType.Path, "Extension point: a file imported after SpineProd's targets"),
        new("SpineProdPlanDependsOn", P, SettingType.Text, "Extension point: targets to run before planning (append: `$(SpineProdPlanDependsOn);Mine`)"),
        new("SpineProdBuildDependsOn", P, SettingType.Text, "Extension point: the targets Build runs", Default: "`SpineProdPlan`", MSBuildDefault: "SpineProdPlan"),
        new("SpineProdBinlogStagingDir", P, SettingType.Path, "Where command-line builds leave their audit binlogs",
            Default: "`jobs/.binlogs/`", MSBuildDefault: "$(SpineProdRoot)jobs/.binlogs/"),
    ];

    private static readonly Dictionary<string, Setting> ByName = All
        .SelectMany(s => new[] { s.Name }.Concat(s.AllAliases).Concat(s.StageAliases ?? []).Select(n => (n, s)))
        .ToDictionary(x => x.n, x => x.s, StringComparer.OrdinalIgnoreCase);

    /// <summary>The setting of a name or alias, or null.</summary>
    public static Setting? Find(string name) => ByName.GetValueOrDefault(name);

    /// <summary>Every property name a production may set (aliases included).</summary>
    public static readonly IReadOnlyList<string> PropertyNames =
        All.Where(s => s.IsProperty).SelectMany(s => new[] { s.Name }.Concat(s.AllAliases)).ToArray();

    /// <summary>Every metadata name a &lt;Stage&gt; item may have (aliases included).</summary>
    public static readonly IReadOnlyList<string> StageMetadataNames =
        All.Where(s => s.IsStageMetadata).SelectMany(s => (s.StageAliases ?? []).Concat([s.Name]).Concat(s.AllAliases)).ToArray();

    /// <summary>The settings the planner receives in <c>_SpineProdSettings</c>, in that item's order.</summary>
    public static readonly IReadOnlyList<Setting> PlanSettings = All.Where(s => s.IsPlanSetting).ToArray();

    /// <summary>Pipeline YAML stage key → the setting's name (as &lt;Stage&gt; metadata).</summary>
    public static readonly IReadOnlyDictionary<string, string> PipelineKeys = All
        .SelectMany(s => (s.PipelineKey is null ? [] : new[] { s.PipelineKey }).Concat(s.PipelineAliases ?? []).Select(k => (Key: k, s.Name)))
        .ToDictionary(x => x.Key, x => x.Name, StringComparer.Ordinal);
}
