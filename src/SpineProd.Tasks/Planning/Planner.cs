using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;
using SpineProd.Config;
using SpineProd.Diagnostics;
using SpineProd.IO;
using SpineProd.Profiles;
using SpineProd.Rendering;

namespace SpineProd.Planning;

/// <summary>
/// Turns a production into a plan and writes it: per stage, the chunk lists and job scripts, and
/// plan.json. Every file is written only when its bytes change, so an unchanged production leaves
/// every timestamp alone. Inputs from source lists are read here, never as MSBuild items.
/// </summary>
public sealed partial class Planner
{
    private readonly PlanRequest _request;
    private readonly List<SpnDiagnostic> _diagnostics = new();
    private readonly List<string> _dependencies = new();

    public Planner(PlanRequest request) => _request = request;

    /// <summary>Warnings (and, with IsError, errors that did not stop planning) found on the way.</summary>
    public IReadOnlyList<SpnDiagnostic> Diagnostics => _diagnostics;
    /// <summary>Files read besides the MSBuild items (configs, templates): the next build's Inputs.</summary>
    public IReadOnlyList<string> Dependencies => _dependencies;
    /// <summary>Counts of files written and left unchanged, for the build's summary line.</summary>
    public int FilesWritten => _filesWritten;
    public int FilesUnchanged => _filesUnchanged;
    /// <summary>What was chosen and why (latest picks, modifier versions), for the build log.</summary>
    public List<string> Messages { get; } = new();
    /// <summary>Where the time went (read, check, write), for `-v:n` and the benchmark.</summary>
    public List<(string Phase, TimeSpan Time)> Timings { get; } = new();
    private readonly System.Diagnostics.Stopwatch _clock = System.Diagnostics.Stopwatch.StartNew();

    private void Lap(string phase)
    {
        Timings.Add((phase, _clock.Elapsed));
        _clock.Restart();
    }

    /// <summary>A stage with everything resolved, before it is written.</summary>
    private sealed record ResolvedStage(StageRequest Request, StagePlan Plan, InputStore Inputs, JobRuntime Runtime, ResolvedJobConfig Config, string Template, string CleanupTemplate);

    public ProductionPlan Plan()
    {
        var first = Setting(null, "ProfilesFile");
        var catalog = ProfileCatalog.Load(Path.GetFullPath(first.Value, _request.ProductionDir));
        _dependencies.Add(catalog.File);

        var stageRequests = _request.Stages.Count > 0
            ? _request.Stages
            : [new StageRequest(_request.ProductionName, new Dictionary<string, string>(), _request.ProductionFile, 0)];
        bool multiStage = _request.Stages.Count > 0;

        int maxArraySize = _request.MaxArraySize ?? catalog.MaxArraySize ?? 1000;
        string maxArraySource = _request.MaxArraySize is null ? (catalog.MaxArraySize is null ? "built-in default" : $"defaults.max_array_size in {Path.GetFileName(catalog.File)}") : _request.MaxArraySizeSource ?? "property";

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
        var order = StageOrder(stageRequests);
        var byName = new Dictionary<string, ResolvedStage>(StringComparer.Ordinal);
        var resolved = new List<ResolvedStage>();
        foreach (var stage in order)
        {
            var r = ResolveStage(stage, multiStage, catalog, () => ReadInputs(stage, stageRequests, multiStage, byName), maxArraySize);
            byName[stage.Name] = r;
            resolved.Add(r);
        }
        PlanCleanups(resolved, catalog);

        CheckJobNamesUnique(resolved);
        plan.Stages = resolved.Select(s => s.Plan).ToList();
        plan.PlanSha256 = PlanHash(resolved);

        if (_diagnostics.Any(d => d.IsError)) return plan;
        Write(plan, resolved);
        Lap("write");
        return plan;
    }

    // ---------------------------------------------------------------- settings

    /// <summary>Precedence: -p: on the command line > stage metadata > the production's property.</summary>
    private SettingValue Setting(StageRequest? stage, string name, params string[] stageAliases)
    {
        string propertyName = name;
        var settings = _request.Settings;
        if (_request.GlobalProperties.Contains(propertyName) && settings.TryGetValue(name, out var global))
            return new SettingValue(global.Trim(), _request.ProductionFile, 0, $"-p:{propertyName} on the command line");
        if (stage is not null)
            foreach (var key in stageAliases.Prepend(name))
                if (stage.Metadata.TryGetValue(key, out var v) && v.Length > 0)
                    return new SettingValue(v.Trim(), stage.File, stage.LineOf(key), $"{key} of stage '{stage.Name}'");
        settings.TryGetValue(name, out var value);
        // A property set through its alias (<Ntasks> for MaxRunningTasks) is at the alias's line.
        int line = _request.Xml?.PropertyLine(propertyName) ?? 0;
        foreach (var alias in stageAliases)
            if (line == 0) line = _request.Xml?.PropertyLine(alias) ?? 0;
        return new SettingValue((value ?? "").Trim(), _request.ProductionFile, line, $"<{propertyName}>");
    }

    private SpineProdException Invalid(string code, SettingValue s, string message) =>
        new(code, $"{message} (from {s.Origin}).", s.File, s.Line, s.Line > 0 ? 1 : 0);

    // ---------------------------------------------------------------- inputs

    /// <summary>
    /// The inputs of one stage, in declaration order: its Source files, SourceList entries and globs,
    /// and the planned outputs of the stages it reads from (InputsFrom, or a glob inside an upstream
    /// stage's output folder), which are known before anything has run.
    /// </summary>
    private InputStore ReadInputs(StageRequest stage, IReadOnlyList<StageRequest> stages, bool multiStage, Dictionary<string, ResolvedStage> upstream)
    {
        var list = new InputStore();
        foreach (var item in _request.Sources)
        {
            string target = item.Stage is { Length: > 0 } st ? st : stages[0].Name;
            string itemType = item.Kind switch { SourceKind.List => "SourceList", _ => "Source" };
            string declaredIn = item.DeclaredIn ?? _request.ProductionFile;
            if (!stages.Any(s => s.Name == target))
            {
                if (stage == stages[0])
                    _diagnostics.Add(new("SPN4001", $"{itemType} '{item.FullPath}' names stage '{target}', which is not a stage of this production. Stages: {string.Join(", ", stages.Select(s => s.Name))}.", declaredIn, item.Line, 1, IsError: true));
                continue;
            }
            if (multiStage && stages.Count > 1 && item.Stage is not { Length: > 0 })
            {
                if (stage == stages[0])
                    _diagnostics.Add(new("SPN4002", $"{itemType} '{item.FullPath}' has no Stage metadata; with several stages every Source and SourceList must name its stage (Stage=\"...\").", declaredIn, item.Line, 1, IsError: true));
                continue;
            }
            if (target != stage.Name) continue;
            switch (item.Kind)
            {
                case SourceKind.List:
                    ReadSourceList(item.FullPath, declaredIn, item.Line, list);
                    break;
                case SourceKind.Glob:
                    ExpandGlob(item, list, upstream);
                    break;
                default:
                    if (File.Exists(item.FullPath))
                        list.Add(item.FullPath, list.FileId(declaredIn), item.Line);
                    else
                        _diagnostics.Add(new("SPN1011", $"Source file '{item.FullPath}' does not exist.", declaredIn, item.Line, 1, IsError: true));
                    break;
            }
        }
        foreach (var from in SplitList(stage.Metadata.GetValueOrDefault("InputsFrom")))
            if (upstream.TryGetValue(from, out var up))
                foreach (var output in PlannedOutputs(up))
                    list.Add(output, list.FileId(stage.File), stage.Line);

        // The production's own Source globs, unless a pipeline replaced them (then they are not read at all).
        if (_request.Xml is { } xml && stage == stages[0] && _request.PipelineFile is null)
            foreach (var (pattern, line, _) in xml.ItemPatterns("Source"))
                if (ProductionFile.IsGlob(pattern) && !pattern.Contains("$(") && !pattern.Contains("@("))
                {
                    var regex = ProductionFile.GlobToRegex(Path.GetFullPath(pattern, _request.ProductionDir));
                    if (!_request.Sources.Any(s => s.Kind == SourceKind.File && regex.IsMatch(s.FullPath.Replace('\\', '/'))))
                        _diagnostics.Add(new("SPN1012", $"Source glob '{pattern}' matched no file.", _request.ProductionFile, line, 1));
                }
        return list;
    }

    /// <summary>
    /// A pipeline's glob: inside an upstream stage's output folder it selects that stage's planned
    /// outputs (nothing exists yet when a pipeline is planned); elsewhere it is expanded on disk.
    /// </summary>
    private void ExpandGlob(SourceItem item, InputStore list, Dictionary<string, ResolvedStage> upstream)
    {
        var regex = ProductionFile.GlobToRegex(item.FullPath);
        string declaredIn = item.DeclaredIn ?? _request.ProductionFile;
        int fileId = list.FileId(declaredIn);
        foreach (var up in upstream.Values)
            if (item.FullPath.StartsWith(up.Plan.OutputDir + "/", StringComparison.Ordinal))
            {
                foreach (var output in PlannedOutputs(up))
                    if (regex.IsMatch(output)) list.Add(output, fileId, item.Line);
                return;
            }
        int wildcard = item.FullPath.IndexOfAny(['*', '?']);
        string root = Path.GetDirectoryName(item.FullPath[..wildcard] + "x")!;
        bool deep = item.FullPath.IndexOf('/', wildcard) >= 0 || item.FullPath.Contains("**");
        int before = list.Count;
        if (Directory.Exists(root))
            foreach (var f in Directory.EnumerateFiles(root, "*", deep ? SearchOption.AllDirectories : SearchOption.TopDirectoryOnly).Order(StringComparer.Ordinal))
                if (regex.IsMatch(f)) list.Add(f, fileId, item.Line);
        if (list.Count == before)
            _diagnostics.Add(new("SPN1012", $"Glob '{item.FullPath}' matched no file.", declaredIn, item.Line, 1));
    }

    /// <summary>The files a stage will write: SPINE's split_output names, &lt;output dir&gt;/&lt;input stem&gt;_&lt;output stem&gt;.h5.</summary>
    private static IEnumerable<string> PlannedOutputs(ResolvedStage stage)
    {
        for (int i = 0; i < stage.Inputs.Count; i++)
            yield return SpineArgumentSettings.PlannedOutput(stage.Plan, i / stage.Plan.FilesPerTask, stage.Inputs[i]);
    }

    /// <summary>Whether the stage names any inputs itself: Source/SourceList items (also globs that matched nothing), or InputsFrom.</summary>
    private bool DeclaresInputs(StageRequest stage, bool multiStage)
    {
        if (SplitList(stage.Metadata.GetValueOrDefault("InputsFrom")).Count > 0) return true;
        if (_request.Sources.Any(s => s.Stage == stage.Name || (string.IsNullOrEmpty(s.Stage) && (!multiStage || _request.Stages.Count <= 1 || _request.Stages[0].Name == stage.Name))))
            return true;
        // Items MSBuild expanded to nothing (a glob that matched no file) still declare inputs.
        return _request.PipelineFile is null && _request.Xml is { } xml && (xml.ItemPatterns("Source").Any() || xml.ItemPatterns("SourceList").Any());
    }

    /// <summary>Stages in dependency order (declaration order where free); unknown names and cycles are errors at their stage.</summary>
    private static List<StageRequest> StageOrder(IReadOnlyList<StageRequest> stages)
    {
        var byName = new Dictionary<string, StageRequest>(StringComparer.Ordinal);
        foreach (var s in stages)
            if (!byName.TryAdd(s.Name, s))
                throw new SpineProdException("SPN4004", $"Two stages are named '{s.Name}'.", s.File, s.Line, 1);
        IEnumerable<string> Upstream(StageRequest s) =>
            SplitList(s.Metadata.GetValueOrDefault("DependsOn")).Concat(SplitList(s.Metadata.GetValueOrDefault("InputsFrom"))).Distinct();
        foreach (var s in stages)
            foreach (var u in Upstream(s))
                if (!byName.ContainsKey(u))
                    throw new SpineProdException("SPN4005", $"Stage '{s.Name}' depends on '{u}', which is not a stage. Stages: {string.Join(", ", byName.Keys)}.", s.File, s.Line, 1);
        var order = new List<StageRequest>();
        var state = new Dictionary<string, int>(); // 1 = visiting, 2 = done
        void Visit(StageRequest s, List<string> path)
        {
            if (state.GetValueOrDefault(s.Name) == 2) return;
            if (state.GetValueOrDefault(s.Name) == 1)
                throw new SpineProdException("SPN4006", $"Stages depend on each other in a cycle: {string.Join(" -> ", path.SkipWhile(n => n != s.Name).Append(s.Name))}.", s.File, s.Line, 1);
            state[s.Name] = 1;
            path.Add(s.Name);
            foreach (var u in Upstream(s)) Visit(byName[u], path);
            path.RemoveAt(path.Count - 1);
            state[s.Name] = 2;
            order.Add(s);
        }
        foreach (var s in stages) Visit(s, new List<string>());
        return order;
    }

    private void ReadSourceList(string path, string declaredIn, int itemLine, InputStore into)
    {
        if (Directory.Exists(path))
            throw new SpineProdException("SPN1014", $"SourceList '{path}' is a directory; a source list is a text file with one input path a line.", declaredIn, itemLine, 1);
        if (!File.Exists(path))
            throw new SpineProdException("SPN1013", $"SourceList '{path}' does not exist.", declaredIn, itemLine, 1);
        _dependencies.Add(path);
        // Relative entries are relative to the list file (jobs run in their job folder).
        (string Problem, int Line)? problem;
        try { problem = into.ReadList(path, Path.GetDirectoryName(path)!, into.FileId(path)); }
        catch (IO.FileRefusedException e)
        {
            throw new SpineProdException("SPN1045", $"SourceList '{path}' cannot be read: {e.Reason}; a source list is a text file with one input path a line.", declaredIn, itemLine, 1);
        }
        if (problem is not null)
            throw new SpineProdException("SPN1014", $"SourceList is not a text file ({problem.Value.Problem}); a source list has one input path a line.", path, problem.Value.Line, 1);
    }

    /// <summary>Keeps the first of duplicate inputs (warning) and refuses two inputs with one file name (their outputs would collide).</summary>
    private InputStore CheckInputs(string stage, InputStore list)
    {
        // One index from file name to the first input with it finds both duplicates (same path) and
        // collisions (same name, other path), on the UTF-8 bytes, without making strings.
        var names = new InputStore.NameIndex(list);
        var keep = new bool[list.Count];
        int duplicates = 0;
        for (int i = 0; i < list.Count; i++)
        {
            var bytes = list.Bytes(i);
            int bad = bytes.IndexOfAny((byte)',', (byte)'\n', (byte)'\t');
            if (bad < 0) bad = bytes.IndexOf((byte)'\r');
            if (bad >= 0)
            {
                var (file, line) = list.Origin(i);
                string what = bytes[bad] == (byte)',' ? "a comma (task lists are comma-separated)" : "a newline or tab";
                _diagnostics.Add(new("SPN1017", $"Input path '{list[i].Replace("\n", "\\n")}' contains {what}; it cannot be passed to a job safely. Rename the file.", file, line, 1, IsError: true));
                continue;
            }
            int first = names.FindOrAdd(i);
            if (first >= 0)
            {
                var (file, line) = list.Origin(i);
                if (list.Bytes(first).SequenceEqual(bytes))
                {
                    if (duplicates++ < 10)
                        _diagnostics.Add(new("SPN1015", $"Input '{list[i]}' is listed more than once in stage '{stage}'; it is processed once.", file, line, 1));
                }
                else
                    _diagnostics.Add(new("SPN1016", $"Inputs '{list[first]}' and '{list[i]}' have the same file name '{Path.GetFileName(list[i])}': their outputs would overwrite each other. Rename one or split them into two productions.", file, line, 1, IsError: true));
                continue;
            }
            keep[i] = true;
        }
        if (duplicates > 10)
            _diagnostics.Add(new("SPN1015", $"{duplicates} duplicate inputs in stage '{stage}' in all (the first 10 are listed); each is processed once.", _request.ProductionFile, 0, 0));
        list.Compact(keep);
        return list;
    }

    // ---------------------------------------------------------------- stages

    private ResolvedStage ResolveStage(StageRequest stage, bool multiStage, ProfileCatalog catalog, Func<InputStore> readInputs, int maxArraySize)
    {
        SettingValue S(string name, params string[] aliases) => Setting(multiStage ? stage : null, name, aliases);

        // Config first: the detector and the default job name come from it.
        var configSetting = S("SpineConfig", "Config");
        if (!configSetting.IsSet)
            throw new SpineProdException("SPN1027", multiStage
                ? $"Stage '{stage.Name}' has no Config (and the production sets no <SpineConfig>)."
                : "The production sets no <SpineConfig>: name the SPINE config to run (e.g. ../infer/icarus/latest).", stage.File, stage.Line, stage.Line > 0 ? 1 : 0);
        var mods = JobConfigResolver.SplitModifierSpecs(S("ApplyMods").Value);
        var spineArgs = SpineArgumentSettings.Read(S);
        ResolvedJobConfig config;
        try
        {
            config = JobConfigResolver.Resolve(configSetting.Value, mods, _request.ProductionDir, _request.RepoRoot, _request.Environment,
                spineArgs.Set, spineArgs.SetAt.File, spineArgs.SetAt.Line);
        }
        catch (SpineProdException e) when (e.File is null)
        {
            throw new SpineProdException(e.Code, e.Message, configSetting.File, configSetting.Line, configSetting.Line > 0 ? 1 : 0, e);
        }
        _dependencies.AddRange(config.Dependencies);
        _diagnostics.AddRange(config.Warnings);
        Messages.AddRange(config.Messages.Select(m => $"{stage.Name}: {m}"));

        var detectorSetting = S("Detector");
        string detector = detectorSetting.IsSet ? detectorSetting.Value
            : config.Detector ?? catalog.DetectDetector(Path.GetFullPath(configSetting.Value, _request.ProductionDir));

        var profileSetting = S("Profile");
        string profileName = profileSetting.IsSet ? profileSetting.Value : ProfileCatalog.AutoProfile;
        Profile profile;
        try { profile = catalog.Resolve(profileName, detector); }
        catch (SpineProdException e) { throw new SpineProdException(e.Code, e.Message, profileSetting.File, profileSetting.Line, 1); }

        var resources = new Resources
        {
            Account = Pick(S("Account"), profile.Account, catalog.Detector(detector)?.Account, catalog.DefaultAccount),
            Partition = Pick(S("Partition"), profile.Partition),
            Qos = Pick(S("Qos"), profile.Qos),
            Gpus = PickInt(S("Gpus"), profile.Gpus, 0),
            CpusPerTask = PickInt(S("CpusPerTask"), profile.CpusPerTask, 1),
            MemPerCpu = Pick(S("MemPerCpu"), profile.MemPerCpu),
            Time = Pick(S("Time"), profile.Time),
            Description = profile.Description,
        };
        ValidateResources(resources, S);

        var jobNameSetting = S("JobName");
        string jobName = jobNameSetting.IsSet ? jobNameSetting.Value
            // A stage is named after itself, as in spine-prod (its cleanup job: cleanup_<stage>).
            : multiStage ? stage.Name : $"spine_{detector}_{config.ConfigStem}";
        jobName = SafeName(jobName, jobNameSetting);

        int filesPerTask = PositiveInt(S("FilesPerTask"), "SPN1020", "FilesPerTask", 1);
        // TaskCount: spine-prod >= 0.6's "--ntasks N" alone (N roughly even tasks). MaxRunningTasks
        // (alias Ntasks) keeps the throttle meaning spine-prod had before, and still has with --files-per-task.
        var taskCountSetting = S("TaskCount");
        int? taskCount = taskCountSetting.IsSet ? PositiveInt(taskCountSetting, "SPN1065", "TaskCount", 1) : null;
        if (taskCount is not null && S("FilesPerTask").IsSet)
            throw Invalid("SPN1065", taskCountSetting, $"TaskCount and FilesPerTask both say how to cut the inputs; set one of them");
        var throttleSetting = S("MaxRunningTasks", "Ntasks");
        int? throttle = throttleSetting.IsSet ? PositiveInt(throttleSetting, "SPN1022", "MaxRunningTasks", 1) : null;
        if (maxArraySize < 1)
            throw new SpineProdException("SPN1023", $"MaxArraySize must be a positive integer, not {maxArraySize}.", _request.ProductionFile, _request.Xml?.PropertyLine("MaxArraySize") ?? 0, 1);

        var dependency = S("Dependency");
        if (dependency.IsSet && !DependencyPattern().IsMatch(dependency.Value))
            throw Invalid("SPN1024", dependency, $"Dependency '{dependency.Value}' is not SLURM dependency syntax (e.g. afterok:12345 or afterok:1:2,afterany:3)");
        // Submit adds ",afterok:<upstream arrays>" to a stage's own Dependency: SLURM cannot mix that with '?' (any of).
        if (dependency.Value.Contains('?') && SplitList(stage.Metadata.GetValueOrDefault("DependsOn")).Concat(SplitList(stage.Metadata.GetValueOrDefault("InputsFrom"))).Any())
            throw Invalid("SPN4009", dependency, $"Dependency '{dependency.Value}' is an either-or (?) dependency, which SLURM cannot combine with the afterok on the stage's upstream stages; use ',' (all of)");

        // Outputs: one folder per stage that stays the same across resubmissions. Relative output
        // and cleanup paths are relative to the production's state folder: they are its own.
        var outputDirSetting = S("OutputDir");
        var outputSetting = S("OutputFile");
        string outputDir = outputDirSetting.IsSet ? Path.GetFullPath(outputDirSetting.Value, _request.StateDir)
            : outputSetting.IsSet ? Path.GetDirectoryName(Path.GetFullPath(outputSetting.Value, _request.StateDir))!
            : new Layout.ProductionLayout(_request.StateDir).DefaultOutputDir(multiStage ? stage.Name : null);
        outputDir = Path.TrimEndingDirectorySeparator(outputDir);
        string output = outputSetting.IsSet ? Path.GetFullPath(outputSetting.Value, _request.StateDir) : Path.Combine(outputDir, jobName + ".h5");
        foreach (var (value, what) in new[] { (output, "OutputFile"), (outputDir, "OutputDir") })
            if (value.IndexOfAny(['\n', '\r']) >= 0)
                throw Invalid("SPN1025", what == "OutputFile" ? outputSetting : outputDirSetting, $"{what} contains a newline");

        var runtime = Runtime(S);
        var templateSetting = S("JobTemplate");
        string template = Path.GetFullPath(templateSetting.Value, _request.ProductionDir);

        var raw = readInputs();
        Lap($"read {stage.Name}");
        var inputs = CheckInputs(stage.Name, raw);
        Lap($"check {stage.Name}");
        // No Source or SourceList at all (not an empty list, not a glob that matched nothing): the
        // config names the inputs, as spine-prod >= 0.6 runs it, as one task.
        bool fromConfig = inputs.Count == 0 && !DeclaresInputs(stage, multiStage) && SpineArgumentSettings.ConfigNamesInputs(config.Config);
        if (taskCount is int n && inputs.Count > 0)
            filesPerTask = (int)(((long)inputs.Count + n - 1) / n);
        if (inputs.Count == 0 && !fromConfig && !_diagnostics.Any(d => d.IsError))
            throw new SpineProdException("SPN1010", multiStage
                ? stage.File.EndsWith(".spineproj", StringComparison.OrdinalIgnoreCase) || stage.File == _request.ProductionFile
                    ? $"Stage '{stage.Name}' has no inputs: add Source or SourceList items with Stage=\"{stage.Name}\"."
                    : $"Stage '{stage.Name}' has no inputs: give it 'files:' (paths or globs, relative to the repository root), 'source_list:', or 'inputs_from:' an upstream stage."
                : "The production has no inputs: add <Source Include=\"...\"/> (files or globs) or <SourceList Include=\"list.txt\"/> items (or the lists are empty), or name them in the config (io.loader.dataset.file_keys, or SpineSet=io.loader.dataset.file_keys=[...]).",
                stage.File, stage.Line, stage.Line > 0 ? 1 : 0);

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
            Dependency = dependency.IsSet ? dependency.Value : null,
            // Reading another stage's outputs means waiting for it: InputsFrom is also a DependsOn.
            DependsOn = SplitList(stage.Metadata.GetValueOrDefault("DependsOn")).Union(SplitList(stage.Metadata.GetValueOrDefault("InputsFrom"))).ToList(),
            InputsFrom = SplitList(stage.Metadata.GetValueOrDefault("InputsFrom")),
            OutputDir = outputDir,
            Output = output,
            FileCount = inputs.Count,
            FilesPerTask = filesPerTask,
            MaxRunningTasks = throttle,
            Runtime = runtime,
            Template = template,
        };
        spineArgs.ApplyTo(stagePlan, fromConfig, config.ConfigArgument, S);
        stagePlan.Downloads = SpineProd.Downloads.ConfigDownloads.Plan(config.Config, S);
        Chunk(stagePlan, maxArraySize);
        string cleanupTemplate = Path.GetFullPath(S("CleanupTemplate").Value, _request.ProductionDir);
        return new ResolvedStage(stage, stagePlan, inputs, runtime, config, template, cleanupTemplate);
    }

    /// <summary>
    /// Cleanup jobs: a stage's Cleanup paths are removed by a small job that waits afterok on every
    /// stage downstream of it. A Cleanup path must be the stage's own output folder (compared as real
    /// paths, so a checkout reached through a symbolic link works), and is refused when another stage
    /// also writes there (SPN4013), when it is or holds the production's bookkeeping (SPN4014), or when
    /// it exists and this production did not create it (SPN4015). The job checks all of it again.
    /// </summary>
    private void PlanCleanups(List<ResolvedStage> stages, ProfileCatalog catalog)
    {
        foreach (var stage in stages)
        {
            var raw = SplitList(stage.Request.Metadata.GetValueOrDefault("Cleanup"));
            if (raw.Count == 0) continue;
            int line = stage.Request.LineOf("Cleanup");
            var paths = new List<string>();
            foreach (var p in raw)
            {
                string full = Path.TrimEndingDirectorySeparator(Path.GetFullPath(p, _request.StateDir));
                var refusal = CleanupRefusal(p, full, stage, stages);
                if (refusal is { } r)
                {
                    _diagnostics.Add(new(r.Code, $"Cleanup path '{p}' of stage '{stage.Plan.Name}' is refused: {r.Why}.", stage.Request.File, line, 1, IsError: true));
                    continue;
                }
                paths.Add(full);
            }
            var downstream = Downstream(stage.Plan.Name, stages);
            if (downstream.Count == 0)
            {
                _diagnostics.Add(new("SPN4007", $"Stage '{stage.Plan.Name}' has Cleanup paths but no stage depends on it, so nothing would tell when its files are no longer needed; no cleanup job is planned.", stage.Request.File, line, 1));
                continue;
            }
            // The partition: a Partition property or -p: (a site's choice for everything) wins; else
            // the profiles file's defaults.cleanup_profile; else the stage's own.
            var cleanupProfile = catalog.CleanupProfile is { } cp && catalog.Profiles.TryGetValue(cp, out var prof) ? prof : null;
            var partition = Setting(null, "Partition");
            stage.Plan.Cleanup = new CleanupPlan
            {
                JobName = $"cleanup_{stage.Plan.JobName}",
                Script = Layout.ProductionLayout.Job.CleanupScript(stage.Plan.Name),
                Paths = paths,
                AfterStages = downstream,
                Account = stage.Plan.Resources.Account,
                Partition = partition.IsSet ? partition.Value : cleanupProfile?.Partition ?? stage.Plan.Resources.Partition,
                Protected = ProtectedFolders(stage, stages),
                Bookkeeping = BookkeepingFolders(),
            };
        }
    }

    /// <summary>The production's own folders: its state (markers, ledger), the production, the repository, job folders, the plan.</summary>
    private IEnumerable<string> ProductionFolders() =>
        new[] { _request.StateDir, _request.ProductionDir, _request.RepoRoot, _request.JobsDir, _request.IntermediateDir }
            .Select(Path.TrimEndingDirectorySeparator);

    /// <summary>Folders a cleanup must never remove, nor a folder that holds one: the production's own and every other stage's output.</summary>
    private List<string> ProtectedFolders(ResolvedStage cleaning, List<ResolvedStage> stages) =>
        ProductionFolders().Concat(stages.Where(s => s != cleaning).Select(s => Path.TrimEndingDirectorySeparator(s.Plan.OutputDir)))
            .Distinct().ToList();

    /// <summary>The production's bookkeeping folders: nothing inside them is ever removed by a cleanup.</summary>
    private List<string> BookkeepingFolders() =>
        new Layout.ProductionLayout(_request.StateDir).Bookkeeping.Append(_request.IntermediateDir)
            .Select(Path.TrimEndingDirectorySeparator).ToList();

    private (string Code, string Why)? CleanupRefusal(string raw, string full, ResolvedStage stage, List<ResolvedStage> stages)
    {
        if (raw.Replace('\\', '/').Split('/').Contains(".."))
            return ("SPN4008", "it contains '..'");
        string own = stage.Plan.OutputDir;
        string real = RealPath.Of(full), realOwn = RealPath.Of(own);
        if (real != realOwn)
            return ("SPN4008", $"it is not the stage's output folder ({own}){(real != full ? $"; it leads through a symbolic link to '{real}'" : "")}. A stage's Cleanup removes only the output folder its own jobs created; put Cleanup on the stage whose output it is");
        foreach (var p in ProductionFolders())
            if (RealPath.IsSameOrAncestor(realOwn, RealPath.Of(p)))
                return ("SPN4014", $"it holds {p}, the production's own files (its state: markers and submissions.json, its plan, or the production itself)");
        foreach (var b in BookkeepingFolders())
            if (RealPath.IsSameOrAncestor(RealPath.Of(b), realOwn))
                return ("SPN4014", $"it is inside {b}, the production's bookkeeping");
        foreach (var other in stages.Where(s => s != stage))
            if (RealPath.IsSameOrAncestor(realOwn, RealPath.Of(other.Plan.OutputDir)))
                return ("SPN4013", $"stage '{other.Plan.Name}' also writes to {other.Plan.OutputDir}, so its outputs would go too; give each stage its own OutputDir");
        var existing = new DirectoryInfo(full);
        if ((existing.Exists || File.Exists(full) || existing.LinkTarget is not null)
            && !(existing.Exists && existing.LinkTarget is null && OwnedFolder.IsOwnedBy(full, OwnedFolder.OwnerLine(_request.ProductionFile))))
            return ("SPN4015", $"{full} exists and this production did not create it (it has no {OwnedFolder.RecordName} naming {_request.ProductionFile}): it existed before, or another production made it. A cleanup removes only folders the production's jobs created; choose an OutputDir that does not exist yet, or remove the folder yourself");
        return null;
    }

    /// <summary>Every stage that depends on <paramref name="name"/>, directly or through others, in plan order.</summary>
    private static List<string> Downstream(string name, List<ResolvedStage> stages)
    {
        var found = new HashSet<string>(StringComparer.Ordinal) { name };
        bool grew = true;
        while (grew)
        {
            grew = false;
            foreach (var s in stages)
                if (!found.Contains(s.Plan.Name) && s.Plan.DependsOn.Any(found.Contains))
                    grew = found.Add(s.Plan.Name) | grew;
        }
        return stages.Select(s => s.Plan.Name).Where(n => n != name && found.Contains(n)).ToList();
    }

    /// <summary>Cuts a stage's tasks into arrays of at most <paramref name="maxArraySize"/> tasks, each indexed 0..N-1.</summary>
    public static void Chunk(StagePlan stage, int maxArraySize)
    {
        // In long: FilesPerTask and MaxArraySize may be as large as int allows.
        stage.TaskCount = stage.InputsFromConfig ? 1 : (int)(((long)stage.FileCount + stage.FilesPerTask - 1) / stage.FilesPerTask);
        stage.ArraySize = maxArraySize;
        int arrays = (int)(((long)stage.TaskCount + maxArraySize - 1) / maxArraySize);
        stage.Arrays = new List<ArrayPlan>(arrays);
        for (int a = 0; a < arrays; a++)
        {
            int first = a * maxArraySize;
            int count = Math.Min(maxArraySize, stage.TaskCount - first);
            int firstFile = first * stage.FilesPerTask;
            int files = (int)Math.Min((long)count * stage.FilesPerTask, stage.FileCount - firstFile);
            stage.Arrays.Add(new ArrayPlan
            {
                Index = a,
                JobName = arrays > 1 ? $"{stage.JobName}_{a}" : stage.JobName,
                FirstTask = first,
                TaskCount = count,
                FileCount = files,
                ArraySpec = ArraySpec(count, stage.MaxRunningTasks),
                Script = Layout.ProductionLayout.Job.Script(a),
                ChunkFile = Layout.ProductionLayout.Job.ChunkFile(a),
            });
        }
    }

    /// <summary>"0-(n-1)", with the %throttle only when it limits anything (as spine-prod).</summary>
    public static string ArraySpec(int count, int? maxRunning) =>
        (count == 1 ? "0" : $"0-{count - 1}") + (maxRunning is int m && m < count ? $"%{m}" : "");

    private JobRuntime Runtime(Func<string, string[], SettingValue> s)
    {
        var commandSetting = s("SpineCommand", []);
        List<string> words;
        try { words = ShellQuote.SplitWords(commandSetting.Value); }
        catch (FormatException e) { throw Invalid("SPN1028", commandSetting, $"SpineCommand cannot be split into words: {e.Message}"); }
        if (words.Count == 0) throw Invalid("SPN1028", commandSetting, "SpineCommand is empty");
        foreach (var w in words)
            if (w.IndexOfAny(['\n', '\r', '\0']) >= 0) throw Invalid("SPN1028", commandSetting, "SpineCommand contains a newline");

        var containerSetting = s("Container", []);
        string container = containerSetting.Value.ToLowerInvariant();
        if (container is not ("singularity" or "apptainer" or "none"))
            throw Invalid("SPN1029", containerSetting, $"Container must be singularity, apptainer or none, not '{containerSetting.Value}'");
        var image = s("ContainerImage", []);
        var binds = s("ContainerBindPaths", []);
        var larcv = s("LarcvBaseDir", []);
        foreach (var v in new[] { image, binds, larcv })
            if (v.Value.IndexOfAny(['\n', '\r', '\0']) >= 0) throw Invalid("SPN1025", v, "the value contains a newline");
        var flash = s("Flashmatch", []);
        bool flashmatch = flash.Value.Equals("true", StringComparison.OrdinalIgnoreCase);
        if (flash.IsSet && !flashmatch && !flash.Value.Equals("false", StringComparison.OrdinalIgnoreCase))
            throw Invalid("SPN1025", flash, $"Flashmatch must be true or false, not '{flash.Value}'");
        string? larcvDir = larcv.IsSet ? Path.GetFullPath(larcv.Value, _request.ProductionDir) : null;
        // The job sources <LarcvBaseDir>/configure.sh: without it every task would fail on the node
        // (spine-prod checks the same). A $VAR path is the job's to expand, so it is not checked here.
        if (larcvDir is not null && !larcv.Value.Contains('$') && !File.Exists(Path.Combine(larcvDir, "configure.sh")))
            throw Invalid("SPN1066", larcv, $"LarcvBaseDir '{larcv.Value}' has no configure.sh ({Path.Combine(larcvDir, "configure.sh")} {(Directory.Exists(larcvDir) ? "does not exist" : "is missing: the folder does not exist")}); name the LArCV installation folder that holds configure.sh");
        return new JobRuntime(words, container, image.Value, binds.Value, larcvDir, flashmatch);
    }

    private static string? Pick(SettingValue property, params string?[] fallbacks) =>
        property.IsSet ? property.Value : fallbacks.FirstOrDefault(f => !string.IsNullOrEmpty(f));

    private static int PickInt(SettingValue property, int profileValue, int min)
    {
        if (!property.IsSet) return profileValue;
        if (int.TryParse(property.Value, out int v) && v >= min) return v;
        throw new SpineProdException("SPN1026", $"'{property.Value}' is not a whole number >= {min} (from {property.Origin}).", property.File, property.Line, 1);
    }

    private static int PositiveInt(SettingValue s, string code, string name, int fallback)
    {
        if (!s.IsSet) return fallback;
        if (int.TryParse(s.Value, out int v) && v >= 1) return v;
        throw new SpineProdException(code, $"{name} must be a whole number of at least 1, not '{s.Value}' (from {s.Origin}).", s.File, s.Line, s.Line > 0 ? 1 : 0);
    }

    private void ValidateResources(Resources r, Func<string, string[], SettingValue> s)
    {
        void Check(string? value, string name, Regex pattern, string expected)
        {
            if (value is null) return;
            if (!pattern.IsMatch(value))
            {
                var setting = s(name, []);
                throw setting.IsSet
                    ? Invalid(name == "Time" ? "SPN1021" : "SPN1025", setting, $"{name} '{value}' is not valid: expected {expected}")
                    : new SpineProdException(name == "Time" ? "SPN1021" : "SPN1025", $"{name} '{value}' from the profile is not valid: expected {expected}.", _request.ProductionFile, 0, 0);
            }
        }
        Check(r.Account, "Account", SlurmWord(), "letters, digits and _ . : + -");
        Check(r.Partition, "Partition", SlurmWord(), "letters, digits and _ . : + -");
        Check(r.Qos, "Qos", SlurmWord(), "letters, digits and _ . : + -");
        Check(r.MemPerCpu, "MemPerCpu", MemoryPattern(), "a size such as 4g, 4000M or 8G");
        Check(r.Time, "Time", TimePattern(), "SLURM time: minutes, MM:SS, HH:MM:SS, D-HH, D-HH:MM or D-HH:MM:SS");
        if (r.MemPerCpu is null || r.Time is null)
            throw new SpineProdException("SPN1303", "The profile gives no mem_per_cpu or time, and the production sets neither.", _request.ProductionFile, 0, 0);
    }

    private string SafeName(string name, SettingValue setting)
    {
        if (!SlurmWord().IsMatch(name) || name.Contains(':'))
            throw Invalid("SPN1025", setting, $"JobName '{name}' may use only letters, digits and _ . + -");
        return name;
    }

    private void CheckJobNamesUnique(List<ResolvedStage> stages)
    {
        foreach (var g in stages.GroupBy(s => s.Plan.JobName).Where(g => g.Count() > 1))
            throw new SpineProdException("SPN4003", $"Stages {string.Join(", ", g.Select(s => s.Plan.Name))} have the same JobName '{g.Key}'; give each stage its own.", _request.ProductionFile, 0, 0);
    }

    private static List<string> SplitList(string? value) =>
        (value ?? "").Split([';', ','], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).ToList();

    // ---------------------------------------------------------------- writing

    private void Write(ProductionPlan plan, List<ResolvedStage> stages)
    {
        Directory.CreateDirectory(_request.IntermediateDir);
        var renderers = new Dictionary<string, JobScriptRenderer>(StringComparer.Ordinal);
        foreach (var stage in stages)
        {
            if (!renderers.TryGetValue(stage.Template, out var renderer))
                renderers[stage.Template] = renderer = new JobScriptRenderer(stage.Template);
            _dependencies.Add(stage.Template);
            string dir = Path.Combine(_request.IntermediateDir, stage.Plan.Name);
            Directory.CreateDirectory(dir);
            var expected = new HashSet<string>(StringComparer.Ordinal);
            // Arrays are independent files: written in parallel (the comparison with what is on
            // disk dominates for large productions).
            Parallel.ForEach(stage.Plan.Arrays, array =>
            {
                // A stage whose config names its inputs has one task with no inputs of ours: an empty line.
                var chunk = stage.Plan.InputsFromConfig ? "\n"u8.ToArray() : stage.Inputs.ChunkList(array.FirstTask * stage.Plan.FilesPerTask, array.FileCount, stage.Plan.FilesPerTask);
                Count(AtomicFile.WriteIfChanged(Path.Combine(dir, array.ChunkFile), chunk));
                Count(AtomicFile.WriteIfChanged(Path.Combine(dir, array.Script), renderer.Render(plan, stage.Plan, array, stage.Runtime)));
            });
            foreach (var array in stage.Plan.Arrays)
            {
                expected.Add(array.ChunkFile);
                expected.Add(array.Script);
            }
            if (stage.Plan.Cleanup is { } cleanup)
            {
                if (!renderers.TryGetValue(stage.CleanupTemplate, out var cleanupRenderer))
                    renderers[stage.CleanupTemplate] = cleanupRenderer = new JobScriptRenderer(stage.CleanupTemplate);
                _dependencies.Add(stage.CleanupTemplate);
                Count(AtomicFile.WriteIfChanged(Path.Combine(dir, cleanup.Script), cleanupRenderer.RenderCleanup(plan, stage.Plan, cleanup)));
                expected.Add(cleanup.Script);
            }
            foreach (var (relative, content) in stage.Config.FilesToWrite)
            {
                Count(AtomicFile.WriteIfChanged(Path.Combine(dir, Layout.ProductionLayout.Job.Config, relative), content));
                expected.Add(Layout.ProductionLayout.Job.ConfigFile(relative));
            }
            RemoveStale(dir, expected);
        }
        // Folders of stages that no longer exist: their plan files only (the folder may hold others').
        foreach (var old in Directory.EnumerateDirectories(_request.IntermediateDir).ToList())
            if (!stages.Any(s => s.Plan.Name == Path.GetFileName(old)))
                PlanCleaner.CleanStageFolder(old, null);
        if (plan.Stages.Count > 1)
        {
            Count(AtomicFile.WriteIfChanged(Path.Combine(_request.IntermediateDir, "stages.mmd"), StageGraph.Mermaid(plan)));
            Count(AtomicFile.WriteIfChanged(Path.Combine(_request.IntermediateDir, "stages.dot"), StageGraph.Dot(plan)));
        }
        Count(plan.Save(Path.Combine(_request.IntermediateDir, "plan.json")));
    }

    /// <summary>Deletes plan files a previous, larger plan left (only our own file patterns, only in our folder).</summary>
    private static void RemoveStale(string dir, HashSet<string> expected)
    {
        foreach (var file in Directory.EnumerateFiles(dir, "*", SearchOption.AllDirectories))
        {
            string rel = Path.GetRelativePath(dir, file).Replace('\\', '/');
            bool ours = Layout.ProductionLayout.Job.PlanFileName().IsMatch(rel) || rel.StartsWith(Layout.ProductionLayout.Job.Config + "/", StringComparison.Ordinal);
            if (ours && !expected.Contains(rel)) File.Delete(file);
        }
    }

    private int _filesWritten, _filesUnchanged;

    private void Count(bool written)
    {
        if (written) Interlocked.Increment(ref _filesWritten); else Interlocked.Increment(ref _filesUnchanged);
    }

    private static string PlanHash(List<ResolvedStage> stages)
    {
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        foreach (var s in stages)
        {
            sha.AppendData(Encoding.UTF8.GetBytes($"{s.Plan.Name}\n{s.Plan.JobName}\n{s.Plan.ConfigArgument}\n{s.Plan.FilesPerTask}\n{s.Plan.ArraySize}\n"));
            s.Inputs.HashInto(sha);
        }
        return Convert.ToHexStringLower(sha.GetHashAndReset());
    }

    [GeneratedRegex(@"^[A-Za-z0-9_.:+-]+$")]
    private static partial Regex SlurmWord();
    [GeneratedRegex(@"^[0-9]+[KMGTkmgt]?[Bb]?$")]
    private static partial Regex MemoryPattern();
    // minutes | MM:SS | HH:MM:SS | D-HH | D-HH:MM | D-HH:MM:SS
    [GeneratedRegex(@"^(\d+|\d+:\d{1,2}|\d+:\d{1,2}:\d{1,2}|\d+-\d{1,2}|\d+-\d{1,2}:\d{1,2}|\d+-\d{1,2}:\d{1,2}:\d{1,2}|UNLIMITED|INFINITE)$")]
    private static partial Regex TimePattern();
    // after|afterany|afterburstbuffer|aftercorr|afternotok|afterok:<id>[_<task>][+<min>](:...)* | singleton, joined by , or ?
    [GeneratedRegex(@"^((after|afterany|afterburstbuffer|aftercorr|afternotok|afterok)(:\d+(_\d+)?(\+\d+)?)+|singleton)([,?]((after|afterany|afterburstbuffer|aftercorr|afternotok|afterok)(:\d+(_\d+)?(\+\d+)?)+|singleton))*$")]
    private static partial Regex DependencyPattern();
}
