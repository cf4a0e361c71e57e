using System.Globalization;
using SpineProd.Planning;
using SpineProd.Report;
using SpineProd.Tests.Cluster;
using SpineProd.Tests.Infrastructure;
using Xunit;

namespace SpineProd.Tests.Report;

public sealed class UsageTraceTests
{
    [Fact]
    public void The_trace_is_read_by_column_name_and_unknown_columns_or_missing_values_do_no_harm()
    {
        var file = Path.Combine(Directory.CreateTempSubdirectory("spineprod-trace-").FullName, UsageTrace.FileName);
        File.WriteAllLines(file,
        [
            "gpu_model\ttask\tstage\tstate\tattempt\tmax_rss_bytes\telapsed_s\tstart\tend\treq_mem_bytes",
            "A100\t3\treco\tOUT_OF_MEMORY\t2\t1073741824\t61.5\t2026-11-29T10:00:00Z\t2026-11-29T10:01:01.5Z\t2147483648",
            "-\t4\treco\tPENDING\t1\t-\t\t\t\t",
            "not a row",
        ]);
        var rows = UsageTrace.Read(file).ToList();
        Assert.Equal(2, rows.Count);
        Assert.Equal(("reco", 3, 2, "OUT_OF_MEMORY"), (rows[0].Stage, rows[0].Task, rows[0].Attempt, rows[0].State));
        Assert.Equal(1L << 30, rows[0].PeakMemoryBytes);
        Assert.Equal(2L << 30, rows[0].RequestedMemoryBytes);
        Assert.Equal(61.5, rows[0].Elapsed);
        Assert.Null(rows[1].PeakMemoryBytes);
        Assert.Null(rows[1].Elapsed);
        Assert.Empty(UsageTrace.Read(file + ".missing"));
    }

    [Fact]
    public void A_log_tail_is_the_last_lines_read_from_the_end()
    {
        var file = Path.Combine(Directory.CreateTempSubdirectory("spineprod-tail-").FullName, "x.err");
        File.WriteAllLines(file, Enumerable.Range(0, 100_000).Select(i => $"line {i}"));
        Assert.Equal(["line 99997", "line 99998", "line 99999"], ReportModel.LogTail(file, 3));
        Assert.Empty(ReportModel.LogTail(file + ".missing", 3));
    }
}

/// <summary>
/// -t:Report as a user runs it (a `dotnet build` child process, a two-stage production run by the
/// local scheduler with one failing task), opened in a real headless Chromium: every section is
/// there with the production's own values, the page asks for nothing outside itself, and a
/// screenshot is kept in artifacts/test-screenshots/ for a person to look at.
/// </summary>
public sealed class ReportBrowserTests
{
    public static readonly string Screenshots = Repo.Path_("artifacts", "test-screenshots");

    [Fact]
    public void The_report_renders_in_headless_chromium_with_every_section()
    {
        var p = new ScratchProduction("report-browser");
        var dir = Path.Combine(p.Dir, "inputs");
        Directory.CreateDirectory(dir);
        string[] reco = ["reco_0000.root", "reco_0001_FAIL.root", "reco_0002.root"];
        foreach (var f in reco.Append("ana_0000.root")) File.WriteAllText(Path.Combine(dir, f), "");
        p.List("reco.txt", reco.Select(f => Path.Combine(dir, f)));
        p.List("ana.txt", [Path.Combine(dir, "ana_0000.root")]);
        p.Write($"""
                <Scheduler>local</Scheduler>
                <SpineCommand>{Repo.Path_("tests", "doubles", "spine-test-double.sh")}</SpineCommand>
                <MemPerCpu>200M</MemPerCpu><Time>00:05:00</Time><Gpus>0</Gpus><CpusPerTask>1</CpusPerTask>
            """, """
                <Stage Include="reco" Config="spine.yaml" />
                <Stage Include="ana" Config="spine.yaml" DependsOn="reco" />
                <SourceList Include="reco.txt" Stage="reco" />
                <SourceList Include="ana.txt" Stage="ana" />
            """);
        var submit = DotnetBuild.Run(p.ProjectFile, "Submit");
        Assert.True(submit.Succeeded, submit.Output);
        var plan = ProductionPlan.Load(Path.Combine(p.PlanDir, "plan.json"));

        // What the scheduler measured, one row per attempt (until Status writes it itself, the test does).
        var trace = UsageTrace.PathIn(plan.StateDir);
        if (!File.Exists(trace)) WriteTrace(trace);

        var report = DotnetBuild.Run(p.ProjectFile, "Report");
        Assert.True(report.Succeeded, report.Output);
        var file = Path.Combine(plan.StateDir, "report.html");
        Assert.Contains($"report: {file}", report.Output);
        Assert.Contains("test: 2 of 4 task(s) complete, 1 failed, 1 cancelled", report.Output);
        Assert.Contains("reco: 2/3 done, 1 failed", report.Output);

        var html = File.ReadAllText(file);
        Assert.DoesNotContain("<script", html, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotMatch("(src|href)=\"(https?:)?//", html);

        var dom = HeadlessChromium.DumpDom(file);
        foreach (var id in new[] { "summary", "provenance", "submissions", "stage-graph", "stages", "distributions", "timeline", "failures" })
            Assert.Contains($"<section id=\"{id}\">", dom);
        Assert.Contains(plan.PlanSha256, dom);
        Assert.Contains(plan.Stages[0].ConfigSha256!, dom);
        Assert.Contains(p.ProjectFile, dom);
        Assert.Contains("class=\"stage-graph\"", dom);
        Assert.Matches("<figure class=\"chart run-time\"><svg", dom);
        Assert.Matches("<figure class=\"chart peak-memory\"><svg", dom);
        Assert.Matches("<figure class=\"chart timeline\"><svg", dom);
        Assert.DoesNotContain("OxyPlot exception", dom);
        Assert.Contains("reco_0001_FAIL.root", dom);
        Assert.Contains("failing on purpose", dom);   // the failed task's log tail
        Assert.Contains("ana task 0: cancelled", dom);   // it never ran: its upstream failed

        var png = Path.Combine(Screenshots, "report.png");
        HeadlessChromium.Screenshot(file, png);
        Assert.True(new FileInfo(png).Length > 20_000, $"{png} looks empty");
    }

    /// <summary>A trace as Status writes it: each task of the plan once, with a failure and times in minutes.</summary>
    private static void WriteTrace(string path)
    {
        var t0 = new DateTimeOffset(2026, 11, 29, 10, 0, 0, TimeSpan.Zero);
        var lines = new List<string> { "stage\ttask\tattempt\tjob_id\tstate\texit_code\tstart\tend\telapsed_s\tcpu_time_s\tmax_rss_bytes\treq_mem_bytes\treq_time_s\tcpus\tgpus\tnode" };
        for (int task = 0; task < 3; task++)
        {
            var start = t0.AddSeconds(30 * task);
            double elapsed = 60 + 45 * task;
            lines.Add(string.Join('\t', "reco", task, 1, $"1_{task}", task == 1 ? "FAILED" : "COMPLETED", task == 1 ? "1:0" : "0:0",
                start.ToString("O"), start.AddSeconds(elapsed).ToString("O"), elapsed.ToString(CultureInfo.InvariantCulture),
                (elapsed * 0.9).ToString(CultureInfo.InvariantCulture), (100L + 30 * task) << 20, 200L << 20, 300, 1, 0, "vm"));
        }
        File.WriteAllLines(path, lines);
    }
}
