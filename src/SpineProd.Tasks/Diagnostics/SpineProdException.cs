namespace SpineProd.Diagnostics;

/// <summary>
/// An error a user can cause and fix: it carries an SPN code (see the README's error table) and the
/// file, line and column to fix. The plain classes throw it; the MSBuild tasks turn it into an
/// error at that file and line (<see cref="TaskLogging.LogSpn"/>), never a stack trace.
/// </summary>
public sealed class SpineProdException : Exception
{
    public SpineProdException(string code, string message, string? file = null, int line = 0, int column = 0, Exception? inner = null)
        : base(message, inner)
    {
        Code = code;
        File = file;
        Line = line;
        Column = column;
    }

    public string Code { get; }
    public string? File { get; }
    public int Line { get; }
    public int Column { get; }

    public override string ToString() =>
        $"{(File is null ? "" : Line > 0 ? $"{File}({Line},{Column}): " : $"{File}: ")}error {Code}: {Message}";
}

/// <summary>A warning found while planning; the task logs it at its file and line.</summary>
public sealed record SpnDiagnostic(string Code, string Message, string? File = null, int Line = 0, int Column = 0, bool IsError = false);
