using System.Globalization;
using System.Text;

namespace LoraLab.Display;

/// <summary>
/// Draws a <see cref="Figure"/> as a static SVG: lines, markers with error bars, bars and heatmaps, linear or log axes,
/// one panel per subplot. It is a plain picture for documents without JavaScript, not a Plotly replacement.
/// </summary>
sealed class FigureSvg(Figure figure)
{
    static readonly string[] Palette = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f"];
    const double MarginLeft = 56, MarginRight = 16, MarginTop = 36, MarginBottom = 40;

    readonly StringBuilder svg = new();

    public string Render()
    {
        svg.Append(CultureInfo.InvariantCulture,
            $"""<svg xmlns="http://www.w3.org/2000/svg" class="loralab-svg" width="{figure.Width}" height="{figure.Height}" viewBox="0 0 {figure.Width} {figure.Height}" font-family="sans-serif" font-size="11">""");
        svg.Append("<rect width=\"100%\" height=\"100%\" fill=\"white\"/>");
        if (figure.Title is not null)
            Text(figure.Width / 2.0, 18, figure.Title, "middle", 14);

        var subplots = figure.Traces.Select(t => t.Subplot).DefaultIfEmpty(1).Max();
        var columns = (int)Math.Ceiling(Math.Sqrt(subplots));
        var rows = (int)Math.Ceiling(subplots / (double)columns);
        var panelWidth = figure.Width / (double)columns;
        var panelHeight = (figure.Height - 20) / (double)rows;
        for (var subplot = 1; subplot <= subplots; subplot++)
        {
            var column = (subplot - 1) % columns;
            var row = (subplot - 1) / columns;
            DrawPanel(subplot, column * panelWidth, 20 + row * panelHeight, panelWidth, panelHeight);
        }
        DrawLegend();
        svg.Append("</svg>");
        return svg.ToString();
    }

    void DrawPanel(int subplot, double left, double top, double width, double height)
    {
        var traces = figure.Traces.Select((trace, index) => (trace, index)).Where(t => t.trace.Subplot == subplot).ToList();
        var plot = new PlotArea(left + MarginLeft, top + MarginTop, width - MarginLeft - MarginRight, height - MarginTop - MarginBottom);
        var categories = traces.SelectMany(t => t.trace.X ?? []).Where(v => !IsNumber(v)).Select(v => v?.ToString() ?? "").Distinct().ToList();
        var xs = traces.SelectMany(t => XValues(t.trace, categories)).Where(double.IsFinite).ToList();
        var ys = traces.SelectMany(t => YValues(t.trace)).ToList();
        if (traces.Any(t => t.trace.Type == "bar") && xs.Count > 0)
        {
            // Bars grow from zero and are as wide as the gap between positions: keep both inside the plot.
            var distinct = xs.Distinct().Order().ToList();
            var halfGap = distinct.Count > 1 ? distinct.Zip(distinct.Skip(1), (a, b) => b - a).Min() / 2 : 0.5;
            xs.AddRange([distinct[0] - halfGap, distinct[^1] + halfGap]);
            ys.Add(0);
        }
        var xScale = Scale.Fit(xs, figure.GetAxis("x", subplot)?.IsLog == true, plot.Left, plot.Right);
        var yScale = Scale.Fit(ys, figure.GetAxis("y", subplot)?.IsLog == true, plot.Bottom, plot.Top);

        svg.Append(CultureInfo.InvariantCulture, $"""<rect x="{plot.Left:0.#}" y="{plot.Top:0.#}" width="{plot.Width:0.#}" height="{plot.Height:0.#}" fill="none" stroke="#ccc"/>""");
        foreach (var tick in yScale.Ticks())
        {
            var y = yScale.Map(tick);
            Line(plot.Left, y, plot.Right, y, "#eee");
            Text(plot.Left - 4, y + 4, FormatTick(tick), "end");
        }
        if (categories.Count > 0)
            for (var i = 0; i < categories.Count; i++) Text(xScale.Map(i), plot.Bottom + 14, categories[i], "middle");
        else
            foreach (var tick in xScale.Ticks()) Text(xScale.Map(tick), plot.Bottom + 14, FormatTick(tick), "middle");
        if (figure.GetAxis("x", subplot)?.Title is { } xTitle) Text(plot.Left + plot.Width / 2, plot.Bottom + 30, xTitle.Text, "middle");
        if (figure.GetAxis("y", subplot)?.Title is { } yTitle) Text(left + 12, plot.Top - 8, yTitle.Text, "start");

        foreach (var (trace, index) in traces)
            DrawTrace(trace, Palette[index % Palette.Length], xScale, yScale, categories, plot);
    }

    void DrawTrace(Trace trace, string color, Scale xScale, Scale yScale, List<string> categories, PlotArea plot)
    {
        if (trace.Type == "heatmap") { DrawHeatmap(trace, plot); return; }
        var points = XValues(trace, categories).Zip(YValues(trace), (x, y) => (x, y))
            .Where(p => double.IsFinite(p.x) && double.IsFinite(p.y) && xScale.CanMap(p.x) && yScale.CanMap(p.y)).ToList();
        if (trace.Type == "bar")
        {
            var barWidth = Math.Max(2, plot.Width / Math.Max(1, points.Count + 1) * 0.6);
            var baseline = yScale.Map(yScale.IsLog ? yScale.Min : Math.Max(0, yScale.Min));
            foreach (var (x, y) in points)
            {
                var top = yScale.Map(y);
                svg.Append(CultureInfo.InvariantCulture, $"""<rect x="{xScale.Map(x) - barWidth / 2:0.#}" y="{Math.Min(top, baseline):0.#}" width="{barWidth:0.#}" height="{Math.Abs(baseline - top):0.#}" fill="{color}"/>""");
            }
            return;
        }
        if (trace.Mode?.Contains("lines") == true && points.Count > 1)
        {
            var path = string.Join(" ", points.Select(p => string.Create(CultureInfo.InvariantCulture, $"{xScale.Map(p.x):0.#},{yScale.Map(p.y):0.#}")));
            svg.Append($"""<polyline points="{path}" fill="none" stroke="{color}" stroke-width="2"/>""");
        }
        if (trace.Mode?.Contains("markers") == true)
        {
            var errors = trace.ErrorY?.Array;
            for (var i = 0; i < points.Count; i++)
            {
                var (x, y) = points[i];
                if (errors is not null && i < errors.Count && yScale.CanMap(y - errors[i]))
                    Line(xScale.Map(x), yScale.Map(y - errors[i]), xScale.Map(x), yScale.Map(y + errors[i]), color);
                svg.Append(CultureInfo.InvariantCulture, $"""<circle cx="{xScale.Map(x):0.#}" cy="{yScale.Map(y):0.#}" r="3.5" fill="{color}"/>""");
            }
        }
    }

    void DrawHeatmap(Trace trace, PlotArea plot)
    {
        var z = trace.Z ?? [];
        if (z.Count == 0) return;
        var values = z.SelectMany(row => row).Where(double.IsFinite).DefaultIfEmpty(0).ToList();
        double min = values.Min(), max = values.Max(), span = max > min ? max - min : 1;
        var cellHeight = plot.Height / z.Count;
        for (var row = 0; row < z.Count; row++)
        {
            var cellWidth = plot.Width / Math.Max(1, z[row].Count);
            for (var column = 0; column < z[row].Count; column++)
            {
                var shade = double.IsFinite(z[row][column]) ? (z[row][column] - min) / span : 0;
                // Row 0 at the bottom, as Plotly draws it.
                svg.Append(CultureInfo.InvariantCulture,
                    $"""<rect x="{plot.Left + column * cellWidth:0.#}" y="{plot.Bottom - (row + 1) * cellHeight:0.#}" width="{cellWidth + 0.5:0.#}" height="{cellHeight + 0.5:0.#}" fill="{HeatColor(shade)}"/>""");
            }
        }
    }

    void DrawLegend()
    {
        var named = figure.Traces.Select((trace, index) => (trace, index)).Where(t => t.trace.Name is not null).ToList();
        for (var i = 0; i < named.Count; i++)
        {
            var y = 32 + i * 14;
            var x = figure.Width - 130;
            svg.Append(CultureInfo.InvariantCulture, $"""<rect x="{x}" y="{y - 8}" width="10" height="10" fill="{Palette[named[i].index % Palette.Length]}"/>""");
            Text(x + 14, y, named[i].trace.Name!, "start");
        }
    }

    static IEnumerable<double> XValues(Trace trace, List<string> categories) =>
        trace.Type == "heatmap" ? [] : (trace.X ?? Enumerable.Range(0, trace.Y?.Count ?? 0).Select(i => (object?)i).ToList())
            .Select(v => IsNumber(v) ? Convert.ToDouble(v, CultureInfo.InvariantCulture) : categories.IndexOf(v?.ToString() ?? ""));

    static IEnumerable<double> YValues(Trace trace)
    {
        if (trace.Type == "heatmap") return [];
        var y = (trace.Y ?? []).Select(v => IsNumber(v) ? Convert.ToDouble(v, CultureInfo.InvariantCulture) : double.NaN).ToList();
        var errors = trace.ErrorY?.Array;
        if (errors is null) return y;
        // Include the error bar ends so that the bars fit in the plot.
        return y.Concat(y.Select((v, i) => i < errors.Count ? v + errors[i] : v)).Concat(y.Select((v, i) => i < errors.Count ? v - errors[i] : v));
    }

    static bool IsNumber(object? value) => value is double or float or int or long or short or byte or decimal or uint or ulong;

    // A simple blue-to-yellow ramp in the spirit of Viridis.
    static string HeatColor(double t)
    {
        t = Math.Clamp(t, 0, 1);
        int r = (int)(68 + t * (253 - 68)), g = (int)(1 + t * (231 - 1)), b = (int)(84 + t * (37 - 84));
        return $"#{r:x2}{g:x2}{b:x2}";
    }

    static string FormatTick(double value) => value.ToString(Math.Abs(value) is >= 1e5 or (< 1e-3 and > 0) ? "0.#e0" : "G4", CultureInfo.InvariantCulture);

    void Line(double x1, double y1, double x2, double y2, string color) =>
        svg.Append(CultureInfo.InvariantCulture, $"""<line x1="{x1:0.#}" y1="{y1:0.#}" x2="{x2:0.#}" y2="{y2:0.#}" stroke="{color}"/>""");

    void Text(double x, double y, string text, string anchor, int size = 11) =>
        svg.Append(CultureInfo.InvariantCulture, $"""<text x="{x:0.#}" y="{y:0.#}" text-anchor="{anchor}" font-size="{size}">{Figure.Escape(text)}</text>""");

    readonly record struct PlotArea(double Left, double Top, double Width, double Height)
    {
        public double Right => Left + Width;
        public double Bottom => Top + Height;
    }

    /// <summary>Maps data values onto pixels, linearly or in log10.</summary>
    sealed record Scale(double Min, double Max, bool IsLog, double From, double To)
    {
        public static Scale Fit(IEnumerable<double> values, bool log, double from, double to)
        {
            var usable = values.Where(v => double.IsFinite(v) && (!log || v > 0)).ToList();
            double min = usable.Count > 0 ? usable.Min() : (log ? 1 : 0), max = usable.Count > 0 ? usable.Max() : (log ? 10 : 1);
            if (min == max) (min, max) = log ? (min / 2, max * 2) : (min - 0.5, max + 0.5);
            return new Scale(min, max, log, from, to);
        }

        public bool CanMap(double value) => !IsLog || value > 0;

        public double Map(double value)
        {
            double t = IsLog ? (Math.Log10(value) - Math.Log10(Min)) / (Math.Log10(Max) - Math.Log10(Min)) : (value - Min) / (Max - Min);
            return From + t * (To - From);
        }

        public IEnumerable<double> Ticks()
        {
            if (IsLog)
            {
                for (var power = Math.Floor(Math.Log10(Min)); power <= Math.Ceiling(Math.Log10(Max)); power++)
                    if (Math.Pow(10, power) is var tick && tick >= Min && tick <= Max) yield return tick;
                yield break;
            }
            for (var i = 0; i <= 4; i++) yield return Min + i * (Max - Min) / 4;
        }
    }
}
