using System.Globalization;
using System.Net;
using System.Text;
using SpineProd.IO;
using SpineProd.Planning;
using SpineProd.Layout;
using SpineProd.Scheduler;
using SpineProd.Submission;
using SpineProd.Usage;

namespace SpineProd.Report;

/// <summary>
/// -t:Report's page: one self-contained HTML file (styles and charts inline, no script, no network),
/// so it opens from a login node, in a mail, or years later. Sections carry ids a reader (or a test)
/// can jump to: summary, provenance, submissions, stage-graph, stages, distributions, timeline, failures.
/// </summary>
public static class HtmlReport
{
    public static void Write(ReportModel model, string path) => AtomicFile.Write(path, Render(model));

    public static string Render(ReportModel m)
    {
        var h = new StringBuilder();
        var plan = m.Plan;
        var t = m.Status.Totals;
        h.Append($"""
            <!DOCTYPE html>
            <html lang="en"><head><meta charset="utf-8">
            <meta name="generator" content="SpineProd {E(m.SdkVersion)}">
            <title>{E(plan.ProductionName)}: SpineProd report</title>
            <style>
            body{"{"}font-family:sans-serif;margin:1.5em auto;max-width:1200px;color:#222;padding:0 1em{"}"}
            h1{"{"}font-size:1.5em;margin-bottom:.2em{"}"} h2{"{"}border-bottom:1px solid #ccc;padding-bottom:.2em;margin-top:1.6em{"}"}
            table{"{"}border-collapse:collapse;margin:.5em 0{"}"} td,th{"{"}border:1px solid #ddd;padding:.25em .6em;text-align:left;vertical-align:top{"}"}
            th{"{"}background:#f3f5f8{"}"} td.n{"{"}text-align:right;font-variant-numeric:tabular-nums{"}"}
            .muted{"{"}color:#777{"}"} .bad{"{"}color:#b03a2e;font-weight:bold{"}"} .good{"{"}color:#2e8b57;font-weight:bold{"}"}
            pre{"{"}background:#f7f7f7;border:1px solid #e3e3e3;padding:.5em;overflow-x:auto;font-size:.85em;max-height:22em{"}"}
            .charts{"{"}display:flex;flex-wrap:wrap;gap:1em{"}"} .charts figure{"{"}margin:0{"}"} code{"{"}font-size:.9em{"}"}
            </style></head><body>
            <h1>{E(plan.ProductionName)}</h1>
            <p class="muted">SpineProd report, {E(m.Time.ToLocalTime().ToString("yyyy-MM-dd HH:mm:ss zzz", CultureInfo.InvariantCulture))}</p>

            """);

        // Summary
        h.Append("<section id=\"summary\"><h2>Summary</h2><p>");
        h.Append(t.Completed == t.Total
            ? $"<span class=\"good\">All {t.Total:N0} task(s) complete.</span>"
            : $"<span class=\"{(m.Status.Problems.Count > 0 ? "bad" : "")}\">{t.Completed:N0} of {t.Total:N0} task(s) complete ({(t.Total == 0 ? 100 : 100.0 * t.Completed / t.Total):0.#}%).</span>");
        h.Append("</p><ul>");
        foreach (var line in m.Summary().Skip(1)) h.Append($"<li>{E(line.Trim())}</li>");
        h.Append("</ul></section>\n");

        // Provenance
        h.Append("<section id=\"provenance\"><h2>Provenance</h2><table>");
        Row(h, "production", plan.ProductionFile);
        Row(h, "state folder", plan.StateDir);
        Row(h, "plan sha256", plan.PlanSha256);
        Row(h, "scheduler", plan.Scheduler);
        Row(h, "SpineProd version", m.SdkVersion);
        Row(h, "commit", m.GitCommit ?? "(not in a git repository)");
        h.Append("</table><table><tr><th>stage</th><th>config</th><th>config sha256</th><th>profile</th><th>detector</th><th>resources</th></tr>");
        foreach (var s in plan.Stages)
        {
            var r = s.Resources;
            h.Append($"<tr><td>{E(s.Name)}</td><td><code>{E(s.Config)}</code>{(s.ApplyMods.Count > 0 ? $" + {E(string.Join(",", s.ApplyMods))}" : "")}</td>" +
                     $"<td><code>{E(s.ConfigSha256 ?? "")}</code></td><td>{E(s.Profile == s.ResolvedProfile || s.ResolvedProfile.Length == 0 ? s.Profile : $"{s.Profile} → {s.ResolvedProfile}")}</td><td>{E(s.Detector)}</td>" +
                     $"<td>{E($"partition {r.Partition ?? "-"}, {r.CpusPerTask} CPU(s), {r.Gpus} GPU(s), {(r.MemPerCpuBytes is long mem ? Scheduler.Schedulers.Dialect(plan.Scheduler).Memory(mem) : "-")} per CPU, time {(r.Walltime is TimeSpan wall ? Scheduler.Schedulers.Dialect(plan.Scheduler).Time(wall) : "-")}")}</td></tr>");
        }
        h.Append("</table></section>\n");

        // Submissions (the audit trail)
        h.Append("<section id=\"submissions\"><h2>Submissions</h2>");
        if (m.History.Count == 0) h.Append("<p class=\"muted\">Not submitted yet.</p>");
        else
        {
            // the latest ones: a production retried for weeks keeps a page that opens
            if (m.History.Count > MaxSubmissionsShown)
                h.Append($"<p class=\"muted\">The last {MaxSubmissionsShown} of {m.History.Count:N0} (-t:History lists them all).</p>");
            h.Append("<table><tr><th>time</th><th>action</th><th>who</th><th>tasks</th><th>job ids</th><th>result</th></tr>");
            foreach (var row in m.History.OrderBy(r => r.Record.Time).TakeLast(MaxSubmissionsShown))
            {
                var a = row.Record;
                h.Append($"<tr><td>{E(a.Time.ToLocalTime().ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture))}</td><td>{E(a.Action)}</td><td>{E($"{a.User}@{a.Host}")}</td>" +
                         $"<td class=\"n\">{a.Stages.Sum(s => s.Tasks):N0}</td><td><code>{E(Shorten(string.Join(", ", a.Stages.SelectMany(s => s.JobIds)), 120))}</code></td>" +
                         $"<td>{(a.Succeeded ? "ok" : $"<span class=\"bad\">{E(a.Error ?? "failed")}</span>")}</td></tr>");
            }
            h.Append("</table>");
        }
        h.Append("</section>\n");

        // Stage graph
        h.Append("<section id=\"stage-graph\"><h2>Stage graph</h2>");
        h.Append(StageGraphSvg(m));
        h.Append("</section>\n");

        // Per-stage tables: where the tasks stand, then what they used against what they asked for
        h.Append("<section id=\"stages\"><h2>Stages</h2><table class=\"tasks\"><tr><th>stage</th><th>tasks</th><th>done</th><th>pending</th><th>running</th><th>failed</th><th>timeout</th><th>oom</th><th>cancelled</th><th>unsubmitted</th></tr>");
        foreach (var s in plan.Stages)
        {
            var c = m.Status.ByStage[s.Name];
            string N(int n) => $"<td class=\"n\">{n:N0}</td>";
            h.Append($"<tr><td>{E(s.Name)}</td>{N(c.Total)}{N(c.Completed)}{N(c.Pending)}{N(c.Running)}{N(c.Failed)}{N(c.Timeout)}{N(c.OutOfMemory)}{N(c.Cancelled)}{N(c.NotSubmitted)}</tr>");
        }
        h.Append("</table><table class=\"usage\"><tr><th>stage</th><th>attempts</th><th>run time median / p99 / max</th><th>time asked</th><th>peak memory median / p99 / max</th><th>memory asked</th><th>CPU efficiency</th><th>memory efficiency</th><th>GPU-hours used / asked</th></tr>");
        foreach (var s in plan.Stages)
        {
            var u = m.Usage[s.Name];
            var retries = m.Charts[s.Name].Retries;
            var (time, memory) = m.Request(s);
            var (runs, peaks) = (u.CompletedElapsed, u.CompletedPeaks);
            double? medianPeak = StageUsage.Percentile(peaks, 0.5);
            h.Append($"<tr><td>{E(s.Name)}</td><td class=\"n\">{u.Attempts:N0}{(retries > 0 ? $" ({retries:N0} retried)" : "")}</td>" +
                     $"<td class=\"n\">{(runs.Count == 0 ? "-" : $"{ReportModel.Hms(StageUsage.Percentile(runs, 0.5))} / {ReportModel.Hms(StageUsage.Percentile(runs, 0.99))} / {ReportModel.Hms(runs[^1])}")}</td>" +
                     $"<td class=\"n\">{(time is { } asked ? ResourceValues.Hms(asked) : "-")}</td>" +
                     $"<td class=\"n\">{(peaks.Count == 0 ? "-" : $"{StageUsage.Bytes(StageUsage.Percentile(peaks, 0.5))} / {StageUsage.Bytes(StageUsage.Percentile(peaks, 0.99))} / {StageUsage.Bytes(peaks[^1])}")}</td>" +
                     $"<td class=\"n\">{StageUsage.Bytes(memory)}</td><td class=\"n\">{Pct(u.CpuEfficiency)}</td>" +
                     $"<td class=\"n\">{Pct(medianPeak is { } mp && memory is > 0 ? mp / memory.Value : null)}</td>" +
                     $"<td class=\"n\">{(u.GpuHoursUsed > 0 || u.GpuHoursRequested > 0 ? $"{ReportModel.GpuHours(u)} / {u.GpuHoursRequested.ToString("0.##", CultureInfo.InvariantCulture)}" : "-")}</td></tr>");
        }
        h.Append("</table>");
        // What would have fitted: Status's advice, spelled as the user would pass it
        var advice = plan.Stages.SelectMany(s => (m.Advice.GetValueOrDefault(s.Name) ?? []).Select(a => (Stage: s.Name, Advice: a))).ToList();
        if (advice.Count > 0)
        {
            h.Append("<h3>Requests that would have fitted</h3><ul class=\"advice\">");
            foreach (var (stage, a) in advice)
                h.Append($"<li>{(plan.Stages.Count > 1 ? $"<b>{E(stage)}</b>: " : "")}<code>{E(a.Property)}={E(a.Value)}</code>: {E(a.Why)}</li>");
            h.Append("</ul>");
        }
        h.Append("<p class=\"muted\">Medians, percentiles and the largest values are of completed attempts; every attempt of every task is a row of <code>" +
                 $"{E(ProductionLayout.Of(plan).TraceFile)}</code>.</p></section>\n");

        // Distributions
        h.Append("<section id=\"distributions\"><h2>Run time and peak memory against the request</h2>");
        bool any = false;
        foreach (var s in plan.Stages)
        {
            var u = m.Usage[s.Name];
            var c = m.Charts[s.Name];
            var (time, memory) = m.Request(s);
            if (u.CompletedElapsed.Count + c.UnfinishedElapsed.Count == 0) continue;
            any = true;
            h.Append($"<h3>{E(s.Name)}</h3><div class=\"charts\">");
            h.Append("<figure class=\"chart run-time\">" + ReportCharts.Distribution($"{s.Name}: run time", ReportCharts.Quantity.Time, u.CompletedElapsed, c.UnfinishedElapsed, time?.TotalSeconds) + "</figure>");
            if (u.CompletedPeaks.Count + c.UnfinishedPeaks.Count > 0)
                h.Append("<figure class=\"chart peak-memory\">" + ReportCharts.Distribution($"{s.Name}: peak memory", ReportCharts.Quantity.Memory,
                    u.CompletedPeaks.Select(p => (double)p).ToList(), c.UnfinishedPeaks, memory is long mem ? mem : null) + "</figure>");
            h.Append("</div>");
        }
        if (any) h.Append("<p class=\"muted\">Blue: completed attempts; red, stacked on them: attempts that failed, timed out, ran out of memory or were cancelled.</p>");
        if (!any) h.Append("<p class=\"muted\">No usage measured yet: no attempt has run to its end.</p>");
        h.Append("</section>\n");

        // Timeline
        h.Append("<section id=\"timeline\"><h2>Timeline</h2>");
        h.Append(m.Charts.Values.All(c => c.Starts.Count == 0) ? "<p class=\"muted\">No task has started yet.</p>" : "<figure class=\"chart timeline\">" + ReportCharts.Timeline(m.Charts) + "</figure>");
        h.Append("</section>\n");

        // Failures: Status's digest (by cause, with log tails), capped so the page stays small at a million tasks
        h.Append("<section id=\"failures\"><h2>Failures</h2>");
        var d = m.Status.Digest;
        if (m.Status.Problems.Count == 0) h.Append("<p class=\"good\">No task failed.</p>");
        var statusFile = ProductionLayout.Of(plan).StatusFile;
        if (d.Groups.Count > 0)
        {
            h.Append("<table class=\"causes\"><tr><th>state</th><th>exit</th><th>last line of the error log</th><th>tasks</th><th>which</th></tr>");
            foreach (var g in d.Groups.Take(MaxCauses))
                h.Append($"<tr><td>{E(Words(g.Status))}</td><td>{E(g.ExitCode ?? "")}</td><td><code>{E(Shorten(g.Message, 300))}</code></td><td class=\"n\">{g.Tasks.Count:N0}</td><td>{E(TaskList(g.Tasks))}</td></tr>");
            h.Append("</table>");
            if (d.Groups.Count > MaxCauses) h.Append($"<p class=\"muted\">… and {d.Groups.Count - MaxCauses:N0} more cause(s) (all in <code>{E(statusFile)}</code>).</p>");
            var failed = d.Groups.SelectMany(g => g.Tasks).ToList();
            foreach (var task in failed.Take(ReportModel.MaxFailuresShown))
            {
                h.Append($"<div class=\"failure\"><h3>{E(task.Stage.Name)} task {task.Task}: {E(Submitter.ReasonLabel(task))}</h3><p>{E(task.Detail)}" +
                         $"{(task.SchedulerId is null ? "" : $" — job <code>{E(task.SchedulerId)}</code>")}</p><p>inputs: <code>{E(Shorten(string.Join(", ", task.Inputs), 400))}</code></p>");
                if (task.Scheduler?.Usage is { } used && StageUsage.Describe(used) is { Length: > 0 } ran) h.Append($"<p>ran: {E(ran)}</p>");
                var err = task.LogPath(error: true);
                if (err is not null) h.Append($"<p>log: <code>{E(err)}</code></p>");
                if (d.Tails.TryGetValue(task, out var tail)) h.Append($"<pre>{E(string.Join("\n", tail))}</pre>");
                h.Append("</div>");
            }
            if (failed.Count > ReportModel.MaxFailuresShown)
                h.Append($"<p class=\"muted\">… and {failed.Count - ReportModel.MaxFailuresShown:N0} more failed task(s) (all in <code>{E(statusFile)}</code>).</p>");
        }
        Listed(h, d.Blocked, "blocked: waiting for, or cancelled behind, a task that did not succeed upstream");
        Listed(h, d.Cancelled, "cancelled (scancel, -t:Cancel, preempted, or a Submit that was stopped): nothing to fix, Submit again to run them");
        h.Append("</section>\n</body></html>\n");
        return h.ToString();
    }

    /// <summary>Rows of the submissions table.</summary>
    public const int MaxSubmissionsShown = 100;

    /// <summary>Rows of the causes table; the rest are counted.</summary>
    public const int MaxCauses = 50;

    private static void Listed(StringBuilder h, List<TaskInfo> tasks, string what)
    {
        if (tasks.Count == 0) return;
        h.Append($"<h3>{tasks.Count:N0} {E(what)}</h3><ul class=\"task-list\">");
        foreach (var g in tasks.GroupBy(t => t.Stage.Name))
            h.Append($"<li>{E(g.Key)} task(s) {E(TaskList(g.ToList()))}</li>");
        h.Append("</ul>");
    }

    private static string TaskList(List<TaskInfo> tasks) => Shorten(ArraySpec.FormatRanges(tasks.Select(t => t.Task)), 200);

    private static string Words(TaskState s) => s switch
    {
        TaskState.OutOfMemory => "out of memory",
        TaskState.Timeout => "timed out",
        _ => s.ToString().ToLowerInvariant(),
    };

    /// <summary>The stages as boxes in columns by depth (upstream left), an arrow per DependsOn; each box says how far the stage is.</summary>
    public static string StageGraphSvg(ReportModel m)
    {
        var stages = m.Plan.Stages;
        var depth = new Dictionary<string, int>();
        foreach (var s in stages)   // the plan lists stages upstream first
            depth[s.Name] = s.DependsOn.Where(depth.ContainsKey).Select(d => depth[d] + 1).DefaultIfEmpty(0).Max();
        const int w = 190, hgt = 54, gx = 70, gy = 24;
        var pos = new Dictionary<string, (int X, int Y)>();
        foreach (var g in stages.GroupBy(s => depth[s.Name]))
            foreach (var (s, i) in g.Select((s, i) => (s, i))) pos[s.Name] = (10 + g.Key * (w + gx), 10 + i * (hgt + gy));
        int width = pos.Values.Max(p => p.X) + w + 10, height = pos.Values.Max(p => p.Y) + hgt + 10;
        var svg = new StringBuilder($"<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"stage-graph\" width=\"{width}\" height=\"{height}\" viewBox=\"0 0 {width} {height}\" font-family=\"sans-serif\" font-size=\"12\">" +
            "<defs><marker id=\"arrow\" viewBox=\"0 0 10 10\" refX=\"10\" refY=\"5\" markerWidth=\"7\" markerHeight=\"7\" orient=\"auto\"><path d=\"M0,0L10,5L0,10z\" fill=\"#555\"/></marker></defs>");
        foreach (var s in stages)
            foreach (var up in s.DependsOn.Where(pos.ContainsKey))
            {
                var (a, b) = (pos[up], pos[s.Name]);
                svg.Append($"<line x1=\"{a.X + w}\" y1=\"{a.Y + hgt / 2}\" x2=\"{b.X}\" y2=\"{b.Y + hgt / 2}\" stroke=\"#555\" stroke-width=\"1.5\" marker-end=\"url(#arrow)\"/>");
            }
        foreach (var s in stages)
        {
            var (x, y) = pos[s.Name];
            var c = m.Status.ByStage[s.Name];
            int bad = c.Failed + c.Timeout + c.OutOfMemory + c.Cancelled;
            string fill = c.Completed == c.Total ? "#e3f4e9" : bad > 0 ? "#fbe4e1" : "#eef3fa";
            svg.Append($"<g class=\"stage\"><title>{E(s.Name)}: {c.Completed} of {c.Total} done</title><rect x=\"{x}\" y=\"{y}\" width=\"{w}\" height=\"{hgt}\" rx=\"6\" fill=\"{fill}\" stroke=\"#667\"/>" +
                       $"<text x=\"{x + w / 2}\" y=\"{y + 21}\" text-anchor=\"middle\" font-weight=\"bold\">{E(s.Name)}</text>" +
                       $"<text x=\"{x + w / 2}\" y=\"{y + 40}\" text-anchor=\"middle\">{c.Completed:N0}/{c.Total:N0} done{(bad > 0 ? $", {bad:N0} failed" : "")}</text></g>");
            if (s.Cleanup is { Paths.Count: > 0 })
                svg.Append($"<text x=\"{x + w / 2}\" y=\"{y + hgt + 13}\" text-anchor=\"middle\" font-size=\"10\" fill=\"#777\">cleanup after {E(string.Join(", ", s.Cleanup.AfterStages))}</text>");
        }
        return svg.Append("</svg>").ToString();
    }

    private static void Row(StringBuilder h, string key, string value) => h.Append($"<tr><th>{E(key)}</th><td><code>{E(value)}</code></td></tr>");
    private static string Pct(double? v) => v is double d ? d.ToString("P0", CultureInfo.InvariantCulture) : "-";
    private static string Shorten(string s, int max) => s.Length <= max ? s : s[..max] + "…";
    private static string E(string? s) => WebUtility.HtmlEncode(s ?? "");
}
