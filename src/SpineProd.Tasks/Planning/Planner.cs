using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;
using SpineProd.Config;
using SpineProd.Profiles;
using SpineProd.Sites;

namespace SpineProd.Planning;

/// <summary>
/// Turns a production into a plan and writes it, in named steps: the stage order
/// (<see cref="StageOrder"/>), then per stage its settings (<see cref="StageSettings"/>), config and
/// profile, resources (<see cref="StageResources"/>), runtime (<see cref="StageRuntime"/>), inputs
/// (<see cref="StageInputs"/>) and chunks (<see cref="Chunking"/>); then the cleanup policy
/// (<see cref="CleanupPolicy"/>) and the files (<see cref="PlanWriter"/>). Every step reports to
/// one <see cref="PlanProblems"/>; nothing is written when it holds an error.
/// </summary>
public sealed partial class Planner
{
    private readonly PlanRequest _request;
    private readonly PlanProblems _problems = new();
    private readonly List<string> _dependencies = new();
    private readonly System.Diagnostics.Stopwatch _clock = System.Diagnostics.Stopwatch.StartNew();
    private PlanWriter? _writer;

    public Planner(PlanRequest request) => _request = request;

    /// <summary>Errors and warnings, each at the file and line to fix. Planning stopped at the first error that left nothing to go on with.</summary>
    public IReadOnlyList<Diagnostics.SpnDiagnostic> Diagnostics => _problems.All;
    /// <summary>Files read besides the MSBuild items (configs, templates, lists): the next build's Inputs.</summary>
    public IReadOnlyList<string> Dependencies => _dependencies;
    /// <summary>Counts of files written and left unchanged, for the build's summary line.</summary>
    public int FilesWritten => _writer?.FilesWritten ?? 0;
    public int FilesUnchanged => _writer?.FilesUnchanged ?? 0;
    /// <summary>What was chosen and why (latest picks, modifier versions), for the build log.</summary>
    public List<string> Messages { get; } = new();
    /// <summary>Where the time went (read, check, write), for `-v:n` and the benchmark.</summary>
    public List<(string Phase, TimeSpan Time)> Timings { get; } = new();

    private void Lap(string phase)
    {
        Timings.Add((phase, _clock.Elapsed));
        _clock.Restart();
    }

    /// <summary>The plan, written when nothing is wrong; null when a mistake stopped it (see <see cref="Diagnostics"/>).</summary>
    public ProductionPlan? Plan()
    {
        try { return PlanAndWrite(); }
        catch (PlanProblems.Stopped) { return null; }
    }

    private ProductionPlan? PlanAndWrite()
    {
        var production = new StageSettings(_request, null);
        var profilesFile = production["ProfilesFile"];
        var catalog = _problems.Catch(() => ProfileCatalog.Load(Path.GetFullPath(profilesFile.Value, _request.ProductionDir)), profilesFile);
        _dependencies.Add(catalog.File);
        var siteSetting = production["Site"];
        var site = SiteSelection.Resolve(siteSetting, _request.Scheduler, catalog, _request.SdkProfilesFile, _problems);
        if (site.File != catalog.File) _dependencies.Add(site.File);

        bool multiStage = _request.Stages.Count > 0;
        var stageRequests = multiStage ? _request.Stages
            : [new StageRequest(_request.ProductionName, new Dictionary<string, string>(), _request.ProductionFile, 0)];

        int maxArraySize = _request.MaxArraySize ?? catalog.MaxArraySize ?? 1000;
        if (maxArraySize < 1)
            _problems.Stop("SPN1023", $"MaxArraySize must be a positive integer, not {maxArraySize}.", _request.ProductionFile, _request.Xml?.PropertyLine("MaxArraySize") ?? 0);
        string maxArraySource = _request.MaxArraySize is not null ? _request.MaxArraySizeSource ?? "property"
            : catalog.MaxArraySize is not null ? $"defaults.max_array_size in {Path.GetFileName(catalog.File)}" : "built-in default";

        var plan = new ProductionPlan
        {
            ProductionFile = _request.ProductionFile,
            ProductionName = _request.ProductionName,
            MaxArraySize = maxArraySize,
            MaxArraySizeSource = maxArraySource,
            JobsDir = _request.JobsDir,
            StateDir = _request.StateDir,
            Identity = _request.Identity,
            IdentityPath = _request.IdentityPath,
            StateDirAcceptsUnownedLedger = _request.StateDirAcceptsUnownedLedger,
            Scheduler = _request.Scheduler,
            OutputOwner = OwnedFolder.OwnerLine(_request.ProductionFile),
        };

        // Stages are planned upstream first: a stage may read another's planned outputs.
        var inputs = new StageInputs(_request, _problems, _dependencies);
        var planned = new Dictionary<string, PlannedStage>(StringComparer.Ordinal);
        var stages = new List<PlannedStage>();
        foreach (var request in StageOrder.Of(stageRequests, _problems))
        {
            var stage = PlanStage(request, multiStage, catalog, site, maxArraySize, () => inputs.Read(request, stageRequests, multiStage, planned), inputs);
            planned[request.Name] = stage;
            stages.Add(stage);
        }
        new CleanupPolicy(_request, _problems).Plan(stages, catalog, site);
        foreach (var g in stages.GroupBy(s => s.Plan.JobName).Where(g => g.Count() > 1))
            _problems.Stop("SPN4003", $"Stages {string.Join(", ", g.Select(s => s.Plan.Name))} have the same JobName '{g.Key}'; give each stage its own.", _request.ProductionFile, 0);

        plan.Stages = stages.Select(s => s.Plan).ToList();
        plan.PlanSha256 = PlanHash(stages);
        if (_problems.HasErrors) return null;
        _writer = new PlanWriter(_request.IntermediateDir, _dependencies);
        _problems.Catch(() => { _writer.Write(plan, stages); return 0; });
        Lap("write");
        return plan;
    }

    /// <summary>One stage: its config and profile, resources, runtime, job name, outputs, inputs and arrays.</summary>
    private PlannedStage PlanStage(StageRequest stage, bool multiStage, ProfileCatalog catalog, SiteDefinition site, int maxArraySize, Func<InputStore> readInputs, StageInputs inputs)
    {
        var s = new StageSettings(_request, multiStage ? stage : null);

        // Config first: the detector and the default job name come from it.
        var configSetting = s["SpineConfig"];
        if (!configSetting.IsSet)
            _problems.Stop("SPN1027", multiStage
                ? $"Stage '{stage.Name}' has no Config (and the production sets no <SpineConfig>)."
                : "The production sets no <SpineConfig>: name the SPINE config to run (e.g. ../infer/icarus/latest).", stage.File, stage.Line);
        var mods = JobConfigResolver.SplitModifierSpecs(s["ApplyMods"].Value);
        var spineArgs = _problems.Catch(() => SpineArgumentSettings.Read(s.AsFunc()));
        var config = _problems.Catch(() => JobConfigResolver.Resolve(configSetting.Value, mods, _request.ProductionDir, _request.RepoRoot, _request.Environment,
            spineArgs.Set, spineArgs.SetAt.File, spineArgs.SetAt.Line), configSetting);
        _dependencies.AddRange(config.Dependencies);
        _problems.AddRange(config.Warnings);
        Messages.AddRange(config.Messages.Select(m => $"{stage.Name}: {m}"));

        var detectorSetting = s["Detector"];
        string detector = detectorSetting.IsSet ? detectorSetting.Value
            : config.Detector ?? catalog.DetectDetector(Path.GetFullPath(configSetting.Value, _request.ProductionDir));
        var profileSetting = s["Profile"];
        string profileName = profileSetting.IsSet ? profileSetting.Value : ProfileCatalog.AutoProfile;
        var profile = _problems.Catch(() => catalog.Resolve(profileName, detector, site), profileSetting, blameAlways: true);
        var resources = StageResources.Resolve(s, profile, site, catalog, detector, _problems);

        var jobNameSetting = s["JobName"];
        string jobName = jobNameSetting.IsSet ? jobNameSetting.Value
            // A stage is named after itself, as in spine-prod (its cleanup job: cleanup_<stage>).
            : multiStage ? stage.Name : $"spine_{detector}_{config.ConfigStem}";
        if (!StageResources.IsSafeWord(jobName) || jobName.Contains(':'))
            _problems.Stop("SPN1025", jobNameSetting, $"JobName '{jobName}' may use only letters, digits and _ . + -");

        var filesPerTaskSetting = s["FilesPerTask"];
        int filesPerTask = PositiveInt(filesPerTaskSetting, "SPN1020", "FilesPerTask") ?? 1;
        // TaskCount: spine-prod >= 0.6's "--ntasks N" alone (N roughly even tasks). MaxRunningTasks
        // (alias Ntasks) keeps the throttle meaning spine-prod had before, and still has with --files-per-task.
        var taskCountSetting = s["TaskCount"];
        int? taskCount = PositiveInt(taskCountSetting, "SPN1065", "TaskCount");
        if (taskCount is not null && filesPerTaskSetting.IsSet)
            _problems.Stop("SPN1065", taskCountSetting, "TaskCount and FilesPerTask both say how to cut the inputs; set one of them");
        int? throttle = PositiveInt(s["MaxRunningTasks"], "SPN1022", "MaxRunningTasks");

        // The user's own wait is in the scheduler's syntax; Submit adds the afterok on the upstream stages' jobs to it.
        var dependency = s["Dependency"];
        var upstream = StageOrder.Upstream(stage);
        if (dependency.IsSet && Scheduler.Schedulers.Dialect(_request.Scheduler).CheckDependency(dependency.Value.Trim(), upstream.Count > 0) is { } wrong)
            _problems.Stop(wrong.Code, dependency, wrong.Message);

        var (outputDir, output) = Outputs(s, stage, multiStage, jobName);
        var runtime = StageRuntime.Resolve(s, site, catalog.DefaultSpineVersion, _request.ProductionDir, resources.Gpus, _dependencies.Add, _problems);
        string template = Path.GetFullPath(s["JobTemplate"].Value, _request.ProductionDir);
        string cleanupTemplate = Path.GetFullPath(s["CleanupTemplate"].Value, _request.ProductionDir);

        var raw = readInputs();
        Lap($"read {stage.Name}");
        var list = inputs.Check(stage.Name, raw);
        Lap($"check {stage.Name}");
        // No Source or SourceList at all (not an empty list, not a glob that matched nothing): the
        // config names the inputs, as spine-prod >= 0.6 runs it, as one task.
        bool fromConfig = list.Count == 0 && !inputs.Declares(stage, multiStage) && SpineArgumentSettings.ConfigNamesInputs(config.Config);
        if (taskCount is int n) filesPerTask = Chunking.FilesPerTaskFor(list.Count, n);
        if (list.Count == 0 && !fromConfig && !_problems.HasErrors)
            _problems.Stop("SPN1010", multiStage
                ? stage.File.EndsWith(".spineproj", StringComparison.OrdinalIgnoreCase) || stage.File == _request.ProductionFile
                    ? $"Stage '{stage.Name}' has no inputs: add Source or SourceList items with Stage=\"{stage.Name}\"."
                    : $"Stage '{stage.Name}' has no inputs: give it 'files:' (paths or globs, relative to the repository root), 'source_list:', or 'inputs_from:' an upstream stage."
                : "The production has no inputs: add <Source Include=\"...\"/> (files or globs) or <SourceList Include=\"list.txt\"/> items (or the lists are empty), or name them in the config (io.loader.dataset.file_keys, or SpineSet=io.loader.dataset.file_keys=[...]).",
                stage.File, stage.Line);

        var stagePlan = new StagePlan
        {
            Name = stage.Name,
            JobName = jobName,
            Detector = detector,
            Config = config.DisplayName,
            ConfigArgument = config.ConfigArgument,
            ConfigSha256 = config.ResolvedSha256.Length > 0 ? config.ResolvedSha256 : null,
            ConfigFiles = config.FilesToWrite.Keys.Select(Layout.ProductionLayout.Job.ConfigFile).OrderBy(k => k, StringComparer.Ordinal).ToList(),
            ApplyMods = mods.ToList(),
            Profile = profileName,
            ResolvedProfile = profile.Name,
            Resources = resources,
            Site = site.Name,
            Dependency = dependency.IsSet ? dependency.Value : null,
            DependsOn = upstream,
            InputsFrom = StageSettings.SplitList(stage.Metadata.GetValueOrDefault("InputsFrom")),
            OutputDir = outputDir,
            Output = output,
            FileCount = list.Count,
            FilesPerTask = filesPerTask,
            MaxRunningTasks = throttle,
            Runtime = runtime,
            Template = template,
        };
        _problems.Catch(() => { spineArgs.ApplyTo(stagePlan, fromConfig, config.ConfigArgument, s.AsFunc()); return 0; });
        stagePlan.Downloads = _problems.Catch(() => SpineProd.Downloads.ConfigDownloads.Plan(config.Config, s.AsFunc()));
        Chunking.Chunk(stagePlan, maxArraySize, Scheduler.Schedulers.Dialect(_request.Scheduler));
        return new PlannedStage(stage, stagePlan, list, runtime, config, template, cleanupTemplate);
    }

    /// <summary>
    /// One output folder per stage that stays the same across resubmissions. Relative output paths
    /// are relative to the production's state folder: they are its own.
    /// </summary>
    private (string OutputDir, string Output) Outputs(StageSettings s, StageRequest stage, bool multiStage, string jobName)
    {
        var outputDirSetting = s["OutputDir"];
        var outputSetting = s["OutputFile"];
        string outputDir = outputDirSetting.IsSet ? Path.GetFullPath(outputDirSetting.Value, _request.StateDir)
            : outputSetting.IsSet ? Path.GetDirectoryName(Path.GetFullPath(outputSetting.Value, _request.StateDir))!
            : new Layout.ProductionLayout(_request.StateDir).DefaultOutputDir(multiStage ? stage.Name : null);
        outputDir = Path.TrimEndingDirectorySeparator(outputDir);
        string output = outputSetting.IsSet ? Path.GetFullPath(outputSetting.Value, _request.StateDir) : Path.Combine(outputDir, jobName + ".h5");
        if (output.IndexOfAny(['\n', '\r']) >= 0) _problems.Stop("SPN1025", outputSetting, "OutputFile contains a newline");
        if (outputDir.IndexOfAny(['\n', '\r']) >= 0) _problems.Stop("SPN1025", outputDirSetting, "OutputDir contains a newline");
        return (outputDir, output);
    }

    /// <summary>A whole number of at least 1, or null when unset.</summary>
    private int? PositiveInt(SettingValue s, string code, string name)
    {
        if (!s.IsSet) return null;
        if (int.TryParse(s.Value, out int v) && v >= 1) return v;
        _problems.Stop(code, s, $"{name} must be a whole number of at least 1, not '{s.Value}'");
        return null;
    }

    private static string PlanHash(List<PlannedStage> stages)
    {
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        foreach (var s in stages)
        {
            sha.AppendData(Encoding.UTF8.GetBytes($"{s.Plan.Name}\n{s.Plan.JobName}\n{s.Plan.ConfigArgument}\n{s.Plan.FilesPerTask}\n{s.Plan.ArraySize}\n"));
            s.Inputs.HashInto(sha);
        }
        return Convert.ToHexStringLower(sha.GetHashAndReset());
    }

}
