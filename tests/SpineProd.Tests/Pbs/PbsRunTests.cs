using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using SpineProd.Scheduler;
using SpineProd.Submission;
using SpineProd.Tests.Infrastructure;
using SpineProd.Tests.Report;
using SpineProd.Tests.Scenarios;
using Xunit;
using static SpineProd.Tests.Scenarios.ScenarioProduction;

namespace SpineProd.Tests.Pbs;

/// <summary>
/// Issue 14's "done when" on the real PBS server, through <c>dotnet build</c> as a user runs it: one
/// production with a task that succeeds, one that fails for good, one that runs out of memory (the
/// test MOM measures and enforces memory: tests/cluster/pbs/README.md) and one that times out.
/// Status shows what each one used; -t:Report renders it in headless Chromium; -t:Run finishes it,
/// retrying the out-of-memory task with more memory and the timed-out one with more time, each retry
/// an audited submission History lists; the deterministic failure is left after its one attempt.
/// </summary>
[Collection("pbs")]
public sealed class PbsRunTests(PbsServerFixture server)
{
    private readonly PbsUnderTest _pbs = new();
    private const long MiB = 1L << 20;

    [Fact]
    public void Status_shows_each_tasks_usage_Report_renders_it_and_Run_retries_out_of_memory_and_timed_out_tasks_with_larger_limits_on_pbs()
    {
        server.Require();
        var s = new ScenarioProduction(_pbs, "run");
        // OOM200HOLD3: 200 MiB held for 3 s, over the 100 MiB asked for (MOM samples every 1-2 s);
        // SLEEP25 outlasts the 20 s limit (MOM enforces walltime at its polls, every 1-2 s here:
        // tests/cluster/pbs/start.sh), but not the retry's 40 s. The limit leaves room for the other
        // tasks on a loaded machine (there, holding 200 MiB for 3 s took 13 s).
        s.Inputs("run_ok.root", "run_FAIL.root", "run_SLEEP25.root", "run_OOM200HOLD3.root");
        s.Write("", "<Source Include=\"inputs/*.root\" />", _pbs.Resources(memPerCpu: "100M", time: "00:00:20"));

        s.Run("Submit");
        var st = s.WaitFinished();
        WaitEnded(s);
        int Task(string input) => (int)st["problems"]!.AsArray().Single(t => ((string?)t!["inputs"]![0])!.Contains(input))!["task"]!;
        JsonNode Problem(string status) => st["problems"]!.AsArray().Single(t => (string?)t!["status"] == status)!;

        // Status: what each task used, as PBS measured it
        var oom = Problem("out_of_memory");
        Assert.Contains("run_OOM200HOLD3.root", (string?)oom["inputs"]![0]);
        Assert.True((long)oom["usage"]!["peak_memory_bytes"]! > 100 * MiB, Dump(oom));
        Assert.Equal(100 * MiB, (long)oom["usage"]!["requested_memory_bytes"]!);
        var slow = Problem("timeout");
        Assert.Contains("run_SLEEP25.root", (string?)slow["inputs"]![0]);
        Assert.True((double)slow["usage"]!["elapsed_s"]! >= 20, Dump(slow));
        Assert.Equal(20, (double)slow["usage"]!["requested_time_s"]!);
        var failed = Problem("failed");
        Assert.Contains("run_FAIL.root", (string?)failed["inputs"]![0]);
        Assert.Equal(1, Total(st, "completed"));
        var status = s.Run("Status").Output;
        Assert.Contains("ran:    ", status);
        Assert.Matches(@"peak \d+(\.\d)? MB of 100 MB", status);   // the out-of-memory task's peak against its request
        Assert.Contains("of 00:00:20", status);
        var trace = Trace(s);
        Assert.Equal(4, trace.Count);
        // every attempt was measured, the quick ones too (MOM counted nothing for jobs run as root before)
        Assert.All(trace, r => Assert.True(long.Parse(r["peak_memory_bytes"], CultureInfo.InvariantCulture) > 0, string.Join(' ', r)));
        Assert.Contains(trace, r => r["exit_code"] == "-27");   // MOM's memory kill
        Assert.Contains(trace, r => r["exit_code"] == "-29");   // MOM's walltime kill

        // Report: every section, in a real browser
        var report = s.Run("Report").Output;
        var file = Path.Combine(s.Plan.StateDir, "report.html");
        Assert.Contains($"report: {file}", report);
        var dom = HeadlessChromium.DumpDom(file);
        foreach (var id in new[] { "summary", "provenance", "submissions", "stage-graph", "stages", "distributions", "timeline", "failures" })
            Assert.Contains($"<section id=\"{id}\">", dom);
        Assert.Contains("run_OOM200HOLD3.root", dom);
        Assert.Contains("run_SLEEP25.root", dom);
        Assert.Contains("failing on purpose", dom);   // the failed task's log tail, from PBS's .ER file
        HeadlessChromium.Screenshot(file, Path.Combine(ReportBrowserTests.Screenshots, "report-pbs.png"));

        // Run: the out-of-memory and timed-out tasks again with larger limits; the failure left
        var run = s.Build("Run", [("PollInterval", "1"), ("RetryMemoryFactor", "4"), ("RetryTimeFactor", "2")]);
        Assert.False(run.Succeeded, "a production with a task that fails for good must fail Run:\n" + run.Output);
        Assert.Contains("SPN5030", run.Output);
        Assert.Contains($"test task {Task("run_OOM200HOLD3")}: out of memory (attempt 1 of 3): again with 400M per CPU", run.Output);
        Assert.Contains($"test task {Task("run_SLEEP25")}: timed out (attempt 1 of 3): again with time 00:00:40", run.Output);
        Assert.Contains($"test task {Task("run_FAIL")}: FAILED, exit code 1: a failure that more memory or time does not fix", run.Output);
        Assert.Contains("test: 3 of 4 task(s) complete, 1 failed", run.Output);

        var end = s.WaitFinished();
        Assert.Equal((3, 1), (Total(end, "completed"), Total(end, "failed")));
        WaitEnded(s);
        s.Run("Status");
        trace = Trace(s);
        Assert.Equal(6, trace.Count);
        var retried = trace.Where(r => r["attempt"] == "2").ToList();
        Assert.Equal(2, retried.Count);
        Assert.All(retried, r => Assert.Equal("0", r["exit_code"]));
        Assert.Contains(retried, r => r["requested_memory_bytes"] == (400 * MiB).ToString(CultureInfo.InvariantCulture)
                                      && long.Parse(r["peak_memory_bytes"], CultureInfo.InvariantCulture) > 100 * MiB);
        Assert.Contains(retried, r => r["requested_time_s"] == "40");

        // History: the Submit, then one audited Retry per raised limit, each with the qsub options that raised it
        var history = History(s);
        Assert.Equal(["Submit", "Retry", "Retry"], history.Select(h => h.Action));
        Assert.Contains(history, h => h.Argv.Contains("select=1:ncpus=1:mem=400mb"));
        Assert.Contains(history, h => h.Argv.Contains("walltime=00:00:40"));
        Assert.Contains("Retry", s.Run("History").Output);
    }

    /// <summary>
    /// Until PBS has ended every job: a task is complete as soon as its marker is written, and PBS
    /// reports its exit status and final usage once MOM is done with it (a Status then rewrites the trace).
    /// </summary>
    private static void WaitEnded(ScenarioProduction s) =>
        s.WaitUntil(_ => StatusReport.Create(s.Plan, s.P.PlanDir, Schedulers.Factory(s.Plan.StateDir)).State.AllTasks.All(t => t.Scheduler is { IsLive: false }), "every job ended");

    /// <summary>trace.tsv's rows by column name, as pandas would read them.</summary>
    private static List<Dictionary<string, string>> Trace(ScenarioProduction s)
    {
        var lines = File.ReadAllLines(Path.Combine(s.Plan.StateDir, "trace.tsv"));
        var head = lines[0].Split('\t');
        return lines.Skip(1).Select(l => head.Zip(l.Split('\t')).ToDictionary(p => p.First, p => p.Second)).ToList();
    }

    private static List<(string Action, List<string> Argv)> History(ScenarioProduction s) =>
        File.ReadAllLines(Path.Combine(s.Plan.StateDir, "audit.jsonl")).Select(l => JsonDocument.Parse(l).RootElement)
            .Select(j => (j.GetProperty("action").GetString()!,
                j.GetProperty("commands").EnumerateArray().SelectMany(c => c.GetProperty("argv").EnumerateArray().Select(a => a.GetString()!)).ToList()))
            .ToList();
}
