using SpineProd.IO;
using SpineProd.Rendering;

namespace SpineProd.Planning;

/// <summary>How a stage's job runs SPINE: the command words, the container, LArCV and flash-matching set-up.</summary>
internal static class StageRuntime
{
    public static JobRuntime Resolve(StageSettings s, string productionDir, PlanProblems problems)
    {
        var commandSetting = s["SpineCommand"];
        List<string> words = [];
        try { words = ShellQuote.SplitWords(commandSetting.Value); }
        catch (FormatException e) { problems.Stop("SPN1028", commandSetting, $"SpineCommand cannot be split into words: {e.Message}"); }
        if (words.Count == 0) problems.Stop("SPN1028", commandSetting, "SpineCommand is empty");
        if (words.Any(w => w.IndexOfAny(['\n', '\r', '\0']) >= 0)) problems.Stop("SPN1028", commandSetting, "SpineCommand contains a newline");

        var containerSetting = s["Container"];
        string container = containerSetting.Value.ToLowerInvariant();
        if (container is not ("singularity" or "apptainer" or "none"))
            problems.Stop("SPN1029", containerSetting, $"Container must be singularity, apptainer or none, not '{containerSetting.Value}'");
        var image = s["ContainerImage"];
        var binds = s["ContainerBindPaths"];
        var larcv = s["LarcvBaseDir"];
        foreach (var v in new[] { image, binds, larcv })
            if (v.Value.IndexOfAny(['\n', '\r', '\0']) >= 0) problems.Stop("SPN1025", v, "the value contains a newline");
        var flash = s["Flashmatch"];
        bool flashmatch = flash.Value.Equals("true", StringComparison.OrdinalIgnoreCase);
        if (flash.IsSet && !flashmatch && !flash.Value.Equals("false", StringComparison.OrdinalIgnoreCase))
            problems.Stop("SPN1025", flash, $"Flashmatch must be true or false, not '{flash.Value}'");
        string? larcvDir = larcv.IsSet ? Path.GetFullPath(larcv.Value, productionDir) : null;
        // The job sources <LarcvBaseDir>/configure.sh: without it every task would fail on the node
        // (spine-prod checks the same). A $VAR path is the job's to expand, so it is not checked here.
        if (larcvDir is not null && !larcv.Value.Contains('$') && !File.Exists(Path.Combine(larcvDir, "configure.sh")))
            problems.Stop("SPN1066", larcv, $"LarcvBaseDir '{larcv.Value}' has no configure.sh ({Path.Combine(larcvDir, "configure.sh")} {(Directory.Exists(larcvDir) ? "does not exist" : "is missing: the folder does not exist")}); name the LArCV installation folder that holds configure.sh");
        return new JobRuntime(words, container, image.Value, binds.Value, larcvDir, flashmatch);
    }
}
