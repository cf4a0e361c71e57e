using OxyPlot;
using OxyPlot.Annotations;
using OxyPlot.Axes;
using OxyPlot.Series;

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

    private static readonly OxyColor Accent = OxyColor.FromRgb(0x2b, 0x6c, 0xb0);
    private static readonly OxyColor Limit = OxyColor.FromRgb(0xc0, 0x39, 0x2b);

    private static PlotModel Model(string title) => new()
    {
        Title = title, TitleFontSize = 13, TitleFontWeight = FontWeights.Normal, DefaultFont = "sans-serif", DefaultFontSize = 11,
        PlotAreaBorderColor = OxyColors.LightGray, Background = OxyColors.White,
    };

    /// <summary>A histogram of <paramref name="values"/> with the request as a red line (values and request in the same unit).</summary>
    public static string Distribution(string title, string unit, IReadOnlyList<double> values, double? request)
    {
        var model = Model(title);
        double max = Math.Max(values.Count == 0 ? 1 : values.Max(), request ?? 0);
        if (max <= 0) max = 1;
        double lo = 0, hi = max * 1.05;
        int bins = Math.Clamp((int)Math.Ceiling(Math.Sqrt(values.Count)), 5, 40);
        double width = (hi - lo) / bins;
        var counts = new int[bins];
        foreach (var v in values) counts[Math.Clamp((int)((v - lo) / width), 0, bins - 1)]++;
        var series = new HistogramSeries { FillColor = Accent, StrokeColor = OxyColors.White, StrokeThickness = 0.5 };
        for (int i = 0; i < bins; i++)
            if (counts[i] > 0) series.Items.Add(new HistogramItem(lo + i * width, lo + (i + 1) * width, counts[i] * width, counts[i]));   // area: the bar's height is the count
        model.Series.Add(series);
        model.Axes.Add(new LinearAxis { Position = AxisPosition.Bottom, Title = unit, Minimum = lo, Maximum = hi });
        model.Axes.Add(new LinearAxis { Position = AxisPosition.Left, Title = "attempts", Minimum = 0, MinimumPadding = 0, AbsoluteMinimum = 0 });
        if (request is double r)
            model.Annotations.Add(new LineAnnotation { Type = LineAnnotationType.Vertical, X = r, Color = Limit, StrokeThickness = 2, Text = "requested", TextColor = Limit });
        return Svg(model);
    }

    /// <summary>
    /// The timeline of a production: one bar per task attempt (start to end, coloured by how it
    /// ended) for up to <see cref="MaxTimelineBars"/> attempts, and the number of tasks running over time.
    /// </summary>
    public static string Timeline(IReadOnlyList<(string Stage, DateTimeOffset Start, DateTimeOffset End, int Task, int Attempt, string State)> intervals)
    {
        var model = Model(intervals.Count > MaxTimelineBars ? $"Tasks running over time ({intervals.Count:N0} attempts)" : "Task attempts over time");
        var t0 = intervals.Min(i => i.Start);
        double Minutes(DateTimeOffset t) => (t - t0).TotalMinutes;
        if (intervals.Count <= MaxTimelineBars)
        {
            var bars = new IntervalBarSeries { BarWidth = 0.8, LabelFormatString = null };
            var labels = new List<string>();
            foreach (var (i, n) in intervals.OrderBy(i => i.Start).ThenBy(i => i.Stage).Select((i, n) => (i, n)))
            {
                bars.Items.Add(new IntervalBarItem(Minutes(i.Start), Math.Max(Minutes(i.End), Minutes(i.Start) + 0.01)) { Color = StateColor(i.State) });
                labels.Add($"{i.Stage} {i.Task}" + (i.Attempt > 1 ? $" #{i.Attempt}" : ""));
            }
            model.Series.Add(bars);
            model.Axes.Add(new CategoryAxis { Position = AxisPosition.Left, ItemsSource = labels, IsTickCentered = true, FontSize = labels.Count > 40 ? 6 : 9, StartPosition = 1, EndPosition = 0 });
            model.Axes.Add(new LinearAxis { Position = AxisPosition.Bottom, Title = "minutes since the first start", Minimum = 0 });
            return Svg(model, Width, Math.Clamp(40 + 12 * labels.Count, Height, 1400));
        }
        // A million attempts: counted on a grid of Buckets steps (a difference array, no sort), so the
        // curve costs one pass and the page a few thousand points whatever the production's size.
        const int Buckets = 1000;
        double span = Math.Max(1e-6, intervals.Max(i => Minutes(i.End)));
        var deltas = new Dictionary<string, int[]>();
        foreach (var i in intervals)
        {
            if (!deltas.TryGetValue(i.Stage, out var delta)) deltas[i.Stage] = delta = new int[Buckets + 2];
            delta[Math.Clamp((int)(Minutes(i.Start) / span * Buckets), 0, Buckets)]++;
            delta[Math.Clamp((int)(Minutes(i.End) / span * Buckets), 0, Buckets) + 1]--;
        }
        foreach (var (stage, delta) in deltas)
        {
            var line = new LineSeries { Title = stage, StrokeThickness = 1.2 };
            int running = 0;
            for (int b = 0; b <= Buckets; b++)
            {
                running += delta[b];
                line.Points.Add(new DataPoint(b * span / Buckets, running));
            }
            model.Series.Add(line);
        }
        model.Legends.Add(new OxyPlot.Legends.Legend { LegendPosition = OxyPlot.Legends.LegendPosition.TopRight });
        model.Axes.Add(new LinearAxis { Position = AxisPosition.Bottom, Title = "minutes since the first start", Minimum = 0 });
        model.Axes.Add(new LinearAxis { Position = AxisPosition.Left, Title = "tasks running", Minimum = 0 });
        return Svg(model);
    }

    public static OxyColor StateColor(string state) => state.ToUpperInvariant() switch
    {
        var s when s.StartsWith("COMPLETED", StringComparison.Ordinal) => OxyColor.FromRgb(0x2e, 0x8b, 0x57),
        var s when s.StartsWith("TIMEOUT", StringComparison.Ordinal) => OxyColor.FromRgb(0xe6, 0x7e, 0x22),
        var s when s.StartsWith("OUT_OF_ME", StringComparison.Ordinal) || s == "OOM" => OxyColor.FromRgb(0x8e, 0x44, 0xad),
        var s when s.StartsWith("CANCEL", StringComparison.Ordinal) => OxyColors.Gray,
        var s when s.StartsWith("RUNNING", StringComparison.Ordinal) => Accent,
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
