using System.Diagnostics;
using SpineProd.Scheduler;
using SpineProd.Tests.Cluster;
using SpineProd.Tests.Infrastructure;
using Xunit;

namespace SpineProd.Tests.Hardening;

/// <summary>
/// Ctrl-C while `-t:Status -p:Wait=true` waits between polls, as a person presses it: the build
/// stops within seconds with SPN3024 and the tasks go on running. With the tasks in-proc (as a
/// packed SDK runs them) MSBuild would otherwise wait for the task to end, however long the
/// production runs; in a task host (a clone) the cancel is forwarded to it.
/// </summary>
public sealed class StatusWaitInterruptTests : EndToEndScenarios
{
    protected override string Scheduler => "local";

    [Theory]
    [InlineData("AssemblyTaskFactory")]
    [InlineData("TaskHostFactory")]
    public void Ctrl_C_stops_a_waiting_Status_at_once_and_leaves_the_tasks_running(string taskFactory)
    {
        var p = new ScratchProduction($"wait-ctrlc-{taskFactory}");
        Directory.CreateDirectory(Path.Combine(p.Dir, "inputs"));
        File.WriteAllText(Path.Combine(p.Dir, "inputs", "run_SLEEP25.root"), "");
        p.Write($"""
                <Scheduler>local</Scheduler>
                <SpineCommand>{TestDouble}</SpineCommand>
            """, "<Source Include=\"inputs/*.root\" />");
        // A local Submit runs its task to the end: Status waits on it from a second terminal.
        var submit = Task.Run(() => Run(p, "Submit"));
        var deadline = DateTime.UtcNow.AddMinutes(2);
        while (!File.Exists(Path.Combine(p.StateDir, "submissions.json")) && DateTime.UtcNow < deadline) Thread.Sleep(200);

        // SIGINT as a terminal sends it (a test host started in the background inherits it ignored)
        var psi = new ProcessStartInfo("env", ["--default-signal=INT", "dotnet", "build", p.ProjectFile, "-t:Status", "-p:Wait=true", "-p:PollInterval=60",
            $"-p:SpineProdTaskFactory={taskFactory}", "-nologo"]) { WorkingDirectory = p.Dir, RedirectStandardOutput = true, RedirectStandardError = true };
        using var build = Process.Start(psi)!;
        var output = new System.Text.StringBuilder();
        var polled = new ManualResetEventSlim();
        build.OutputDataReceived += (_, e) => { lock (output) output.AppendLine(e.Data); if (e.Data?.Contains("waiting, poll 1") == true) polled.Set(); };
        build.BeginOutputReadLine();
        Assert.True(polled.Wait(TimeSpan.FromMinutes(2)), $"Status never showed its first poll:\n{output}");
        var sent = Stopwatch.StartNew();
        ProcessRunner.Instance.Run("kill", ["-INT", build.Id.ToString()], TimeSpan.FromSeconds(10));
        Assert.True(build.WaitForExit(20_000), $"Status went on waiting after Ctrl-C:\n{output}");
        build.WaitForExit();
        var stopped = sent.Elapsed;

        string text;
        lock (output) text = output.ToString();
        Assert.True(stopped < TimeSpan.FromSeconds(15), $"{stopped.TotalSeconds:0.0} s to stop:\n{text}");
        Assert.NotEqual(0, build.ExitCode);
        Assert.Contains("SPN3024", text);
        Assert.DoesNotContain("Unhandled", text);
        submit.Wait();
        Assert.Contains("1 of 1 task(s) complete", Run(p, "Status").Output);   // the task ran on to the end
    }
}
