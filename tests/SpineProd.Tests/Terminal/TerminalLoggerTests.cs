using System.Text.RegularExpressions;
using SpineProd.Tests.Cluster;
using SpineProd.Tests.Infrastructure;
using Xunit;

namespace SpineProd.Tests.Terminal;

/// <summary>
/// Issue 11 item 1: what a person at a terminal sees. Every command runs as typed, in a
/// pseudo-terminal of 160x50 with no logger switches (so .NET's Terminal Logger draws the console),
/// for a production outside productions/; the assertions read the screen the bytes leave.
/// </summary>
public sealed class TerminalLoggerTests
{
    private static readonly string TestDouble = Repo.Path_("tests", "doubles", "spine-test-double.sh");

    private static ScratchProduction LocalProduction(string name, int inputs)
    {
        var p = new ScratchProduction(name);
        p.Inputs(inputs);
        p.Write($"""
                <Scheduler>local</Scheduler>
                <SpineCommand>{TestDouble}</SpineCommand>
                <FilesPerTask>1</FilesPerTask>
                <MaxArraySize>3</MaxArraySize>
                <LocalParallelism>2</LocalParallelism>
            """, "<Source Include=\"inputs/*.root\" />");
        return p;
    }

    private static Pty.Result Dotnet(string dir, string args)
    {
        var r = Pty.Run($"dotnet build {args}", dir);
        // What the person saw, kept beside the production for whoever reads a failure.
        // (In the scratch area, never beside the repository's own productions.)
        var screens = dir.StartsWith(Repo.Path_("artifacts"), StringComparison.Ordinal) ? dir : Repo.Scratch("screens");
        File.WriteAllText(Path.Combine(screens, $"screen-{Regex.Replace(args, "[^A-Za-z]+", "_")}.txt"), r.Text);
        Assert.True(r.ExitCode == 0, $"dotnet build {args} failed; the screen:\n{r.Text}");
        Assert.Contains("Build succeeded", r.Text);
        Assert.DoesNotContain("--interactive", r.Text);   // the marker is never visible
        return r;
    }

    [Fact]
    public void Preview_Submit_Status_and_History_show_their_text_on_the_screen_under_the_Terminal_Logger()
    {
        var p = LocalProduction("tl-local", 7);

        var preview = Dotnet(p.Dir, "test.spineproj -t:Preview");
        Assert.Contains("SpineProd plan for test.spineproj (dry run: nothing is submitted)", preview.Text);
        Assert.Matches(new Regex(@"^\s+1\s+spine_generic_spine_1\s+0-2\s+3\s+3\s+/\S+/obj/test/test/", RegexOptions.Multiline), preview.Text);
        Assert.Contains("First script", preview.Text);
        Assert.Contains("Run on this machine by SpineProd's local scheduler", preview.Text);   // the local scheduler's own script

        var submit = Dotnet(p.Dir, "test.spineproj -t:Submit");
        Assert.Matches(@"test: submitted 7 task\(s\) in 3 array\(s\): jobs \S+, \S+, \S+\. See where they stand", submit.Text);
        Assert.Contains("array 3 of 3 sent", submit.Text);            // a large Submit shows arrays sent
        Assert.Matches(@"local job \S+ \(\S+\): 3 of 3 task\(s\) done", submit.Text);   // and local progress
        Assert.Matches(@"local job \S+ \(\S+\): 1 of 1 task\(s\) done", submit.Text);

        var status = Dotnet(p.Dir, "test.spineproj -t:Status");
        Assert.Contains("test: 7 of 7 task(s) complete (100%)", status.Text);
        Assert.Matches(new Regex(@"^stage\s+array\s+job ids\s+tasks\s+done", RegexOptions.Multiline), status.Text);

        var history = Dotnet(p.Dir, "test.spineproj -t:History");
        Assert.Contains("History of test:", history.Text);
    }

    [Fact]
    public void Status_Wait_shows_each_poll_while_tasks_run()
    {
        var p = LocalProduction("tl-wait", 2);
        File.Move(Path.Combine(p.Dir, "inputs", "run_0001.root"), Path.Combine(p.Dir, "inputs", "run_0001_SLEEP20.root"));
        // A local Submit runs its tasks to the end: Status waits on them from a second terminal.
        var submit = Task.Run(() => Pty.Run("dotnet build test.spineproj -t:Submit", p.Dir));
        var deadline = DateTime.UtcNow.AddMinutes(3);
        bool Submitted() => Directory.Exists(Path.Combine(p.Dir, "jobs")) && Directory.EnumerateFiles(Path.Combine(p.Dir, "jobs"), "submissions.json", SearchOption.AllDirectories).Any();
        while (!Submitted() && DateTime.UtcNow < deadline) Thread.Sleep(200);
        var wait = Dotnet(p.Dir, "test.spineproj -t:Status -p:Wait=true -p:PollInterval=1");
        Assert.Matches(@"test: waiting, poll 1 at \d\d:\d\d:\d\d: \d of 2 task\(s\) done, \d pending, \d running, 0 failed", wait.Text);
        Assert.Contains("test: 2 of 2 task(s) complete", wait.Text);
        Assert.Equal(0, submit.Result.ExitCode);
    }

    [Fact]
    public void ListMods_and_ResolveConfigs_show_their_text_on_the_screen()
    {
        var dir = Repo.Path_("productions");
        var mods = Dotnet(dir, "icarus.spineproj -t:ListMods");
        Assert.Contains("Modifiers for ../infer/icarus/latest", mods.Text);
        var resolved = Dotnet(dir, "icarus.spineproj -t:ResolveConfigs");
        Assert.Contains("SPINE gets -c", resolved.Text);
        Assert.Matches(new Regex(@"^base:\n  world_size: 1$", RegexOptions.Multiline), resolved.Text);
    }
}

/// <summary>The job ids a SLURM Submit prints, on the screen of a real terminal.</summary>
[Collection("cluster")]
public sealed class TerminalLoggerClusterTests(ClusterFixture cluster)
{
    [Fact]
    public void Submit_to_SLURM_shows_the_job_ids_on_the_screen()
    {
        cluster.Require();
        var p = new ScratchProduction("tl-slurm");
        p.Inputs(2);
        p.Write($"""
                <Scheduler>slurm</Scheduler>
                <SpineCommand>{Repo.Path_("tests", "doubles", "spine-test-double.sh")}</SpineCommand>
                <Account>ci</Account><Partition>cpu</Partition><MemPerCpu>200M</MemPerCpu><Time>00:05:00</Time><Gpus>0</Gpus><CpusPerTask>1</CpusPerTask>
            """, "<Source Include=\"inputs/*.root\" />");
        var r = Pty.Run("dotnet build test.spineproj -t:Submit", p.Dir);
        Assert.True(r.ExitCode == 0, r.Text);
        var m = Regex.Match(r.Text, @"test: submitted 2 task\(s\) in 1 array\(s\): jobs (\d+)\.");
        Assert.True(m.Success, "no job id on the screen:\n" + r.Text);
        Assert.Contains($"as job {m.Groups[1].Value} (tasks 0-1)", r.Text);
    }
}

