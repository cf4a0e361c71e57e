using System.Globalization;
using System.Text.RegularExpressions;
using SpineProd.Options;
using SpineProd.Profiles;

namespace SpineProd.Planning;

/// <summary>
/// The resources step: what one task of a stage asks for, as values (a time limit, bytes of memory
/// per CPU, counts, names), from the stage's settings over its profile over the detector's and the
/// file's defaults. Values are read in the forms users write (SLURM's <c>2:00:00</c>, <c>8g</c>, or
/// <c>4h</c>); each scheduler's dialect spells them its own way when it writes a script.
/// </summary>
internal static partial class StageResources
{
    public static Resources Resolve(StageSettings s, Profile profile, ProfileCatalog catalog, string detector, PlanProblems problems)
    {
        var r = new Resources
        {
            Account = Word("Account", s["Account"], problems, catalog, profile, profile.Account, catalog.Detector(detector)?.Account, catalog.DefaultAccount),
            Partition = Word("Partition", s["Partition"], problems, catalog, profile, profile.Partition),
            Qos = Word("Qos", s["Qos"], problems, catalog, profile, profile.Qos),
            Gpus = Count(s["Gpus"], profile.Gpus, 0, problems),
            CpusPerTask = Count(s["CpusPerTask"], profile.CpusPerTask, 1, problems),
            Description = profile.Description,
        };
        var memory = s["MemPerCpu"];
        string? memoryText = memory.IsSet ? memory.Value : profile.MemPerCpu;
        if (memoryText is { Length: > 0 })
            r.MemPerCpuBytes = SettingValues.TryParseMemory(memoryText, out long bytes) ? bytes
                : Refuse<long>("SPN1025", memory, catalog, profile, $"MemPerCpu '{memoryText}' is not valid: expected a size such as 4g, 4000M or 8G (a number alone is MB)", problems);
        var time = s["Time"];
        string? timeText = time.IsSet ? time.Value : profile.Time;
        if (timeText is { Length: > 0 })
            r.Walltime = SettingValues.TryParseTimeLimit(timeText, out var limit) ? limit
                : Refuse<TimeSpan>("SPN1021", time, catalog, profile, $"Time '{timeText}' is not valid: expected minutes, MM:SS, H:MM:SS, D-HH, D-HH:MM, D-HH:MM:SS, or a number with a unit (90m, 4h, 2d), more than zero and at most a year", problems);
        if (r.MemPerCpuBytes is null || r.Walltime is null)
            problems.Stop("SPN1303", "The profile gives no mem_per_cpu or time, and the production sets neither.", catalog.File, profile.Line);
        return r;
    }

    /// <summary>Account, partition, qos: a word that is safe in any scheduler's directive.</summary>
    private static string? Word(string name, SettingValue setting, PlanProblems problems, ProfileCatalog catalog, Profile profile, params string?[] fallbacks)
    {
        string? value = setting.IsSet ? setting.Value : fallbacks.FirstOrDefault(f => !string.IsNullOrEmpty(f));
        if (value is null || SafeWord().IsMatch(value)) return value;
        return Refuse<string>("SPN1025", setting, catalog, profile, $"{name} '{value}' is not valid: expected letters, digits and _ . : + -", problems);
    }

    private static int Count(SettingValue setting, int profileValue, int min, PlanProblems problems)
    {
        if (!setting.IsSet) return profileValue;
        if (int.TryParse(setting.Value, NumberStyles.None, CultureInfo.InvariantCulture, out int v) && v >= min) return v;
        problems.Stop("SPN1026", setting, $"'{setting.Value}' is not a whole number >= {min}");
        return 0;
    }

    /// <summary>A bad value: at the setting's line when the production set it, else at the profile's line.</summary>
    private static T Refuse<T>(string code, SettingValue setting, ProfileCatalog catalog, Profile profile, string message, PlanProblems problems)
    {
        if (setting.IsSet) problems.Stop(code, setting, message);
        problems.Stop(code, $"{message} (from profile '{profile.Name}' in {Path.GetFileName(catalog.File)}).", catalog.File, profile.Line);
        return default!;
    }

    /// <summary>A value safe in #SBATCH/#PBS lines and job names: letters, digits and _ . : + -</summary>
    public static bool IsSafeWord(string value) => SafeWord().IsMatch(value);

    [GeneratedRegex(@"^[A-Za-z0-9_.:+-]+$")]
    private static partial Regex SafeWord();
}
