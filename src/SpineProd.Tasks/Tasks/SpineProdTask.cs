using SpineProd.Diagnostics;

namespace SpineProd.Tasks;

/// <summary>What every SpineProd task that shows a person something shares: how it shows it.</summary>
public abstract class SpineProdTask : Microsoft.Build.Utilities.Task
{
    /// <summary>
    /// $(_MSBUILDTLENABLED): "1" when .NET's Terminal Logger draws the console. The targets pass it
    /// because a task in an out-of-process task host sees "0" in its own environment.
    /// </summary>
    public string? TerminalLogger { get; set; }

    protected bool UnderTerminalLogger => TerminalLogger == "1";

    /// <summary>Text a person asked for, on the console whatever the logger (<see cref="TaskLogging.LogReport"/>).</summary>
    protected void Report(string text) => Log.LogReport(text, UnderTerminalLogger);
}
