using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;

namespace SpineProd.Scheduler.Local;

/// <summary>How one local task ended.</summary>
public sealed record LocalTaskOutcome(int ExitCode, bool TimedOut = false, bool Stopped = false, bool NotStarted = false, string Message = "")
{
    /// <summary>User + system CPU time of the task's processes (bash's <c>times</c> for what the wrapper waited for).</summary>
    public TimeSpan? CpuTime { get; init; }
    /// <summary>The largest memory its process group held, sampled (<see cref="LocalTaskMeter"/>).</summary>
    public long? PeakMemoryBytes { get; init; }

    /// <summary>SLURM's <c>exit:signal</c> form: a script killed by signal n is <c>0:n</c>.</summary>
    public string SlurmExitCode => ExitCode > 128 ? $"0:{ExitCode - 128}" : $"{ExitCode}:0";
}

/// <summary>
/// Runs one local task as a batch scheduler does: the script and everything it starts are one
/// process group, which ends when the script ends (a background process SPINE left behind is
/// ended with it, as SLURM ends a job's processes), at the time limit, when the runner is asked to
/// stop, and when the runner itself dies, even by SIGKILL.
/// <para>.NET cannot set a process group or a parent-death signal for a child, so a small bash
/// wrapper does it: it starts the script in its own process group (job control, <c>set -m</c>),
/// prints that group's id, and starts a watchdog, in a group of its own, that reads the wrapper's
/// standard input: a pipe only the runner holds, never written. When the runner dies, by any
/// signal, the kernel closes the pipe; the watchdog reads end of file and kills the group. The
/// script's output goes straight to its log files, so no pipe of ours is held by what it leaves.</para>
/// </summary>
public static class LocalTaskProcess
{
    private const string Wrapper = """
        out=$1 err=$2; shift 2
        exec 3<&0 0</dev/null
        set -m
        "$@" >>"$out" 2>>"$err" 3<&- &
        task=$!
        { read -r -u 3 _; kill -KILL -- "-$task"; } >/dev/null 2>&1 &
        watchdog=$!; disown "$watchdog"
        set +m
        exec 3<&-
        trap '' INT HUP QUIT
        echo "$task"
        wait "$task"; rc=$?
        times
        kill -TERM -- "-$task" 2>/dev/null
        kill -KILL "$watchdog" 2>/dev/null
        exit "$rc"
        """;

    /// <summary>
    /// Runs <c>/bin/bash script</c>; <paramref name="started"/> receives the task's process group
    /// and that process's start time (<see cref="ProcessStartTicks"/>) before anything else happens.
    /// At <paramref name="limit"/> or on <paramref name="stop"/>, the group gets SIGTERM, then
    /// SIGKILL after <paramref name="killWait"/>, like SLURM's KillWait.
    /// </summary>
    public static LocalTaskOutcome Run(string script, string workDir, IReadOnlyDictionary<string, string?> environment,
        string outFile, string errFile, TimeSpan limit, TimeSpan killWait, CancellationToken stop, Action<int, long?> started)
    {
        var psi = new ProcessStartInfo("/bin/bash")
        {
            RedirectStandardInput = true,   // the lifeline: never written, closed by the kernel when we die
            RedirectStandardOutput = true,  // the task's process group id
            RedirectStandardError = true,   // the wrapper's own complaints (a log file it cannot open)
            UseShellExecute = false,
            WorkingDirectory = workDir,
        };
        foreach (var a in new[] { "-c", Wrapper, "spineprod-task", outFile, errFile, "/bin/bash", script }) psi.ArgumentList.Add(a);
        foreach (var (k, v) in environment)
        {
            if (v is null) psi.Environment.Remove(k);
            else psi.Environment[k] = v;
        }
        foreach (var f in new[] { outFile, errFile }) Directory.CreateDirectory(Path.GetDirectoryName(f)!);

        using var process = new Process { StartInfo = psi, EnableRaisingEvents = true };
        // not disposed: Exited may be raised on a pool thread after this method returns
        var exited = new ManualResetEventSlim(false);
        process.Exited += (_, _) => exited.Set();
        try { process.Start(); }
        catch (System.ComponentModel.Win32Exception e) { return new LocalTaskOutcome(127, NotStarted: true, Message: $"/bin/bash: {e.Message}"); }
        var complaints = process.StandardError.ReadToEndAsync();
        var first = process.StandardOutput.ReadLine();
        if (!int.TryParse(first, NumberStyles.None, CultureInfo.InvariantCulture, out var group) || group <= 1)
        {
            process.WaitForExit();
            return new LocalTaskOutcome(127, NotStarted: true, Message: complaints.Result.Trim());
        }
        var meter = new LocalTaskMeter(group);
        meter.Sample();   // before anything slower: a task of a few milliseconds is measured at least once
        started(group, ProcessStartTicks(group));

        var deadline = limit == Timeout.InfiniteTimeSpan ? (DateTime?)null : DateTime.UtcNow + limit;
        bool timedOut = false, stopped = false;
        while (!exited.IsSet)
        {
            meter.Sample();
            var left = deadline is { } d ? d - DateTime.UtcNow : Timeout.InfiniteTimeSpan;
            if (left != Timeout.InfiniteTimeSpan && left <= TimeSpan.Zero) { timedOut = true; break; }
            // wake up to sample the group's memory (often at first, then less: a long task costs little)
            var wait = left == Timeout.InfiniteTimeSpan || left > meter.NextInterval ? meter.NextInterval : left;
            if (WaitHandle.WaitAny([exited.WaitHandle, stop.WaitHandle], wait) == 1) { stopped = true; break; }
        }
        if (timedOut || stopped)
        {
            Signal(group, Sigterm);
            if (!exited.Wait(killWait)) Signal(group, Sigkill);
        }
        process.WaitForExit();
        // The wrapper asked what the script left behind to end; whatever ignored it ends now.
        Signal(group, Sigkill);
        int code = process.ExitCode;
        var rest = process.StandardOutput.ReadToEndAsync();
        return new LocalTaskOutcome(code, timedOut, stopped, Message: complaints.Wait(1000) ? complaints.Result.Trim() : "")
        {
            CpuTime = rest.Wait(1000) ? LocalTaskMeter.ChildrenCpuTime(rest.Result) : null,
            PeakMemoryBytes = meter.PeakBytes,
        };
    }

    /// <summary>Whether a process group recorded earlier still has a process: its leader, the same
    /// process (start time), or, the leader gone, another member (Linux never reuses a pid as long as
    /// a group of that id has a member).</summary>
    public static bool GroupAlive(int group, long? startTicks)
    {
        if (group <= 1 || !Directory.Exists("/proc/self")) return false;
        var leader = ProcessStartTicks(group);
        if (leader is not null) return startTicks is null || leader == startTicks;
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            var name = Path.GetFileName(dir);
            if (name.Length == 0 || !char.IsAsciiDigit(name[0])) continue;
            if (StatFields(dir) is { Length: > 2 } f && f[2] == group.ToString(CultureInfo.InvariantCulture) && f[0] != "Z") return true;
        }
        return false;
    }

    /// <summary>When a process started (clock ticks after boot, from /proc/pid/stat), or null if it is gone or not a live process.</summary>
    public static long? ProcessStartTicks(int pid)
    {
        var f = StatFields($"/proc/{pid.ToString(CultureInfo.InvariantCulture)}");
        // after "pid (comm)": state ppid pgrp ... starttime is field 22, the 20th here
        if (f is not { Length: > 19 } || f[0] == "Z") return null;
        return long.TryParse(f[19], NumberStyles.None, CultureInfo.InvariantCulture, out var t) ? t : null;
    }

    private static string[]? StatFields(string procDir)
    {
        try
        {
            var stat = File.ReadAllText(Path.Combine(procDir, "stat"));
            int close = stat.LastIndexOf(')');
            return close < 0 ? null : stat[(close + 1)..].Split(' ', StringSplitOptions.RemoveEmptyEntries);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return null; }
    }

    internal const int Sigkill = 9, Sigterm = 15;

    internal static void Signal(int group, int signal)
    {
        if (group > 1) _ = kill(-group, signal);
    }

    [DllImport("libc", SetLastError = true)]
    private static extern int kill(int pid, int sig);
}
