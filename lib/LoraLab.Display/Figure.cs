using System.Globalization;
using System.Net;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;

namespace LoraLab.Display;

/// <summary>
/// A Plotly figure: a list of traces plus a layout. Build it fluently, then display it:
/// <c>ToHtml()</c> draws it with plotly.js (notebooks, reports), <c>ToJson()</c> gives
/// the figure JSON (Plotly's {"data": [...], "layout": {...}} schema).
/// </summary>
/// <example><code>
/// new Figure("Loss").Line(steps, loss, "train").Scatter(evalSteps, evalLoss, "eval", errorY: sd).LogY()
/// </code></example>
public sealed class Figure
{
    /// <summary>The version of plotly.js that data/package.json pins; the CDN fallback loads the same one.</summary>
    public const string PlotlyVersion = "4.1.2";

    static readonly JsonSerializerOptions JsonOptions = new()
    {
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        // Training curves can contain NaN or infinity; Plotly draws such (string) values as gaps instead of failing.
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };

    readonly List<Trace> traces = [];
    readonly SortedDictionary<string, Axis> axes = new(StringComparer.Ordinal);
    int gridRows = 1, gridColumns = 1;

    public Figure(string? title = null, int width = 720, int height = 420)
    {
        Title = title;
        Width = width;
        Height = height;
    }

    public string? Title { get; set; }
    public int Width { get; set; }
    public int Height { get; set; }
    public IReadOnlyList<Trace> Traces => traces;

    /// <summary>Number of subplots the figure is laid out as (rows x columns of the grid).</summary>
    public int SubplotCount => gridRows * gridColumns;

    /// <summary>Adds any trace; the helpers below cover the common ones.</summary>
    public Figure Add(Trace trace)
    {
        traces.Add(trace);
        return this;
    }

    /// <summary>
    /// A line through (x, y). <paramref name="subplot"/> is 1-based (see <see cref="Grid"/>). <paramref name="color"/> (a CSS
    /// colour) fixes the colour, so that one series keeps its colour across panels; traces that share a
    /// <paramref name="legendGroup"/> show and hide together, and <paramref name="showLegend"/> false lists a trace drawn
    /// in several panels only once.
    /// </summary>
    public Figure Line<TX>(IEnumerable<TX> x, IEnumerable<double> y, string? name = null, int subplot = 1,
                           string? color = null, string? legendGroup = null, bool showLegend = true, string? dash = null) =>
        Add(new Trace
        {
            Type = "scatter", Mode = "lines", Name = name, X = Box(x), Y = Box(y), XAxis = AxisRef("x", subplot), YAxis = AxisRef("y", subplot),
            Line = color is null && dash is null ? null : new LineStyle { Color = color, Dash = dash },
            LegendGroup = legendGroup, ShowLegend = showLegend ? null : false,
        });

    /// <summary>Markers at (x, y), with optional symmetric error bars (one half-width per point); colour and legend as for <see cref="Line{TX}"/>.</summary>
    public Figure Scatter<TX>(IEnumerable<TX> x, IEnumerable<double> y, string? name = null, IEnumerable<double>? errorY = null, int subplot = 1,
                              string? color = null, string? legendGroup = null, bool showLegend = true, string? symbol = null) =>
        Add(new Trace
        {
            Type = "scatter", Mode = "markers", Name = name, X = Box(x), Y = Box(y),
            ErrorY = errorY is null ? null : new ErrorBars { Array = errorY.ToArray() },
            XAxis = AxisRef("x", subplot), YAxis = AxisRef("y", subplot),
            Marker = color is null && symbol is null ? null : new Marker { Color = color, Symbol = symbol },
            LegendGroup = legendGroup, ShowLegend = showLegend ? null : false,
        });

    /// <summary>Bars of height y at categories or positions x.</summary>
    public Figure Bar<TX>(IEnumerable<TX> x, IEnumerable<double> y, string? name = null, int subplot = 1) =>
        Add(new Trace { Type = "bar", Name = name, X = Box(x), Y = Box(y), XAxis = AxisRef("x", subplot), YAxis = AxisRef("y", subplot) });

    /// <summary>A heatmap of z[row][column]; x labels the columns and y the rows.</summary>
    public Figure Heatmap<TX, TY>(IEnumerable<IEnumerable<double>> z, IEnumerable<TX>? x = null, IEnumerable<TY>? y = null, string colorScale = "Viridis", int subplot = 1) =>
        Add(new Trace
        {
            Type = "heatmap", Z = z.Select(row => (IReadOnlyList<double>)row.ToArray()).ToArray(),
            X = x is null ? null : Box(x), Y = y is null ? null : Box(y), ColorScale = colorScale,
            XAxis = AxisRef("x", subplot), YAxis = AxisRef("y", subplot),
        });

    /// <summary>A heatmap with no axis labels.</summary>
    public Figure Heatmap(IEnumerable<IEnumerable<double>> z, string colorScale = "Viridis", int subplot = 1) =>
        Heatmap<int, int>(z, null, null, colorScale, subplot);

    /// <summary>Lays subplots out on a rows x columns grid; each subplot gets its own axes (Plotly's layout.grid).</summary>
    public Figure Grid(int rows, int columns)
    {
        if (rows < 1 || columns < 1) throw new ArgumentOutOfRangeException(nameof(rows), "A grid needs at least one row and one column.");
        gridRows = rows;
        gridColumns = columns;
        return this;
    }

    public Figure LogX(int subplot = 1) => SetAxis("x", subplot, axis => axis.Type = "log");
    public Figure LogY(int subplot = 1) => SetAxis("y", subplot, axis => axis.Type = "log");
    public Figure XTitle(string text, int subplot = 1) => SetAxis("x", subplot, axis => axis.Title = new AxisTitle(text));
    public Figure YTitle(string text, int subplot = 1) => SetAxis("y", subplot, axis => axis.Title = new AxisTitle(text));

    /// <summary>Changes any setting of a subplot's axis, e.g. <c>ConfigureAxis("x", 2, a => a.TickValues = widths)</c>.</summary>
    public Figure ConfigureAxis(string letter, int subplot, Action<Axis> change) => SetAxis(letter, subplot, change);

    /// <summary>The axis settings of a subplot, e.g. Axis("y", 2) is layout.yaxis2; null when never set.</summary>
    public Axis? GetAxis(string letter, int subplot = 1) => axes.GetValueOrDefault(LayoutAxisKey(letter, subplot));

    /// <summary>The figure as Plotly JSON: {"data": [traces], "layout": {...}}.</summary>
    public string ToJson(bool indented = false) =>
        ToJsonNode().ToJsonString(new JsonSerializerOptions(JsonOptions) { WriteIndented = indented });

    /// <summary>The same JSON under the name Jupyter kernels look for: LoraLab's kernel sends it as application/vnd.plotly.v1+json.</summary>
    public string ToPlotlyJson() => ToJson();

    public JsonObject ToJsonNode() => new()
    {
        ["data"] = JsonSerializer.SerializeToNode(traces, JsonOptions),
        ["layout"] = BuildLayout(),
    };

    /// <summary>
    /// A div plus a script that draws the figure. Uses window.Plotly when the page already has it (the runner's reports
    /// embed plotly.js once in their head, so they work offline); otherwise loads plotly.js from the first of
    /// <see cref="PlotlySources.ForThisProcess"/> that loads (the installed copy, then the CDN), and says so in the
    /// figure's place when none does.
    /// </summary>
    public string ToHtml() => ToHtml(PlotlySources.ForThisProcess);

    /// <summary><see cref="ToHtml()"/> with the plotly.js sources to try, in order.</summary>
    public string ToHtml(IReadOnlyList<string> plotlySources)
    {
        var id = "loralab-fig-" + Guid.NewGuid().ToString("N")[..12];
        // The JSON goes inside a <script>; escaping '<' keeps a "</script>" inside a label from closing it early.
        var json = ToJson().Replace("<", "\\u003c");
        var sources = JsonSerializer.Serialize(plotlySources).Replace("<", "\\u003c");
        return $$"""
            <div id="{{id}}" class="loralab-figure" style="width:{{Width}}px;height:{{Height}}px"></div>
            <script>
            (function () {
              var figure = {{json}}, sources = {{sources}};
              function draw() { Plotly.newPlot('{{id}}', figure.data, figure.layout, {responsive: true}); }
              if (window.Plotly) { draw(); return; }
              (function load(i) {
                if (window.Plotly) { draw(); return; }
                if (i === sources.length) {
                  document.getElementById('{{id}}').textContent = 'This chart needs plotly.js, which could not be loaded from ' + sources.join(' or ') + '.';
                  return;
                }
                var script = document.createElement('script');
                script.src = sources[i];
                script.onload = draw;
                script.onerror = function () { script.remove(); load(i + 1); };
                document.head.appendChild(script);
              })(0);
            })();
            </script>
            """;
    }

    /// <summary>The plain-text form a notebook shows when it cannot render HTML.</summary>
    public override string ToString()
    {
        var kinds = string.Join(", ", traces.Select(t => t.Name is null ? t.Type : $"{t.Type} '{t.Name}'"));
        return $"Figure{(Title is null ? "" : $" '{Title}'")}: {traces.Count} trace(s) [{kinds}]";
    }

    JsonObject BuildLayout()
    {
        var layout = new JsonObject { ["width"] = Width, ["height"] = Height };
        if (Title is not null) layout["title"] = new JsonObject { ["text"] = Title };
        if (SubplotCount > 1)
            layout["grid"] = new JsonObject { ["rows"] = gridRows, ["columns"] = gridColumns, ["pattern"] = "independent" };
        foreach (var (key, axis) in axes)
            layout[key] = JsonSerializer.SerializeToNode(axis, JsonOptions);
        return layout;
    }

    Figure SetAxis(string letter, int subplot, Action<Axis> change)
    {
        var key = LayoutAxisKey(letter, subplot);
        if (!axes.TryGetValue(key, out var axis)) axes[key] = axis = new Axis();
        change(axis);
        return this;
    }

    // Plotly names the first axes "x"/"xaxis" and later ones "x2"/"xaxis2".
    static string? AxisRef(string letter, int subplot) =>
        subplot < 1 ? throw new ArgumentOutOfRangeException(nameof(subplot), "Subplots are numbered from 1.")
        : subplot == 1 ? null : letter + subplot.ToString(CultureInfo.InvariantCulture);

    static string LayoutAxisKey(string letter, int subplot) =>
        letter + "axis" + (subplot == 1 ? "" : subplot.ToString(CultureInfo.InvariantCulture));

    static object?[] Box<T>(IEnumerable<T> values) => values.Select(v => (object?)v).ToArray();

    internal static string Escape(string text) => WebUtility.HtmlEncode(text);
}
