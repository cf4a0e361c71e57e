using Microsoft.Build.Framework;
using Microsoft.Build.Utilities;

namespace SpineProd.Diagnostics;

/// <summary>How every SpineProd task reports SPN diagnostics, so each error points at the file to fix.</summary>
internal static class TaskLogging
{
    /// <summary>
    /// Logs what a person asked to see (a plan, a table, job ids, progress) so every logger shows it.
    /// High importance reaches the classic console logger, CI logs and binlogs. .NET's Terminal
    /// Logger (the default in a terminal since .NET 9) hides high-importance messages below
    /// -v:detailed and prints at once only messages holding one of its "immediate" keywords; so when
    /// it draws the console (<paramref name="terminalLogger"/>), the report ends with that keyword
    /// inside an escape sequence the terminal shows as nothing (README: "In a terminal").
    /// </summary>
    /// <remarks>
    /// One message a line: the Terminal Logger ends its own lines but not the line breaks inside a
    /// message (in a terminal without output post-processing they make a staircase), and a CI log
    /// then has one log line for each line of text.
    /// </remarks>
    public static void LogReport(this TaskLoggingHelper log, string text, bool terminalLogger)
    {
        foreach (var line in text.TrimEnd('\n', '\r').Split('\n'))
            log.LogMessage(MessageImportance.High, "{0}", line.TrimEnd('\r') + (terminalLogger ? TerminalLoggerMarker : ""));
    }

    /// <summary>
    /// An OSC 8 "end of hyperlink" with an id parameter: a no-op for terminals (the Terminal Logger
    /// writes OSC 8 links itself), carrying "--interactive", a keyword the Terminal Logger prints
    /// immediately (dotnet/msbuild#9667 gives it as the way to have a message shown).
    /// </summary>
    internal const string TerminalLoggerMarker = "\u001b]8;id=--interactive;\u001b\\";

    public static void LogSpn(this TaskLoggingHelper log, SpineProdException e, string? fallbackFile)
        => log.LogError(null, e.Code, null, e.File ?? fallbackFile, e.Line, e.Column, 0, 0, "{0}", OneLine(e.Message));

    public static void LogSpn(this TaskLoggingHelper log, SpnDiagnostic d, string? fallbackFile)
    {
        if (d.IsError)
            log.LogError(null, d.Code, null, d.File ?? fallbackFile, d.Line, d.Column, 0, 0, "{0}", OneLine(d.Message));
        else
            log.LogWarning(null, d.Code, null, d.File ?? fallbackFile, d.Line, d.Column, 0, 0, "{0}", OneLine(d.Message));
    }

    /// <summary>
    /// A diagnostic on one line. Loggers print every line of a message as a diagnostic of its own
    /// (a five-line message is five "error" lines in a CI log, four of them without the code), so
    /// the lines are joined; a list of "- item" lines becomes "item; item".
    /// </summary>
    public static string OneLine(string message)
    {
        if (message.IndexOfAny(['\n', '\r']) < 0) return message;
        var sb = new System.Text.StringBuilder();
        bool previousWasItem = false;
        foreach (var raw in message.Split('\n'))
        {
            var line = raw.Trim();
            if (line.Length == 0) continue;
            bool item = line.StartsWith("- ", StringComparison.Ordinal);
            if (item) line = line[2..].TrimStart();
            if (sb.Length > 0) sb.Append(item && previousWasItem ? "; " : " ");
            sb.Append(line);
            previousWasItem = item;
        }
        return sb.ToString();
    }

    /// <summary>
    /// Runs a task body: an <see cref="SpineProdException"/> becomes an SPN error at its file; an
    /// I/O or access error becomes SPN0001 at the production (a user-fixable environment problem).
    /// Anything else is a SpineProd bug and keeps MSBuild's own reporting.
    /// </summary>
    public static bool Run(this TaskLoggingHelper log, string? projectFile, Action body)
    {
        try
        {
            body();
        }
        catch (SpineProdException e)
        {
            log.LogSpn(e, projectFile);
        }
        catch (AggregateException e) when (e.Flatten().InnerExceptions.All(x => x is SpineProdException))
        {
            // Work done in parallel (scripts rendered per array): every array breaks the same way, so one error says it.
            log.LogSpn((SpineProdException)e.Flatten().InnerExceptions[0], projectFile);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // The system's message usually names the path; when it does not, say so rather than leave the user guessing.
            var message = e.Message.Contains('/') || e.Message.Contains('\\') ? e.Message
                : $"{e.Message} (the system did not say which file or folder; the production is {projectFile})";
            log.LogError(null, "SPN0001", null, projectFile, 0, 0, 0, 0, "{0}", OneLine(message));
        }
        return !log.HasLoggedErrors;
    }
}
