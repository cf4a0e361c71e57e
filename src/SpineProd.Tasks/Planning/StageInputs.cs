namespace SpineProd.Planning;

/// <summary>A stage planned, with what writing it needs (its inputs, runtime, config and templates).</summary>
internal sealed record PlannedStage(StageRequest Request, StagePlan Plan, InputStore Inputs, Rendering.JobRuntime Runtime,
    Config.ResolvedJobConfig Config, string Template, string CleanupTemplate);

/// <summary>
/// The inputs step: a stage's inputs in declaration order (its Source files, SourceList entries and
/// globs, and the planned outputs of the stages it reads from), then checked: a duplicate is kept
/// once (SPN1015), two inputs with one file name are refused (their outputs would collide, SPN1016),
/// and so is a path a job cannot be handed (SPN1017). Inputs stay UTF-8 bytes in one buffer: a
/// million of them are never a million strings.
/// </summary>
internal sealed class StageInputs
{
    private readonly PlanRequest _request;
    private readonly PlanProblems _problems;
    private readonly List<string> _dependencies;

    /// <param name="dependencies">Files read (source lists), for the next build's up-to-date check.</param>
    public StageInputs(PlanRequest request, PlanProblems problems, List<string> dependencies)
    {
        _request = request;
        _problems = problems;
        _dependencies = dependencies;
    }

    /// <summary>The stage's inputs, unchecked. <paramref name="upstream"/>: the stages planned so far.</summary>
    public InputStore Read(StageRequest stage, IReadOnlyList<StageRequest> stages, bool multiStage, IReadOnlyDictionary<string, PlannedStage> upstream)
    {
        var list = new InputStore();
        bool first = stage == stages[0];
        foreach (var item in _request.Sources)
        {
            string target = item.Stage is { Length: > 0 } st ? st : stages[0].Name;
            string itemType = item.Kind == SourceKind.List ? "SourceList" : "Source";
            string declaredIn = item.DeclaredIn ?? _request.ProductionFile;
            // Mistakes of an item are reported once, while the first stage reads.
            if (!stages.Any(s => s.Name == target))
            {
                if (first)
                    _problems.Error("SPN4001", $"{itemType} '{item.FullPath}' names stage '{target}', which is not a stage of this production. Stages: {string.Join(", ", stages.Select(s => s.Name))}.", declaredIn, item.Line);
                continue;
            }
            if (multiStage && stages.Count > 1 && item.Stage is not { Length: > 0 })
            {
                if (first)
                    _problems.Error("SPN4002", $"{itemType} '{item.FullPath}' has no Stage metadata; with several stages every Source and SourceList must name its stage (Stage=\"...\").", declaredIn, item.Line);
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
                        _problems.Error("SPN1011", $"Source file '{item.FullPath}' does not exist.", declaredIn, item.Line);
                    break;
            }
        }
        foreach (var from in StageSettings.SplitList(stage.Metadata.GetValueOrDefault("InputsFrom")))
            if (upstream.TryGetValue(from, out var up))
                foreach (var output in PlannedOutputs(up))
                    list.Add(output, list.FileId(stage.File), stage.Line);

        // The production's own Source globs, unless a pipeline replaced them (then they are not read at all).
        if (_request.Xml is { } xml && first && _request.PipelineFile is null)
            foreach (var (pattern, line, _) in xml.ItemPatterns("Source"))
                if (ProductionFile.IsGlob(pattern) && !pattern.Contains("$(") && !pattern.Contains("@("))
                {
                    var regex = ProductionFile.GlobToRegex(Path.GetFullPath(pattern, _request.ProductionDir));
                    if (!_request.Sources.Any(s => s.Kind == SourceKind.File && regex.IsMatch(s.FullPath.Replace('\\', '/'))))
                        _problems.Warn("SPN1012", $"Source glob '{pattern}' matched no file.", _request.ProductionFile, line);
                }
        return list;
    }

    /// <summary>
    /// A pipeline's glob: inside an upstream stage's output folder it selects that stage's planned
    /// outputs (nothing exists yet when a pipeline is planned); elsewhere it is expanded on disk.
    /// </summary>
    private void ExpandGlob(SourceItem item, InputStore list, IReadOnlyDictionary<string, PlannedStage> upstream)
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
            _problems.Warn("SPN1012", $"Glob '{item.FullPath}' matched no file.", declaredIn, item.Line);
    }

    /// <summary>The files a stage will write: SPINE's split_output names (<see cref="SpineArgumentSettings.PlannedOutput"/>).</summary>
    public static IEnumerable<string> PlannedOutputs(PlannedStage stage)
    {
        for (int i = 0; i < stage.Inputs.Count; i++)
            yield return SpineArgumentSettings.PlannedOutput(stage.Plan, i / stage.Plan.FilesPerTask, stage.Inputs[i]);
    }

    /// <summary>Whether the stage names any inputs itself: Source/SourceList items (also globs that matched nothing), or InputsFrom.</summary>
    public bool Declares(StageRequest stage, bool multiStage)
    {
        if (StageSettings.SplitList(stage.Metadata.GetValueOrDefault("InputsFrom")).Count > 0) return true;
        if (_request.Sources.Any(s => s.Stage == stage.Name || (string.IsNullOrEmpty(s.Stage) && (!multiStage || _request.Stages.Count <= 1 || _request.Stages[0].Name == stage.Name))))
            return true;
        // Items MSBuild expanded to nothing (a glob that matched no file) still declare inputs.
        return _request.PipelineFile is null && _request.Xml is { } xml && (xml.ItemPatterns("Source").Any() || xml.ItemPatterns("SourceList").Any());
    }

    private void ReadSourceList(string path, string declaredIn, int itemLine, InputStore into)
    {
        if (Directory.Exists(path))
            _problems.Stop("SPN1014", $"SourceList '{path}' is a directory; a source list is a text file with one input path a line.", declaredIn, itemLine);
        if (!File.Exists(path))
            _problems.Stop("SPN1013", $"SourceList '{path}' does not exist.", declaredIn, itemLine);
        _dependencies.Add(path);
        // Relative entries are relative to the list file (jobs run in their job folder).
        (string Problem, int Line)? problem = null;
        try { problem = into.ReadList(path, Path.GetDirectoryName(path)!, into.FileId(path)); }
        catch (IO.FileRefusedException e)
        {
            _problems.Stop("SPN1045", $"SourceList '{path}' cannot be read: {e.Reason}; a source list is a text file with one input path a line.", declaredIn, itemLine);
        }
        if (problem is not null)
            _problems.Stop("SPN1014", $"SourceList is not a text file ({problem.Value.Problem}); a source list has one input path a line.", path, problem.Value.Line);
    }

    /// <summary>Keeps the first of duplicate inputs (warning) and refuses two inputs with one file name (their outputs would collide).</summary>
    public InputStore Check(string stage, InputStore list)
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
                _problems.Error("SPN1017", $"Input path '{list[i].Replace("\n", "\\n")}' contains {what}; it cannot be passed to a job safely. Rename the file.", file, line);
                continue;
            }
            int first = names.FindOrAdd(i);
            if (first >= 0)
            {
                var (file, line) = list.Origin(i);
                if (list.Bytes(first).SequenceEqual(bytes))
                {
                    if (duplicates++ < 10)
                        _problems.Warn("SPN1015", $"Input '{list[i]}' is listed more than once in stage '{stage}'; it is processed once.", file, line);
                }
                else
                    _problems.Error("SPN1016", $"Inputs '{list[first]}' and '{list[i]}' have the same file name '{Path.GetFileName(list[i])}': their outputs would overwrite each other. Rename one or split them into two productions.", file, line);
                continue;
            }
            keep[i] = true;
        }
        if (duplicates > 10)
            _problems.Warn("SPN1015", $"{duplicates} duplicate inputs in stage '{stage}' in all (the first 10 are listed); each is processed once.", _request.ProductionFile, 0);
        list.Compact(keep);
        return list;
    }
}
