using OxyPlot;
using OxyPlot.Annotations;
using OxyPlot.Axes;
using OxyPlot.Series;
using SpineProd.Scheduler;

namespace SpineProd.Report;

/// <summary>
/// The report's charts, drawn with OxyPlot and exported as inline SVG: the page needs no script
/// and no network, prints, and every chart is the same bytes for the same data.
/// </summary>
public static class ReportCharts
{
    public const int Width = 560, Height = 260;
    /// <summary>Tasks drawn one bar each in the timeline; past it only the running-tasks curve.</summary>
    public const int MaxTimelineBars = 200;
    /// <summary>Points of the running-tasks curve per stage.</summary>
    public const int TimelineSteps = 1000;

    private static readonly OxyColor Accent = OxyColor.FromRgb(0x2b, 0x6c, 0xb0);
    private static readonly OxyColor Limit = OxyColor.FromRgb(0xc0, 0x39, 0x2b);

    private static PlotModel Model(string title) => new()
    {
        Title = title, TitleFontSize = 13, TitleFontWeight = FontWeights.Normal, DefaultFont = "sans-serif", DefaultFontSize = 11,
        PlotAreaBorderColor = OxyColors.LightGray, Background = OxyColors.White,
    };

    /// <summary>
    /// A histogram of what the attempts used (<paramref name="completed"/>, with those that ended
    /// otherwise stacked on top) and the request as a red line; values in base units (seconds or
    /// bytes), drawn in the unit that suits them. Bins are counted in one pass: the page has at
    /// most 80 bars whatever the number of attempts. A request far above what was used stays off
    /// the axis (the bars would be one thin line at zero) and is named in the title instead.
    /// </summary>
    public static string Distribution(string title, Quantity quantity, IReadOnlyCollection<double> completed, IReadOnlyCollection<double> unfinished, double? request)
    {
        double used = Math.Max(completed.DefaultIfEmpty(0).Max(), unfinished.DefaultIfEmpty(0).Max());
        if (used <= 0) used = request ?? 1;
        bool requestShown = request is double r0 && r0 <= used * 3;
        double top = requestShown ? Math.Max(used, request!.Value) : used;
        var (unit, scale) = quantity == Quantity.Time
            ? top <= 300 ? ("seconds", 1.0) : top <= 3 * 3600 ? ("minutes", 60.0) : ("hours", 3600.0)
            : top < 1L << 30 ? ("MB", (double)(1L << 20)) : ("GB", (double)(1L << 30));
        if (request is double rq && !requestShown)
            title += $" (requested {(quantity == Quantity.Time ? ResourceValues.Hms(TimeSpan.FromSeconds(rq)) : Usage.StageUsage.Bytes((long)rq))}, off the axis)";
        var model = Model(title);
        double hi = top / scale * 1.05;
        int bins = Math.Clamp((int)Math.Ceiling(Math.Sqrt(completed.Count + unfinished.Count)), 10, 40);
        double width = used / scale * 1.0001 / bins;
        int[] Count(IEnumerable<double> values)
        {
            var counts = new int[bins];
            foreach (var v in values) counts[Math.Clamp((int)(v / scale / width), 0, bins - 1)]++;
            return counts;
        }
        var done = Count(completed);
        var other = Count(unfinished);
        var doneBars = new RectangleBarSeries { Title = "completed", FillColor = Accent, StrokeColor = OxyColors.White, StrokeThickness = 0.5 };
        var otherBars = new RectangleBarSeries { Title = "did not complete", FillColor = Limit, StrokeColor = OxyColors.White, StrokeThickness = 0.5 };
        for (int i = 0; i < bins; i++)
        {
            if (done[i] > 0) doneBars.Items.Add(new RectangleBarItem(i * width, 0, (i + 1) * width, done[i]));
            if (other[i] > 0) otherBars.Items.Add(new RectangleBarItem(i * width, done[i], (i + 1) * width, done[i] + other[i]));
        }
        model.Series.Add(doneBars);
        if (otherBars.Items.Count > 0) model.Series.Add(otherBars);   // the page says what the colours are (a legend would hide bars)
        model.Axes.Add(new LinearAxis { Position = AxisPosition.Bottom, Title = unit, Minimum = 0, Maximum = hi });
        model.Axes.Add(new LinearAxis { Position = AxisPosition.Left, Title = "attempts", Minimum = 0, MinimumPadding = 0, AbsoluteMinimum = 0 });
        if (request is double r && requestShown)
            model.Annotations.Add(new LineAnnotation { Type = LineAnnotationType.Vertical, X = r / scale, Color = Limit, StrokeThickness = 2, Text = "requested", TextColor = Limit });
        return Svg(model);
    }

    /// <summary>
    /// The timeline of a production: one bar per task attempt (start to end, coloured by how it
    /// ended) up to <see cref="MaxTimelineBars"/> attempts; past that, per stage, the number of
    /// tasks running over time, counted on a grid of <see cref="TimelineSteps"/> steps (a
    /// difference array, no sort): one pass, and a few thousand points whatever the size.
    /// </summary>
    public static string Timeline(IReadOnlyDictionary<string, StageCharts> stages)
    {
        long attempts = stages.Values.Sum(c => (long)c.Starts.Count);
        long t0 = stages.Values.SelectMany(c => c.Starts.Count == 0 ? [] : new[] { c.Starts.Min() }).Min();
        long t1 = stages.Values.SelectMany(c => c.Ends.Count == 0 ? [] : new[] { c.Ends.Max() }).Max();
        var (unit, perUnit) = (t1 - t0) switch
        {
            <= 5 * 60 => ("seconds", 1.0),
            <= 3 * 3600 => ("minutes", 60.0),
            <= 3 * 86400 => ("hours", 3600.0),
            _ => ("days", 86400.0),
        };
        string axisTitle = $"{unit} since the first start";
        if (attempts <= MaxTimelineBars)
        {
            var model = Model("Task attempts over time");
            var bars = new IntervalBarSeries { BarWidth = 0.8, LabelFormatString = null };
            var labels = new List<string>();
            foreach (var b in stages.Values.SelectMany(c => c.Bars).OrderBy(b => b.Start).ThenBy(b => b.Stage, StringComparer.Ordinal))
            {
                double from = (b.Start.ToUnixTimeSeconds() - t0) / perUnit, to = (b.End.ToUnixTimeSeconds() - t0) / perUnit;
                bars.Items.Add(new IntervalBarItem(from, Math.Max(to, from + 0.01)) { Color = StateColor(b.Kind) });
                labels.Add($"{b.Stage} {b.Task}" + (b.Attempt > 1 ? $" #{b.Attempt}" : ""));
            }
            model.Series.Add(bars);
            model.Axes.Add(new CategoryAxis { Position = AxisPosition.Left, ItemsSource = labels, IsTickCentered = true, FontSize = labels.Count > 40 ? 6 : 9, StartPosition = 1, EndPosition = 0 });
            model.Axes.Add(new LinearAxis { Position = AxisPosition.Bottom, Title = axisTitle, Minimum = 0 });
            return Svg(model, Width, Math.Clamp(40 + 12 * labels.Count, Height, 1400));
        }
        var curve = Model($"Tasks running over time ({attempts:N0} attempts)");
        double span = Math.Max(1, t1 - t0);
        foreach (var (stage, c) in stages)
        {
            if (c.Starts.Count == 0) continue;
            var delta = new int[TimelineSteps + 2];
            for (int i = 0; i < c.Starts.Count; i++)
            {
                delta[Math.Clamp((int)((c.Starts[i] - t0) / span * TimelineSteps), 0, TimelineSteps)]++;
                delta[Math.Clamp((int)((c.Ends[i] - t0) / span * TimelineSteps), 0, TimelineSteps) + 1]--;
            }
            var line = new LineSeries { Title = stage, StrokeThickness = 1.2 };
            int running = 0;
            for (int b = 0; b <= TimelineSteps; b++)
            {
                running += delta[b];
                line.Points.Add(new DataPoint(b * span / TimelineSteps / perUnit, running));
            }
            curve.Series.Add(line);
        }
        curve.Legends.Add(new OxyPlot.Legends.Legend { LegendPosition = OxyPlot.Legends.LegendPosition.TopRight });
        curve.Axes.Add(new LinearAxis { Position = AxisPosition.Bottom, Title = axisTitle, Minimum = 0 });
        curve.Axes.Add(new LinearAxis { Position = AxisPosition.Left, Title = "tasks running", Minimum = 0 });
        return Svg(curve);
    }

    public enum Quantity { Time, Memory }

    public static OxyColor StateColor(TaskStateKind kind) => kind switch
    {
        TaskStateKind.Completed => OxyColor.FromRgb(0x2e, 0x8b, 0x57),
        TaskStateKind.Timeout => OxyColor.FromRgb(0xe6, 0x7e, 0x22),
        TaskStateKind.OutOfMemory => OxyColor.FromRgb(0x8e, 0x44, 0xad),
        TaskStateKind.Cancelled or TaskStateKind.Preempted => OxyColors.Gray,
        TaskStateKind.Running or TaskStateKind.Pending => Accent,
        _ => Limit,
    };

    private static string Svg(PlotModel model, int width = Width, int height = Height)
    {
        var svg = new SvgExporter { Width = width, Height = height, IsDocument = false }.ExportToString(model);
        // OxyPlot writes an XML declaration even for a fragment: HTML does not want it.
        int start = svg.IndexOf("<svg", StringComparison.Ordinal);
        return start > 0 ? svg[start..] : svg;
    }
}
