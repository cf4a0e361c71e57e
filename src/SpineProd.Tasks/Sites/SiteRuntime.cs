using System.Text.RegularExpressions;
using SpineProd.IO;
using SpineProd.Planning;
using SpineProd.Rendering;

namespace SpineProd.Sites;

/// <summary>
/// How a stage's job starts SPINE at its site: the SPINE version and its container image, the
/// container (Apptainer/Singularity, Shifter, none), the binds, a local SPINE checkout
/// (<c>SpinePath</c>), LArCV and OpT0Finder set-up, CVMFS and the site's modules. Every value comes
/// from a property when set, else from the site's entry in the profiles file.
/// </summary>
public static partial class SiteRuntime
{
    /// <summary>
    /// Resolves the runtime; <paramref name="setting"/> reads a property with its origin (stage
    /// metadata, -p:). Every bad value is reported to <paramref name="problems"/> at the line that
    /// set it, and resolving goes on, so one build names all of them (the planner writes nothing
    /// then). <paramref name="dependency"/> is told the folders whose contents decided something (a
    /// SpinePath's bin/), so the plan is made again when they change.
    /// </summary>
    public static JobRuntime Resolve(Func<string, SettingValue> setting, SiteDefinition site, string? defaultSpineVersion,
        string productionDir, int gpus, PlanProblems problems, Action<string>? dependency = null)
    {
        // A control character in a path or command: nothing below can use the value, so planning ends here.
        bool controlCharacters = false;
        foreach (var name in new[] { "SpineCommand", "ContainerImage", "ContainerBindPaths", "ContainerCommand", "ContainerArgs", "SpinePath", "FlashmatchPath", "LarcvBaseDir", "Modules" })
            if (setting(name).Value.IndexOfAny(['\n', '\r', '\0']) >= 0)
            {
                problems.Error("SPN1025", setting(name), $"{name} contains a newline");
                controlCharacters = true;
            }
        if (controlCharacters) throw new PlanProblems.Stopped();

        // SPINE version: spine-prod's DEFAULT_SPINE_VERSION (defaults.spine_version), or the property.
        var versionSetting = setting("SpineVersion");
        string version = (versionSetting.IsSet ? versionSetting.Value : defaultSpineVersion ?? "").TrimStart('v', 'V');
        if (version.Length > 0 && !VersionPattern().IsMatch(version))
            problems.Error("SPN1112", versionSetting, $"SpineVersion '{versionSetting.Value}' is not a SPINE release such as 0.17.1");

        // Local checkouts: each is bound into the container; LArCV and OpT0Finder are sourced there.
        string? spinePath = Folder(setting("SpinePath"), productionDir);
        string? larcv = Folder(setting("LarcvBaseDir"), productionDir);
        string? flashmatchPath = Folder(setting("FlashmatchPath"), productionDir);
        // The job sources <dir>/configure.sh: without it every task would fail on the node (spine-prod
        // checks the same). A $VAR path is the job's to expand, so it is not checked here.
        if (larcv is not null && !HasConfigure(larcv))
            problems.Error("SPN1066", setting("LarcvBaseDir"), $"LarcvBaseDir '{setting("LarcvBaseDir").Value}' has no configure.sh ({Path.Combine(larcv, "configure.sh")} {(Directory.Exists(larcv) ? "does not exist" : "is missing: the folder does not exist")}); name the LArCV installation folder that holds configure.sh");
        if (flashmatchPath is not null && !HasConfigure(flashmatchPath))
            problems.Error("SPN1117", setting("FlashmatchPath"), $"FlashmatchPath '{setting("FlashmatchPath").Value}' has no configure.sh ({Path.Combine(flashmatchPath, "configure.sh")} does not exist); name the OpT0Finder folder that holds configure.sh");

        var command = SpineCommand(setting("SpineCommand"), setting("SpinePath"), spinePath, problems);
        if (spinePath is not null && Directory.Exists(Path.Combine(spinePath, "bin"))) dependency?.Invoke(Path.Combine(spinePath, "bin"));

        var containerSetting = setting("Container");
        string container = containerSetting.IsSet ? containerSetting.Value.ToLowerInvariant() : site.Container;
        if (!SiteDefinition.Containers.Contains(container))
        {
            problems.Error("SPN1029", containerSetting, $"Container must be one of {string.Join(", ", SiteDefinition.Containers)}, not '{containerSetting.Value}'");
            container = site.Container;
        }

        var imageSetting = setting("ContainerImage");
        string image = imageSetting.IsSet ? imageSetting.Value : site.ImageFor(version) ?? "";
        if (container != "none" && image.Length == 0)
            problems.Error("SPN1113", imageSetting, $"Site {site.Name} names no container image ({site.File}, sites.{site.Name}.image): set <ContainerImage> to the {(container == "shifter" ? "Shifter image (docker:ghcr.io/deeplearnphysics/spine:" + version + ")" : "SIF of SPINE " + version)}, or <Container>none</Container>");

        bool cvmfs = Bool(setting("Cvmfs"), "SPN1120", "Cvmfs", problems);
        bool flashmatch = Bool(setting("Flashmatch"), "SPN1025", "Flashmatch", problems);

        // Binds: the site's (or ContainerBindPaths, which replaces them, as spine-prod's --bind-paths),
        // then every local folder the job uses inside the container, and /cvmfs when asked for.
        var bindsSetting = setting("ContainerBindPaths");
        var binds = Split(bindsSetting.IsSet ? bindsSetting.Value : site.BindPaths);
        foreach (var extra in new[] { spinePath, larcv, flashmatchPath })
            if (extra is not null) binds.Add(extra);
        if (cvmfs && container != "shifter") binds.Add("/cvmfs");
        binds = binds.Distinct(StringComparer.Ordinal).ToList();

        var modulesSetting = setting("Modules");
        var modules = modulesSetting.IsSet
            ? (modulesSetting.Value.Equals("none", StringComparison.OrdinalIgnoreCase) ? [] : Split(modulesSetting.Value))
            : Split(site.Modules);
        foreach (var m in modules)
            if (!ModulePattern().IsMatch(m))
                problems.Error("SPN1119", modulesSetting, $"Modules: '{m}' is not a module name (letters, digits and _ . / + -)");

        var commandSetting = setting("ContainerCommand");
        var argsSetting = setting("ContainerArgs");
        var containerArgs = Words(argsSetting.IsSet ? argsSetting.Value : site.ContainerArgs ?? "", argsSetting, "ContainerArgs", problems) ?? [];

        return new JobRuntime(command, container, image, string.Join(",", binds), larcv, flashmatch)
        {
            Site = site.Name,
            SpineVersion = version,
            SpinePath = spinePath,
            FlashmatchPath = flashmatchPath,
            Cvmfs = cvmfs,
            ContainerCommand = commandSetting.IsSet ? commandSetting.Value : container,
            ContainerArgs = containerArgs,
            Launcher = ShellQuote.SplitWords(site.Launcher ?? ""),
            ModuleUse = modules.Count > 0 ? site.ModuleUse : null,
            Modules = modules,
            Gpus = gpus,
        };
    }

    /// <summary>
    /// The words before <c>bash -c</c> that start the container, quoted for bash: the site's launcher
    /// (<c>srun -n 1</c> at NERSC), then <c>apptainer exec [args] --bind … --nv IMAGE</c> or
    /// <c>shifter --module=gpu,cvmfs --image=IMAGE --volume=…</c>; nothing for Container=none.
    /// The image and binds may name job environment variables ($VAR), nothing else expands.
    /// </summary>
    public static string LauncherWords(JobRuntime r)
    {
        var words = r.Launcher.Select(ShellQuote.Literal).ToList();
        var binds = Split(r.ContainerBindPaths);
        switch (r.Container)
        {
            case "singularity" or "apptainer":
                words.Add(Word(r.ContainerCommand ?? r.Container));
                words.Add("exec");
                words.AddRange(r.ContainerArgs.Select(ShellQuote.Literal));
                if (binds.Count > 0) { words.Add("--bind"); words.Add(ShellQuote.AllowingEnvironment(string.Join(",", binds))); }
                words.Add("--nv");
                words.Add(ShellQuote.AllowingEnvironment(r.ContainerImage));
                break;
            case "shifter":
                words.Add(Word(r.ContainerCommand ?? r.Container));
                var modules = new List<string>();
                if (r.Gpus > 0) modules.Add("gpu");
                if (r.Cvmfs) modules.Add("cvmfs");
                // One --module option: shifter takes a comma list (spine-prod passed two options).
                if (modules.Count > 0) words.Add("--module=" + string.Join(",", modules));
                words.AddRange(r.ContainerArgs.Select(ShellQuote.Literal));
                words.Add(ShellQuote.AllowingEnvironment("--image=" + r.ContainerImage));
                foreach (var b in binds) words.Add(ShellQuote.AllowingEnvironment($"--volume={b.TrimEnd('/')}:{b.TrimEnd('/')}"));
                break;
        }
        return string.Join(" ", words);
    }

    /// <summary>
    /// SpineCommand when set; else SPINE of the local checkout SpinePath (<c>bin/spine</c>, else
    /// <c>python3 bin/run.py</c>, spine-prod's rule); else the container's <c>spine</c>.
    /// </summary>
    private static List<string> SpineCommand(SettingValue commandSetting, SettingValue spinePathSetting, string? spinePath, PlanProblems problems)
    {
        if (commandSetting.IsSet)
        {
            var words = Words(commandSetting.Value, commandSetting, "SpineCommand", problems);
            if (words is []) problems.Error("SPN1028", commandSetting, "SpineCommand is empty");
            return words is [] or null ? ["spine"] : words;
        }
        if (spinePath is null) return ["spine"];
        if (spinePath.Contains('$')) return [spinePath + "/bin/spine"];
        if (File.Exists(Path.Combine(spinePath, "bin", "spine"))) return [Path.Combine(spinePath, "bin", "spine")];
        if (File.Exists(Path.Combine(spinePath, "bin", "run.py"))) return ["python3", Path.Combine(spinePath, "bin", "run.py")];
        problems.Error("SPN1114", spinePathSetting, $"SpinePath '{spinePathSetting.Value}' is not a SPINE checkout: it has neither bin/spine nor bin/run.py");
        return ["spine"];
    }

    /// <summary>A setting split into words as bash would; a quote left open is SPN1028 (and null).</summary>
    private static List<string>? Words(string value, SettingValue setting, string name, PlanProblems problems)
    {
        try { return ShellQuote.SplitWords(value); }
        catch (FormatException e)
        {
            problems.Error("SPN1028", setting, $"{name} cannot be split into words: {e.Message}");
            return null;
        }
    }

    /// <summary>A literal word, or one naming job environment variables when it has a $.</summary>
    private static string Word(string value) => value.Contains('$') ? ShellQuote.AllowingEnvironment(value) : ShellQuote.Literal(value);

    private static string? Folder(SettingValue s, string productionDir) =>
        !s.IsSet ? null : s.Value.Contains('$') ? s.Value : Path.TrimEndingDirectorySeparator(Path.GetFullPath(s.Value, productionDir));

    private static bool HasConfigure(string folder) => folder.Contains('$') || File.Exists(Path.Combine(folder, "configure.sh"));

    private static bool Bool(SettingValue s, string code, string name, PlanProblems problems)
    {
        if (!s.IsSet || s.Value.Equals("false", StringComparison.OrdinalIgnoreCase)) return false;
        if (s.Value.Equals("true", StringComparison.OrdinalIgnoreCase)) return true;
        problems.Error(code, s, $"{name} must be true or false, not '{s.Value}'");
        return false;
    }

    internal static List<string> Split(string? value) =>
        (value ?? "").Split([',', ';'], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).ToList();

    [GeneratedRegex(@"^\d+\.\d+(\.\d+)?([.+-][A-Za-z0-9.]+)?$")]
    private static partial Regex VersionPattern();
    [GeneratedRegex(@"^[A-Za-z0-9_./+-]+$")]
    private static partial Regex ModulePattern();
}
