using SpineProd.Options;

namespace SpineProd.Planning;

/// <summary>
/// A stage's settings, by the catalogue's names, with where each came from. Precedence:
/// <c>-p:</c> on the command line &gt; the stage's metadata (or pipeline key) &gt; the production's property.
/// A single-stage production has no stage metadata: only the property and <c>-p:</c> count.
/// </summary>
public sealed class StageSettings
{
    private readonly PlanRequest _request;
    private readonly StageRequest? _stage;

    /// <param name="stage">The stage whose metadata count, or null for production-wide settings.</param>
    public StageSettings(PlanRequest request, StageRequest? stage)
    {
        _request = request;
        _stage = stage;
    }

    /// <summary>The value of a plan setting (<see cref="SettingsCatalogue.PlanSettings"/>), trimmed; empty when unset.</summary>
    public SettingValue this[string name]
    {
        get
        {
            var setting = SettingsCatalogue.Find(name);
            if (setting is null || setting.Name != name || !setting.IsPlanSetting && !setting.IsStageMetadata)
                throw new ArgumentException($"'{name}' is not a plan setting of the catalogue (Options/SettingsCatalogue.cs).", nameof(name));
            var settings = _request.Settings;
            if (setting.IsProperty && _request.GlobalProperties.Contains(name) && settings.TryGetValue(name, out var global))
                return new SettingValue(global.Trim(), _request.ProductionFile, 0, $"-p:{name} on the command line");
            if (_stage is not null && setting.IsStageMetadata)
                foreach (var key in (setting.StageAliases ?? []).Prepend(name).Concat(setting.AllAliases))
                    if (_stage.Metadata.TryGetValue(key, out var v) && v.Length > 0)
                        return new SettingValue(v.Trim(), _stage.File, _stage.LineOf(key), $"{key} of stage '{_stage.Name}'");
            if (!setting.IsProperty) return new SettingValue("", _stage?.File, _stage?.Line ?? 0, $"stage '{_stage?.Name}'");
            settings.TryGetValue(name, out var value);
            // A property set through its alias (<Ntasks> for MaxRunningTasks) is at the alias's line.
            int line = _request.Xml?.PropertyLine(name) ?? 0;
            foreach (var alias in setting.AllAliases)
                if (line == 0) line = _request.Xml?.PropertyLine(alias) ?? 0;
            return new SettingValue((value ?? "").Trim(), _request.ProductionFile, line, $"<{name}>");
        }
    }

    /// <summary>The settings as the (name, aliases) function the SPINE-argument and download steps take; the catalogue knows the aliases.</summary>
    public Func<string, string[], SettingValue> AsFunc() => (name, _) => this[name];

    /// <summary>A stage's list metadata (DependsOn, InputsFrom, Cleanup): ';' or ',' separated.</summary>
    public static List<string> SplitList(string? value) =>
        (value ?? "").Split([';', ','], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).ToList();
}
