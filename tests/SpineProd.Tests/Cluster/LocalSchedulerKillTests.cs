using System.Diagnostics;
using SpineProd.Tests.Infrastructure;
using Xunit;

namespace SpineProd.Tests.Cluster;

/// <summary>
/// The local scheduler as a user meets it: `dotnet build -t:Submit -p:Scheduler=local` killed with
/// SIGKILL in the middle, then Submit again; a SPINE that leaves a process behind.
/// </summary>
public sealed class LocalSchedulerKillTests
{
    /// <summary>A production of two inputs whose SPINE stand-in records its pids, leaves `sleep 1000 &amp;` behind and holds while the hold file exists.</summary>
    private static (ScratchProduction Production, string Pids, string Hold) Production(string name)
    {
        var p = new ScratchProduction(name);
        p.Inputs(2);
        var standIn = Path.Combine(p.Dir, "spine-stand-in.sh");
        File.WriteAllText(standIn, """
            #!/bin/bash
            dir=$(dirname "$0")
            sleep 1000 &
            echo $! >> "$dir/pids"
            echo $$ >> "$dir/pids"
            while [ -e "$dir/hold" ]; do sleep 0.1; done
            echo "stand-in done"
            """);
        File.SetUnixFileMode(standIn, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        p.Write($"<Scheduler>local</Scheduler><SpineCommand>{standIn}</SpineCommand><Time>00:10:00</Time>", "<Source Include=\"inputs/*.root\" />");
        return (p, Path.Combine(p.Dir, "pids"), Path.Combine(p.Dir, "hold"));
    }

    private static int[] Pids(string file) => File.Exists(file)
        ? File.ReadAllLines(file).Where(l => l.Trim().Length > 0).Select(int.Parse).ToArray()
        : [];

    private static void AssertAllGone(IEnumerable<int> pids, string why)
    {
        foreach (var pid in pids)
        {
            var end = DateTime.UtcNow + TimeSpan.FromSeconds(30);
            while (SpineProd.Scheduler.Local.LocalTaskProcess.ProcessStartTicks(pid) is not null)
            {
                Assert.True(DateTime.UtcNow < end, $"process {pid} still runs: {why}");
                Thread.Sleep(50);
            }
        }
    }

    /// <summary>Waits until no process group the local scheduler recorded for a task has a member left.</summary>
    private static void AssertGroupsGone(string productionDir, string why)
    {
        foreach (var state in Directory.EnumerateFiles(Path.Combine(productionDir, "jobs"), "local-scheduler.json", SearchOption.AllDirectories))
        {
            using var json = System.Text.Json.JsonDocument.Parse(File.ReadAllText(state));
            foreach (var job in json.RootElement.GetProperty("Jobs").EnumerateArray())
                foreach (var task in job.GetProperty("Tasks").EnumerateArray())
                {
                    if (!task.TryGetProperty("ProcessGroup", out var g) || g.ValueKind != System.Text.Json.JsonValueKind.Number) continue;
                    long? start = task.TryGetProperty("ProcessStart", out var s) && s.ValueKind == System.Text.Json.JsonValueKind.Number ? s.GetInt64() : null;
                    var end = DateTime.UtcNow + TimeSpan.FromSeconds(30);
                    while (SpineProd.Scheduler.Local.LocalTaskProcess.GroupAlive(g.GetInt32(), start))
                    {
                        Assert.True(DateTime.UtcNow < end, $"process group {g.GetInt32()} still has a process: {why}");
                        Thread.Sleep(50);
                    }
                }
        }
    }

    /// <summary>The MSBuild task host (<c>/nodemode:2</c>) that <paramref name="build"/> started, if any yet.</summary>
    private static int? TaskHostOf(int build)
    {
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), out var pid)) continue;
            try
            {
                var stat = File.ReadAllText(Path.Combine(dir, "stat"));
                var ppid = stat[(stat.LastIndexOf(')') + 2)..].Split(' ')[1];
                if (ppid == build.ToString() && File.ReadAllText(Path.Combine(dir, "cmdline")).Contains("nodemode:2")) return pid;
            }
            catch (IOException) { }
        }
        return null;
    }

    /// <summary>
    /// What is killed with SIGKILL: `dotnet build` alone (its task host lives on), the task host
    /// alone (the tasks' lifeline pipe closes), or the build's whole process group (the build, its
    /// task host and the tasks' wrappers at once, as a closed session can).
    /// </summary>
    [Theory(Timeout = 600_000)]
    [InlineData("build")]
    [InlineData("taskhost")]
    [InlineData("group")]
    public async Task Killing_a_local_Submit_mid_run_ends_its_tasks_and_the_next_Submit_runs_them_once(string victim)
    {
        var (p, pidFile, hold) = Production($"local-kill-{victim}");
        File.WriteAllText(hold, "");
        // setsid: the build leads its own process group, so that killing the group spares the test
        var psi = new ProcessStartInfo("setsid") { WorkingDirectory = p.Dir, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in new[] { "dotnet", "build", p.ProjectFile, "-t:Submit", "-nologo", "-v:n" }) psi.ArgumentList.Add(a);
        psi.Environment["MSBUILDDISABLENODEREUSE"] = "1";
        psi.Environment["DOTNET_CLI_USE_MSBUILD_SERVER"] = "0";
        psi.Environment["DOTNET_NOLOGO"] = "1";
        using (var build = Process.Start(psi)!)
        {
            var output = build.StandardOutput.ReadToEndAsync();
            _ = build.StandardError.ReadToEndAsync();
            // both tasks running: each wrote its own pid and its background process's
            var end = DateTime.UtcNow + TimeSpan.FromMinutes(5);
            while (Pids(pidFile).Length < 4)
            {
                Assert.True(DateTime.UtcNow < end && !build.HasExited, "the local tasks did not start:\n" + (build.HasExited ? await output : ""));
                await Task.Delay(100);
            }
            switch (victim)
            {
                case "build": build.Kill(entireProcessTree: false); break;   // SIGKILL to that one process, as `kill -9 <pid>`
                case "taskhost": Process.GetProcessById(Assert.IsType<int>(TaskHostOf(build.Id))).Kill(); break;
                default: using (var kill = Process.Start("kill", ["-KILL", "--", $"-{build.Id}"])) kill.WaitForExit(); break;
            }
            await build.WaitForExitAsync();
        }
        var first = Pids(pidFile);
        AssertAllGone(first, "a task of the killed Submit (or what it left behind) outlived it");
        // The tasks' process groups end a moment after their processes (the wrapper tears down
        // last). Until they have, the next Submit rightly reports the tasks still running rather
        // than run them twice (seen under CI's load): wait for that, as a person would see it end.
        AssertGroupsGone(p.Dir, "a task's process group outlived the killed Submit");

        File.Delete(hold);
        var second = DotnetBuild.Run(p.ProjectFile, "Submit", timeout: TimeSpan.FromMinutes(5));

        Assert.True(second.Succeeded, second.Output);
        // (the whole output on failure: xunit's Contains shows only its first line)
        Assert.True(second.Output.Contains("2 to submit", StringComparison.Ordinal), second.Output);
        Assert.True(second.Output.Contains("ran here: 2 completed", StringComparison.Ordinal), second.Output);
        var again = Pids(pidFile).Skip(first.Length).ToArray();
        Assert.Equal(4, again.Length);                       // each task ran once more, not twice
        AssertAllGone(again, "what SPINE left in the background outlived its task");
    }
}
