using System.Text;
using System.Diagnostics;

namespace SpineProd.Tests.Terminal;

/// <summary>
/// Runs a command in a pseudo-terminal of a given size (util-linux `script`), as a person at a
/// terminal runs it: `dotnet build` then uses its default logger there, the Terminal Logger.
/// Returns the bytes the terminal received, and the screen they leave (<see cref="Screen"/>).
/// </summary>
public static class Pty
{
    public sealed record Result(int ExitCode, string Raw, Screen Screen)
    {
        public string Text => Screen.Text;
    }

    public static Result Run(string command, string workingDirectory, int cols = 160, int rows = 50, IReadOnlyDictionary<string, string?>? environment = null)
    {
        // A person's shell, not this test host's environment: the test runner and MSBuildLocator
        // set variables (MSBuild paths, _MSBUILDTLENABLED=0, CI=true on CI) that change which logger
        // `dotnet build` picks. Node reuse and the build server stay off on this shared machine.
        var env = new Dictionary<string, string?>
        {
            ["PATH"] = Environment.GetEnvironmentVariable("PATH"),
            ["HOME"] = Environment.GetEnvironmentVariable("HOME"),
            ["USER"] = Environment.UserName,
            ["LANG"] = "C.UTF-8",
            ["TERM"] = "xterm-256color",
            ["DOTNET_ROOT"] = Environment.GetEnvironmentVariable("DOTNET_ROOT"),
            ["MSBUILDDISABLENODEREUSE"] = "1",
            ["DOTNET_CLI_USE_MSBUILD_SERVER"] = "0",
            ["DOTNET_NOLOGO"] = "1",
            ["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1",
        };
        foreach (var (k, v) in environment ?? new Dictionary<string, string?>()) env[k] = v;
        // Not ProcessRunner: it reads line by line, and a terminal's bare carriage returns matter here.
        var psi = new ProcessStartInfo("env") { RedirectStandardOutput = true, RedirectStandardInput = true, UseShellExecute = false, WorkingDirectory = workingDirectory };
        foreach (var a in env.Where(e => e.Value is not null)) psi.ArgumentList.Add($"{a.Key}={a.Value}");
        psi.ArgumentList.Insert(0, "-i");
        foreach (var a in new[] { "script", "-qefc", $"stty cols {cols} rows {rows}; {command}", "/dev/null" }) psi.ArgumentList.Add(a);
        using var process = Process.Start(psi)!;
        var output = process.StandardOutput.ReadToEndAsync();
        bool exited = process.WaitForExit(TimeSpan.FromMinutes(5));
        if (!exited) process.Kill(entireProcessTree: true);
        var raw = output.Result;
        var screen = new Screen(cols, rows);
        screen.Feed(raw);
        return new Result(exited ? process.ExitCode : -1, raw, screen);
    }
}

/// <summary>
/// A small VT100 screen: enough of ECMA-48 for what the Terminal Logger writes (cursor moves,
/// erase in line and display, colours, OSC strings), keeping lines scrolled off the top, so a test
/// reads what a person sees (and can scroll back to), not the byte stream.
/// </summary>
public sealed class Screen(int cols, int rows)
{
    private readonly List<char[]> _lines = [Blank(cols)];
    private int _row, _col;
    private static char[] Blank(int n) => Enumerable.Repeat(' ', n).ToArray();
    /// <summary>The first line still on the screen: the cursor cannot move above it.</summary>
    private int Top => Math.Max(0, _lines.Count - rows);

    public string Text => string.Join("\n", _lines.Select(l => new string(l).TrimEnd())).TrimEnd();

    public void Feed(string s)
    {
        for (int i = 0; i < s.Length; i++)
        {
            char c = s[i];
            if (c == '\u001b' && i + 1 < s.Length)
            {
                char k = s[++i];
                if (k == '[')
                {
                    int start = ++i;
                    while (i < s.Length && (s[i] < '@' || s[i] > '~')) i++;
                    if (i < s.Length) Csi(s[start..i], s[i]);
                }
                else if (k == ']')
                {
                    // OSC: up to BEL or ESC \
                    while (i + 1 < s.Length && s[i + 1] != '\a' && !(s[i + 1] == '\u001b' && i + 2 < s.Length && s[i + 2] == '\\')) i++;
                    i += s[i + 1] == '\a' ? 1 : 2;
                }
                else if (k is '(' or ')') i++;
                continue;
            }
            switch (c)
            {
                case '\r': _col = 0; break;
                case '\n': NewLine(); break;
                case '\b': _col = Math.Max(0, _col - 1); break;
                case '\a': break;
                default:
                    if (char.IsControl(c)) break;
                    if (_col >= cols) { NewLine(); _col = 0; }
                    Line()[_col++] = c;
                    break;
            }
        }
    }

    private char[] Line()
    {
        while (_lines.Count <= _row) _lines.Add(Blank(cols));
        return _lines[_row];
    }

    private void NewLine()
    {
        _row++;
        Line();
    }

    private void Csi(string args, char final)
    {
        var p = args.TrimStart('?').Split(';').Select(a => int.TryParse(a, out int n) ? n : 0).ToArray();
        int n = p.Length > 0 && p[0] > 0 ? p[0] : 1;
        switch (final)
        {
            case 'A': _row = Math.Max(Top, _row - n); break;
            case 'B': _row += n; Line(); break;
            case 'C': _col = Math.Min(cols - 1, _col + n); break;
            case 'D': _col = Math.Max(0, _col - n); break;
            case 'E': _row += n; _col = 0; Line(); break;
            case 'F': _row = Math.Max(Top, _row - n); _col = 0; break;
            case 'G': _col = Math.Clamp(n - 1, 0, cols - 1); break;
            case 'H': _row = Top + (p.Length > 0 && p[0] > 0 ? p[0] - 1 : 0); _col = p.Length > 1 && p[1] > 0 ? p[1] - 1 : 0; Line(); break;
            case 'K':
                {
                    var l = Line();
                    int mode = p.Length > 0 ? p[0] : 0;
                    for (int x = mode == 0 ? _col : 0; x < (mode == 1 ? _col + 1 : cols); x++) l[x] = ' ';
                    break;
                }
            case 'J':
                {
                    int mode = p.Length > 0 ? p[0] : 0;
                    if (mode == 0)
                    {
                        var l = Line();
                        for (int x = _col; x < cols; x++) l[x] = ' ';
                        for (int y = _row + 1; y < _lines.Count; y++) _lines[y] = Blank(cols);
                    }
                    break;
                }
        }
    }
}
