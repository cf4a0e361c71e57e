using System.Text.RegularExpressions;
using SpineProd.Planning;
using SpineProd.Report;
using SpineProd.Scheduler;
using SpineProd.Submission;
using SpineProd.Tests.Cluster;
using SpineProd.Tests.Infrastructure;
using Xunit;

namespace SpineProd.Tests.Report;

/// <summary>
/// The report's model and page against an in-memory scheduler and a hand-written plan: it shows
/// Status's own numbers (usage, advice, failures by cause) and stays a page of bounded size
/// however many tasks and failures the production has.
/// </summary>
public sealed class ReportModelTests
{
    private const long GB = 1L << 30;
    private static readonly DateTimeOffset T0 = new(2026, 11, 29, 10, 0, 0, TimeSpan.Zero);

    private static (ProductionPlan Plan, string Dir, FakeScheduler Scheduler) Submitted(string name, int tasks, int arraySize, Func<int, string> state)
    {
        var (plan, dir) = HandPlan.Create(Repo.Scratch(name), filesPerTask: 1, arraySize: arraySize, ("reco", tasks, []));
        var r = plan.Stages[0].Resources;
        (r.MemPerCpuBytes, r.CpusPerTask, r.Gpus, r.Walltime) = (8 * GB, 1, 1, TimeSpan.FromHours(4));
        var s = new FakeScheduler { StateOf = (_, i) => state(i) };
        new Submitter(_ => s, new SubmitContext
        {
            SdkVersion = "0.1.0", Command = "dotnet build hand.spineproj -t:Submit", Clock = new FakeClock(), LockWait = TimeSpan.FromSeconds(1),
            Log = (_, _) => { }, Warn = (_, _) => { },
        }).Submit(plan, dir);
        return (plan, dir, s);
    }

    /// <summary>What the scheduler measured: task n ran 10 + n % 20 minutes from T0 + n seconds and held <paramref name="peak"/>(n).</summary>
    private static void Measure(FakeScheduler s, ProductionPlan plan, Func<int, long> peak, Func<int, string?>? exit = null)
    {
        var firstTask = s.Submitted.Select((r, k) => (r.JobName, plan.Stages[0].Arrays[k].FirstTask)).ToDictionary(x => x.JobName, x => x.FirstTask);
        foreach (var (key, t) in s.Tasks.ToList())
        {
            int n = firstTask[t.Name!] + key.Item2;
            var start = T0.AddSeconds(n);
            var elapsed = TimeSpan.FromMinutes(10 + n % 20);
            s.Tasks[key] = t with
            {
                ExitCode = exit?.Invoke(n) ?? t.ExitCode,
                Usage = new TaskUsage
                {
                    Start = start, End = start + elapsed, Elapsed = elapsed, CpuTime = elapsed * 0.8, PeakMemoryBytes = peak(n),
                    RequestedMemoryBytes = 8 * GB, RequestedTime = TimeSpan.FromHours(4), Cpus = 1, Gpus = 1, Node = "sdfampere001",
                },
            };
        }
    }

    [Fact]
    public void The_page_shows_the_request_that_would_have_fitted_and_the_GPU_hours_Status_computed()
    {
        var (plan, dir, s) = Submitted("report-advice", 10, 10, _ => "COMPLETED");
        Measure(s, plan, i => (long)(3.1 * GB) + i * (GB / 100));
        for (int task = 0; task < 10; task++) FakeScheduler.WriteMarker(plan, "reco", task, HandPlan.TaskInputs(dir, plan.Stages[0], task));

        var status = StatusReport.Create(plan, dir, _ => s);
        var model = ReportModel.Create(status);
        var html = HtmlReport.Render(model);

        var advice = status.Advice["reco"];
        Assert.Contains(advice, a => a.Property == "MemPerCpu" && a.Value == "4g");   // 3.2 GB + 20 %, whole GB
        Assert.Contains(advice, a => a.Property == "Time");
        Assert.Contains("<h3>Requests that would have fitted</h3>", html);
        Assert.Contains("<code>MemPerCpu=4g</code>", html);
        Assert.Contains(System.Net.WebUtility.HtmlEncode(advice[0].Why), html);
        // GPU-hours used and asked: 10 tasks of 10-19 minutes on one GPU, each asking for 4 hours
        var u = status.Usage["reco"];
        Assert.Equal(14.5 * 10 / 60, u.GpuHoursUsed, 3);
        Assert.Contains($"{ReportModel.GpuHours(u)} / 40</td>", html);
        var summary = model.Summary();
        Assert.Contains(summary, l => l.Contains("2.42 GPU-hour(s) used of 40 asked"));
        Assert.Contains(summary, l => l.Contains("-p:MemPerCpu=4g would fit"));
    }

    [Fact]
    public void A_large_production_with_many_failures_makes_a_page_of_bounded_size()
    {
        // 5,000 tasks, every tenth failed, with 100 different exit codes: 100 causes, 500 failures
        var (plan, dir, s) = Submitted("report-large", 5_000, 1000, i => i % 10 == 3 ? "FAILED" : "COMPLETED");
        Measure(s, plan, i => 2 * GB + i % 1000 * (GB / 1000), i => i % 10 == 3 ? $"{i / 10 % 100 + 1}:0" : null);
        var inputs = ChunkLists.Open(dir, plan.Stages[0]);
        for (int task = 0; task < 5_000; task++)
            if (task % 10 != 3) FakeScheduler.WriteMarker(plan, "reco", task, inputs.Inputs(task));

        var status = StatusReport.Create(plan, dir, _ => s);
        var html = HtmlReport.Render(ReportModel.Create(status));

        Assert.Equal(500, status.Totals.Failed);
        Assert.Equal(ReportModel.MaxFailuresShown, Regex.Matches(html, "<div class=\"failure\">").Count);
        Assert.Contains($"… and {500 - ReportModel.MaxFailuresShown:N0} more failed task(s)", html);
        var causes = Regex.Match(html, "<table class=\"causes\">.*?</table>", RegexOptions.Singleline).Value;
        Assert.Equal(HtmlReport.MaxCauses + 1, Regex.Matches(causes, "<tr>").Count);   // the header and the 50 largest causes
        Assert.Contains($"… and {status.Digest.Groups.Count - HtmlReport.MaxCauses} more cause(s)", html);
        Assert.Contains("Tasks running over time (5,000 attempts)", html);
        Assert.Matches("<figure class=\"chart run-time\"><svg", html);
        Assert.True(html.Length < 1_000_000, $"the page is {html.Length:N0} characters");
    }
}
