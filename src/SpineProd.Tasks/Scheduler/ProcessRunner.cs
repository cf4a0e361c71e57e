using System.Diagnostics;
using System.Text;

namespace SpineProd.Scheduler;

/// <summary>What a finished (or killed) command left behind.</summary>
public sealed record ProcessResult(int ExitCode, string Stdout, string Stderr, bool TimedOut = false, bool NotFound = false)
{
    public bool Succeeded => !TimedOut && !NotFound && ExitCode == 0;
    /// <summary>stderr, else stdout, trimmed: what to show a user when the command failed.</summary>
    public string Message => (Stderr.Trim().Length > 0 ? Stderr : Stdout).Trim();
}

/// <summary>
/// Runs a program with an argument list (never through a shell, so no value is ever re-parsed),
/// a timeout, and captured output. The seam the scheduler clients are tested through.
/// </summary>
public interface IProcessRunner
{
    ProcessResult Run(string fileName, IReadOnlyList<string> arguments, TimeSpan timeout,
        string? workingDirectory = null, IReadOnlyDictionary<string, string?>? environment = null,
        string? stdoutFile = null, string? stderrFile = null);

    /// <summary>
    /// Runs it and hands each line of its output to <paramref name="line"/> as it comes, for output
    /// too large to hold (a million tasks' sacct rows); the result's Stdout is then empty.
    /// </summary>
    ProcessResult RunLines(string fileName, IReadOnlyList<string> arguments, TimeSpan timeout, Action<string> line)
    {
        var r = Run(fileName, arguments, timeout);
        foreach (var l in r.Stdout.Split('\n')) if (l.Length > 0) line(l);
        return r with { Stdout = "" };
    }
}

public sealed class ProcessRunner : IProcessRunner
{
    public static readonly ProcessRunner Instance = new();

    public ProcessResult Run(string fileName, IReadOnlyList<string> arguments, TimeSpan timeout,
        string? workingDirectory = null, IReadOnlyDictionary<string, string?>? environment = null,
        string? stdoutFile = null, string? stderrFile = null) =>
        Run(fileName, arguments, timeout, workingDirectory, environment, stdoutFile, stderrFile, null);

    public ProcessResult RunLines(string fileName, IReadOnlyList<string> arguments, TimeSpan timeout, Action<string> line) =>
        Run(fileName, arguments, timeout, null, null, null, null, line);

    private ProcessResult Run(string fileName, IReadOnlyList<string> arguments, TimeSpan timeout,
        string? workingDirectory, IReadOnlyDictionary<string, string?>? environment,
        string? stdoutFile, string? stderrFile, Action<string>? stdoutLine)
    {
        var psi = new ProcessStartInfo(fileName)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
            WorkingDirectory = workingDirectory ?? "",
        };
        foreach (var a in arguments) psi.ArgumentList.Add(a);
        if (environment is not null)
            foreach (var (k, v) in environment)
            {
                if (v is null) psi.Environment.Remove(k);
                else psi.Environment[k] = v;
            }

        using var process = new Process { StartInfo = psi };
        // Output goes to a file (a local task's log) or to memory; both drained asynchronously so a
        // chatty child never blocks on a full pipe.
        using var outSink = stdoutLine is null ? Sink(stdoutFile) : new OutputSink(null, stdoutLine);
        using var errSink = Sink(stderrFile);
        // not disposed: a late event may arrive after this method returns
        var outClosed = new ManualResetEventSlim(false);
        var errClosed = new ManualResetEventSlim(false);
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) outSink.Line(e.Data); else outClosed.Set(); };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) errSink.Line(e.Data); else errClosed.Set(); };
        try
        {
            process.Start();
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            return new ProcessResult(127, "", $"{fileName}: {e.Message}", NotFound: true);
        }
        process.StandardInput.Close();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();

        bool exited = timeout == Timeout.InfiniteTimeSpan
            ? process.WaitForExit(int.MaxValue)
            : process.WaitForExit((int)Math.Min(int.MaxValue, Math.Max(1, timeout.TotalMilliseconds)));
        if (!exited)
        {
            try { process.Kill(entireProcessTree: true); } catch (InvalidOperationException) { }
            process.WaitForExit(5000);
            return new ProcessResult(-1, outSink.Text, errSink.Text, TimedOut: true);
        }
        // The output ends when every holder of the pipes has closed them: a background process the
        // command left behind may hold them for hours. What it wrote by then is enough.
        WaitHandle.WaitAll([outClosed.WaitHandle, errClosed.WaitHandle], TimeSpan.FromSeconds(2));
        return new ProcessResult(process.ExitCode, outSink.Text, errSink.Text);
    }

    private static OutputSink Sink(string? file) => file is null ? new OutputSink(null) : new OutputSink(file);

    private sealed class OutputSink : IDisposable
    {
        private readonly StringBuilder? _text;
        private readonly StreamWriter? _file;
        private readonly Action<string>? _line;
        private readonly object _gate = new();

        public OutputSink(string? file, Action<string>? line = null)
        {
            if (line is not null) _line = line;
            else if (file is null) _text = new StringBuilder();
            else
            {
                Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(file))!);
                _file = new StreamWriter(new FileStream(file, FileMode.Append, FileAccess.Write, FileShare.ReadWrite)) { AutoFlush = true };
            }
        }

        public void Line(string line)
        {
            lock (_gate)
            {
                if (_closed) return; // a background process still writing after we returned
                if (_line is not null) _line(line);
                else if (_text is not null) _text.Append(line).Append('\n');
                else _file!.Write(line + "\n");
            }
        }

        public string Text { get { lock (_gate) return _text?.ToString() ?? ""; } }

        private bool _closed;

        public void Dispose()
        {
            lock (_gate) { _closed = true; _file?.Dispose(); }
        }
    }
}
