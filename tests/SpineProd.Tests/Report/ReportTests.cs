using SpineProd.Planning;
using SpineProd.Report;
using SpineProd.Tests.Cluster;
using SpineProd.Tests.Infrastructure;
using Xunit;

namespace SpineProd.Tests.Report;

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
        Assert.Matches("1 blocked: waiting for, or cancelled behind, a task that did not succeed upstream</h3><ul class=\"task-list\"><li>ana task\\(s\\) 0</li>", dom);   // it never ran: its upstream failed

        var png = Path.Combine(Screenshots, "report.png");
        HeadlessChromium.Screenshot(file, png);
        Assert.True(new FileInfo(png).Length > 20_000, $"{png} looks empty");
    }
}
