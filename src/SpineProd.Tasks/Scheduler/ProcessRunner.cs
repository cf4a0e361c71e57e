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
    /// too large to hold (a million tasks' sacct rows): the line is a view of a read buffer, valid
    /// only during the call (no string per line). The result's Stdout is then empty.
    /// </summary>
    ProcessResult RunLines(string fileName, IReadOnlyList<string> arguments, TimeSpan timeout, Action<ReadOnlySpan<char>> line)
    {
        var r = Run(fileName, arguments, timeout);
        foreach (var range in r.Stdout.AsSpan().Split('\n'))
        {
            var l = r.Stdout.AsSpan()[range];
            if (l.Length > 0) line(l);
        }
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

    public ProcessResult RunLines(string fileName, IReadOnlyList<string> arguments, TimeSpan timeout, Action<ReadOnlySpan<char>> line) =>
        Run(fileName, arguments, timeout, null, null, null, null, line);

    private ProcessResult Run(string fileName, IReadOnlyList<string> arguments, TimeSpan timeout,
        string? workingDirectory, IReadOnlyDictionary<string, string?>? environment,
        string? stdoutFile, string? stderrFile, Action<ReadOnlySpan<char>>? stdoutLine)
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
        // Output goes to a file (a local task's log), to memory, or line by line to a reader; all
        // drained while the child runs so a chatty child never blocks on a full pipe.
        using var outSink = Sink(stdoutFile);
        using var errSink = Sink(stderrFile);
        // not disposed: a late event may arrive after this method returns
        var outClosed = new ManualResetEventSlim(false);
        var errClosed = new ManualResetEventSlim(false);
        if (stdoutLine is null) process.OutputDataReceived += (_, e) => { if (e.Data is not null) outSink.Line(e.Data); else outClosed.Set(); };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) errSink.Line(e.Data); else errClosed.Set(); };
        try
        {
            process.Start();
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            return new ProcessResult(127, "", $"{fileName}: {e.Message}", NotFound: true);
        }
        var started = Stopwatch.StartNew();
        process.StandardInput.Close();
        // A reader of a million lines reads the pipe itself, in blocks, on its own thread: no event
        // and no string per line. What it hands out after this method returned is dropped.
        var reader = stdoutLine is null ? null : new LineReader(process.StandardOutput, stdoutLine, outClosed);
        if (reader is null) process.BeginOutputReadLine();
        else reader.Start();
        process.BeginErrorReadLine();

        bool exited = timeout == Timeout.InfiniteTimeSpan
            ? process.WaitForExit(int.MaxValue)
            : process.WaitForExit((int)Math.Min(int.MaxValue, Math.Max(1, timeout.TotalMilliseconds)));
        if (!exited)
        {
            try { process.Kill(entireProcessTree: true); } catch (InvalidOperationException) { }
            process.WaitForExit(5000);
            reader?.Close();
            return new ProcessResult(-1, outSink.Text, errSink.Text, TimedOut: true);
        }
        // The output ends when every holder of the pipes has closed them: a background process the
        // command left behind may hold them for hours. What it wrote by then is enough.
        if (reader is not null)
        {
            // Every line must be read, or the caller would take part of the answer for all of it: the
            // rest of the time allowed, then the answer counts as timed out.
            var left = timeout == Timeout.InfiniteTimeSpan ? Timeout.InfiniteTimeSpan
                : TimeSpan.FromMilliseconds(Math.Max(2000, (timeout - started.Elapsed).TotalMilliseconds));
            bool read = outClosed.Wait(left);
            reader.Close();
            errClosed.Wait(TimeSpan.FromSeconds(2));
            return new ProcessResult(read ? process.ExitCode : -1, "", errSink.Text, TimedOut: !read);
        }
        WaitHandle.WaitAll([outClosed.WaitHandle, errClosed.WaitHandle], TimeSpan.FromSeconds(2));
        return new ProcessResult(process.ExitCode, outSink.Text, errSink.Text);
    }

    /// <summary>Reads a pipe in blocks and hands each line (without its line break) to a callback, until the pipe ends or it is closed.</summary>
    private sealed class LineReader(StreamReader source, Action<ReadOnlySpan<char>> line, ManualResetEventSlim ended)
    {
        private readonly object _gate = new();
        private bool _closed;

        public void Start() => new Thread(Read) { IsBackground = true, Name = "process output lines" }.Start();

        /// <summary>No line is handed out after this returns (a background child may still be writing).</summary>
        public void Close() { lock (_gate) _closed = true; }

        private void Read()
        {
            var buffer = new char[1 << 16];
            int start = 0, end = 0;
            try
            {
                while (true)
                {
                    if (end == buffer.Length)
                    {
                        // a line longer than the buffer: make room by moving it down, or grow
                        if (start > 0) { System.Array.Copy(buffer, start, buffer, 0, end - start); end -= start; start = 0; }
                        else System.Array.Resize(ref buffer, buffer.Length * 2);
                    }
                    int n = source.Read(buffer, end, buffer.Length - end);
                    if (n == 0) break;
                    int scanFrom = end;
                    end += n;
                    lock (_gate)
                    {
                        if (_closed) return;
                        int nl;
                        while ((nl = System.Array.IndexOf(buffer, '\n', scanFrom, end - scanFrom)) >= 0)
                        {
                            line(buffer.AsSpan(start, nl - start));
                            start = scanFrom = nl + 1;
                        }
                    }
                    if (start == end) start = end = 0;
                }
                lock (_gate) if (!_closed && end > start) line(buffer.AsSpan(start, end - start));
            }
            catch (IOException) { }
            catch (ObjectDisposedException) { }
            finally { ended.Set(); }
        }
    }

    private static OutputSink Sink(string? file) => new(file);

    private sealed class OutputSink : IDisposable
    {
        private readonly StringBuilder? _text;
        private readonly StreamWriter? _file;
        private readonly object _gate = new();

        public OutputSink(string? file)
        {
            if (file is null) _text = new StringBuilder();
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
                if (_text is not null) _text.Append(line).Append('\n');
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
