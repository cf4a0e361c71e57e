using SpineProd.Config;
using SpineProd.Diagnostics;

namespace SpineProd.Planning;

/// <summary>
/// The settings that shape SPINE's own command line (spine-prod v0.8's <c>--set</c>, output options
/// and config-owned inputs), read and checked in one place, and the plan values they become.
/// </summary>
public sealed record SpineArgumentSettings(
    IReadOnlyList<string> Set, SettingValue SetAt,
    string Layout, SettingValue LayoutAt, SettingValue Suffix)
{
    public const string BadLayout = "SPN1150";        // OutputLayout is not file, folder or task
    public const string BadSuffix = "SPN1151";        // OutputSuffix has a '/', whitespace or a quote
    public const string LayoutConflict = "SPN1152";   // OutputFile with OutputLayout folder/task, or OutputSuffix with file
    public const string ConfigInputsCut = "SPN1153";  // FilesPerTask/TaskCount/MaxRunningTasks on a stage whose inputs the config names
    public const string ConfigInputsOutput = "SPN1154"; // output settings on a stage whose inputs (and outputs) the config names

    /// <summary>-o FILE (any SPINE), as SpineProd always did.</summary>
    public const string FileLayout = "file";
    /// <summary>--output-dir OutputDir --output-suffix S (SPINE &gt;= 0.15.3; spine-prod 0.7.1).</summary>
    public const string FolderLayout = "folder";
    /// <summary>spine-prod v0.8's per-task folders: OutputDir/task_N/{output,logs,inputs.txt} (SPINE &gt;= 0.15.3).</summary>
    public const string TaskLayout = "task";

    public static SpineArgumentSettings Read(Func<string, string[], SettingValue> s)
    {
        var set = s("SpineSet", []);
        var entries = SpineOverrides.Split(set.Value);
        foreach (var e in entries)
        {
            try { SpineOverrides.Validate(e); }
            catch (SpineProdException x) { throw new SpineProdException(x.Code, $"{x.Message} (from {set.Origin})", set.File, set.Line, set.Line > 0 ? 1 : 0); }
        }
        var layout = s("OutputLayout", []);
        string l = layout.IsSet ? layout.Value.ToLowerInvariant() : FileLayout;
        if (l is not (FileLayout or FolderLayout or TaskLayout))
            throw At(BadLayout, layout, $"OutputLayout must be file (-o), folder (--output-dir/--output-suffix) or task (spine-prod v0.8's per-task folders), not '{layout.Value}'");
        var suffix = s("OutputSuffix", []);
        if (suffix.IsSet && (suffix.Value.IndexOfAny(['/', '\\', '\'', '"', '\0']) >= 0 || suffix.Value.Any(char.IsWhiteSpace)))
            throw At(BadSuffix, suffix, $"OutputSuffix '{suffix.Value}' names part of a file name: no '/', whitespace or quotes");
        return new SpineArgumentSettings(entries, set, l, layout, suffix);
    }

    /// <summary>
    /// Checks the output settings against each other and the inputs, and records them in the stage's
    /// plan. <paramref name="fromConfig"/>: the stage has no Source/SourceList and its config names the
    /// inputs (spine-prod &gt;= 0.6): one task, SPINE reads and writes what its config says.
    /// </summary>
    public void ApplyTo(StagePlan stage, bool fromConfig, string configArgument, Func<string, string[], SettingValue> s)
    {
        var outputFile = s("OutputFile", []);
        if (fromConfig)
        {
            foreach (var name in new[] { "FilesPerTask", "TaskCount", "MaxRunningTasks" })
                if (s(name, name == "MaxRunningTasks" ? ["Ntasks"] : []) is { IsSet: true } cut)
                    throw At(ConfigInputsCut, cut, $"{name} cuts inputs into tasks, but this stage has no Source or SourceList: its config names the inputs and it runs as one task (spine-prod: \"Cannot use --ntasks/--files-per-task without --source/--source-list\"). Add Source/SourceList items, or drop {name}");
            foreach (var (name, v) in new[] { ("OutputFile", outputFile), ("OutputSuffix", Suffix), ("OutputLayout", LayoutAt), ("OutputDir", s("OutputDir", [])) })
                if (v.IsSet)
                    throw At(ConfigInputsOutput, v, $"{name} names SPINE's outputs, but this stage has no Source or SourceList: its config names the inputs and the outputs (spine-prod: \"Cannot use --output/--output-suffix without --source/--source-list\"). Add Source/SourceList items, or drop {name}");
            stage.InputsFromConfig = true;
        }
        if (Layout != FileLayout && outputFile.IsSet)
            throw At(LayoutConflict, outputFile, $"OutputFile names one file (-o), but OutputLayout is {Layout}: SPINE is given --output-dir and --output-suffix. Use OutputDir (and OutputSuffix), or OutputLayout=file");
        if (Layout == FileLayout && Suffix.IsSet)
            throw At(LayoutConflict, Suffix, "OutputSuffix is given to SPINE with --output-dir (SPINE >= 0.15.3), but OutputLayout is file (-o FILE, the suffix is the file's name). Set OutputLayout=folder or task, or drop OutputSuffix");
        stage.SpineSet = Set.ToList();
        stage.OutputLayout = fromConfig ? FileLayout : Layout;
        // spine-prod's default suffix: the stem of the config SPINE is given.
        stage.OutputSuffix = Layout == FileLayout || fromConfig ? null : Suffix.IsSet ? Suffix.Value : Path.GetFileNameWithoutExtension(configArgument);
    }

    /// <summary>SPINE's inputs are named in the config: <c>io.reader</c> or <c>io.loader.dataset</c> has <c>file_keys</c> or <c>file_list</c>.</summary>
    public static bool ConfigNamesInputs(ConfigMap config)
    {
        if (!config.TryGetValue("io", out var io) || io is not ConfigMap iom) return false;
        ConfigMap? target = null;
        if (iom.TryGetValue("reader", out var reader) && reader is ConfigMap rm) target = rm;
        else if (iom.TryGetValue("loader", out var loader) && loader is ConfigMap lm && lm.TryGetValue("dataset", out var ds) && ds is ConfigMap dm) target = dm;
        if (target is null) return false;
        foreach (var key in new[] { "file_keys", "file_list" })
            if (target.TryGetValue(key, out var v) && v is not null && !(v is string str && str.Length == 0) && !(v is ConfigList { Count: 0 }))
                return true;
        return false;
    }

    /// <summary>
    /// The files a stage writes, per input: <c>&lt;input stem&gt;_&lt;suffix&gt;.h5</c> in its output folder
    /// (SPINE's split output names), or in the task's own folder with the per-task layout.
    /// </summary>
    public static string PlannedOutput(StagePlan stage, int task, string input)
    {
        string stem = Path.GetFileNameWithoutExtension(input);
        return stage.OutputLayout switch
        {
            TaskLayout => Path.Combine(stage.OutputDir, $"task_{task}", "output", $"{stem}_{stage.OutputSuffix}.h5"),
            FolderLayout => Path.Combine(stage.OutputDir, $"{stem}_{stage.OutputSuffix}.h5"),
            _ => Path.Combine(stage.OutputDir, $"{stem}_{Path.GetFileNameWithoutExtension(stage.Output)}.h5"),
        };
    }

    private static SpineProdException At(string code, SettingValue s, string message) =>
        new(code, $"{message} (from {s.Origin}).", s.File, s.Line, s.Line > 0 ? 1 : 0);
}
