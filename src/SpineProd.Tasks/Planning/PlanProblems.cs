using System.Diagnostics.CodeAnalysis;
using SpineProd.Diagnostics;

namespace SpineProd.Planning;

/// <summary>
/// The planner's one way to report what is wrong: every step reports here, at the file and line to
/// fix. <see cref="Error"/> records and lets the step go on (so a list with three bad lines names
/// all three); <see cref="Stop"/> records and ends the plan, for a mistake nothing after it can
/// work around. <see cref="Planner.Plan"/> returns either way: it never throws a user's mistake.
/// </summary>
public sealed class PlanProblems
{
    private readonly List<SpnDiagnostic> _all = new();

    public IReadOnlyList<SpnDiagnostic> All => _all;
    public bool HasErrors => _all.Any(d => d.IsError);

    public void Warn(string code, string message, string? file, int line) =>
        _all.Add(new SpnDiagnostic(code, message, file, line, line > 0 ? 1 : 0));

    /// <summary>Records an error; the same error twice (a production's setting, checked for each of its stages) is recorded once.</summary>
    public void Error(string code, string message, string? file, int line)
    {
        var d = new SpnDiagnostic(code, message, file, line, line > 0 ? 1 : 0, IsError: true);
        if (!_all.Contains(d)) _all.Add(d);
    }

    /// <summary>A setting's value is wrong and planning may go on: the error points at the line that set it.</summary>
    public void Error(string code, SettingValue setting, string message) =>
        Error(code, $"{message} (from {setting.Origin}).", setting.File, setting.Line);

    /// <summary>Records the error and ends planning.</summary>
    [DoesNotReturn]
    public void Stop(string code, string message, string? file, int line)
    {
        Error(code, message, file, line);
        throw new Stopped();
    }

    /// <summary>A setting's value is wrong: the error points at the line that set it.</summary>
    [DoesNotReturn]
    public void Stop(string code, SettingValue setting, string message) =>
        Stop(code, $"{message} (from {setting.Origin}).", setting.File, setting.Line);

    /// <summary>Diagnostics found by code outside the planner (the config resolver's warnings).</summary>
    public void AddRange(IEnumerable<SpnDiagnostic> diagnostics) => _all.AddRange(diagnostics);

    /// <summary>
    /// Runs a step; an SPN error thrown by code the planner calls (config resolver, profiles,
    /// templates) becomes a problem here. An error without a place of its own is put at the line of
    /// <paramref name="blame"/>, the setting that led to it (every error, with <paramref name="blameAlways"/>).
    /// </summary>
    public T Catch<T>(Func<T> step, SettingValue? blame = null, bool blameAlways = false)
    {
        try { return step(); }
        catch (SpineProdException e)
        {
            if ((e.File is null || blameAlways) && blame is { } b) Stop(e.Code, e.Message, b.File, b.Line);
            _all.Add(new SpnDiagnostic(e.Code, e.Message, e.File, e.Line, e.Column, IsError: true));
            throw new Stopped();
        }
    }

    /// <summary>Planning ended at a recorded error; <see cref="Planner.Plan"/> catches it.</summary>
    internal sealed class Stopped : Exception;
}
