using System.Text.RegularExpressions;
using SpineProd.IO;
using SpineProd.Scheduler;
using SpineProd.Tests.Cluster;
using SpineProd.Tests.Infrastructure;
using Xunit;

namespace SpineProd.Tests.CommandLine;

/// <summary>
/// After a real partial failure (the local scheduler runs the job scripts here; the test double fails
/// on purpose), Preview shows exactly what the next Submit sends: the same arrays, the same --array
/// indices, with the reason of each group of tasks, and it submits nothing.
/// </summary>
public sealed class PreviewNextSubmitTests
{
    private static readonly string TestDouble = Repo.Path_("tests", "doubles", "spine-test-double.sh");

    [Fact]
    public void Preview_after_a_partial_failure_shows_what_the_next_Submit_sends_and_why()
    {
        var p = new ScratchProduction("cli-preview-next");
        var inputs = Path.Combine(p.Dir, "inputs");
        Directory.CreateDirectory(inputs);
        string Input(string name) { var f = Path.Combine(inputs, name); File.WriteAllText(f, ""); return f; }
        var lines = Enumerable.Range(0, 6).Select(i => Input(i is 1 or 4 ? $"run_{i}_FAIL.root" : $"run_{i}.root")).ToList();
        p.List("inputs.txt", lines);
        p.Write($"""
                <Scheduler>local</Scheduler>
                <SpineCommand>{TestDouble}</SpineCommand>
                <MaxArraySize>4</MaxArraySize>
                <LocalParallelism>2</LocalParallelism>
            """, "<SourceList Include=\"inputs.txt\" />");
        // What productions/Directory.Build.rsp does for the shipped productions: every build leaves an audit binlog.
        File.WriteAllText(Path.Combine(p.Dir, "Directory.Build.rsp"), "-bl:%MSBuildThisFileDirectory%.binlogs/{}.binlog\n");

        var first = DotnetBuild.Run(p.ProjectFile, "Submit");
        Assert.True(first.Succeeded, first.Output);

        // The production grows (two new inputs) and one finished task gets another input.
        lines[5] = Input("run_5_v2.root");
        lines.Add(Input("run_6.root"));
        lines.Add(Input("run_7.root"));
        p.List("inputs.txt", lines);
        var ledger = Path.Combine(SpineProd.Planning.ProductionPlan.Load(Path.Combine(p.PlanDir, "plan.json")).StateDir, "submissions.json");
        var ledgerBefore = File.ReadAllText(ledger);

        var preview = DotnetBuild.Run(p.ProjectFile, "Preview");

        Assert.True(preview.Succeeded, preview.Output);
        Assert.Equal(ledgerBefore, File.ReadAllText(ledger)); // nothing submitted, nothing recorded
        Assert.Contains("Next Submit (Resubmit=missing)", preview.Output);
        Assert.Contains("test: 8 task(s): 3 complete, 0 pending or running, 5 to submit", preview.Output);
        Assert.Matches(@"0\s+spine_\S+_0\s+1\s+1\s+failed: 1", preview.Output);
        Assert.Matches(@"1\s+spine_\S+_1\s+0-3\s+4\s+failed: 4; inputs changed: 5; never submitted: 6-7", preview.Output);
        Assert.Contains("In all: 5 task(s) in 2 array(s). Nothing was submitted.", preview.Output);

        // The next Submit sends exactly those arrays and indices.
        var second = DotnetBuild.Run(p.ProjectFile, "Submit");
        Assert.True(second.Succeeded, second.Output);
        var sent = Regex.Matches(second.Output, @"submitted (\S+) as job \S+ \(tasks ([^,)]+)").Select(m => $"{m.Groups[1].Value} {m.Groups[2].Value}").ToList();
        var previewed = Regex.Matches(preview.Output, @"^\s+\d+\s+(spine_\S+)\s+(\S+)\s+\d+\s+(?:failed|inputs changed|never submitted)", RegexOptions.Multiline)
            .Select(m => $"{m.Groups[1].Value} {m.Groups[2].Value}").ToList();
        Assert.Equal(previewed, sent);
        Assert.DoesNotContain("SpineProd audit:", second.Output); // the audit record is in the binlog, not on the console

        // History as JSON, piped into jq as a script would.
        var jq = ProcessRunner.Instance.Run("bash", ["-o", "pipefail", "-c",
            $"dotnet build {ShellQuote.Literal(p.ProjectFile)} -t:History -p:HistoryFormat=json -getProperty:SpineProdHistory | jq -r '.[].action'"],
            TimeSpan.FromMinutes(3), p.Dir, new Dictionary<string, string?> { ["MSBUILDDISABLENODEREUSE"] = "1", ["DOTNET_CLI_USE_MSBUILD_SERVER"] = "0", ["DOTNET_NOLOGO"] = "1" });
        Assert.True(jq.Succeeded, jq.Stdout + jq.Stderr);
        Assert.Equal(["Resubmit", "Submit"], jq.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries));
    }

    [Fact]
    public void Preview_before_the_first_Submit_shows_the_whole_plan_without_asking_a_scheduler()
    {
        var p = new ScratchProduction("cli-preview-first");
        p.Inputs(3);
        // No ledger yet: every task goes, and no scheduler is asked (the README's first command works without SLURM).
        p.Write("<Scheduler>slurm</Scheduler><MaxArraySize>10</MaxArraySize>", "<Source Include=\"inputs/*.root\" />");
        var preview = DotnetBuild.Run(p.ProjectFile, "Preview");
        Assert.True(preview.Succeeded, preview.Output);
        Assert.Contains("Next Submit: the first, every task above (3 task(s) in 1 array(s)). Nothing was submitted.", preview.Output);
    }
}
