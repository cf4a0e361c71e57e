using Microsoft.Build.Utilities;

namespace SpineProd.Diagnostics;

/// <summary>How every SpineProd task reports SPN diagnostics, so each error points at the file to fix.</summary>
internal static class TaskLogging
{
    public static void LogSpn(this TaskLoggingHelper log, SpineProdException e, string? fallbackFile)
        => log.LogError(null, e.Code, null, e.File ?? fallbackFile, e.Line, e.Column, 0, 0, "{0}", e.Message);

    public static void LogSpn(this TaskLoggingHelper log, SpnDiagnostic d, string? fallbackFile)
    {
        if (d.IsError)
            log.LogError(null, d.Code, null, d.File ?? fallbackFile, d.Line, d.Column, 0, 0, "{0}", d.Message);
        else
            log.LogWarning(null, d.Code, null, d.File ?? fallbackFile, d.Line, d.Column, 0, 0, "{0}", d.Message);
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
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // The system's message usually names the path; when it does not, say so rather than leave the user guessing.
            var message = e.Message.Contains('/') || e.Message.Contains('\\') ? e.Message
                : $"{e.Message} (the system did not say which file or folder; the production is {projectFile})";
            log.LogError(null, "SPN0001", null, projectFile, 0, 0, 0, 0, "{0}", message);
        }
        return !log.HasLoggedErrors;
    }
}
