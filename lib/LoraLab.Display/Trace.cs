using System.Text.Json.Serialization;

namespace LoraLab.Display;

/// <summary>
/// One Plotly trace (a series of data drawn one way). Property names follow Plotly's figure schema
/// (https://plotly.com/javascript/reference/) so the serialized JSON can be handed to Plotly.newPlot as is.
/// Null properties are left out of the JSON, so Plotly applies its own defaults.
/// </summary>
public sealed record Trace
{
    /// <summary>Plotly trace type: "scatter" (lines and markers), "bar" or "heatmap".</summary>
    [JsonPropertyName("type")] public required string Type { get; init; }

    /// <summary>For scatter traces: "lines", "markers" or "lines+markers".</summary>
    [JsonPropertyName("mode")] public string? Mode { get; init; }

    [JsonPropertyName("name")] public string? Name { get; init; }

    /// <summary>Numbers or category labels; object so that both serialize as themselves.</summary>
    [JsonPropertyName("x")] public IReadOnlyList<object?>? X { get; init; }

    [JsonPropertyName("y")] public IReadOnlyList<object?>? Y { get; init; }

    /// <summary>Heatmap values, one inner array per row (y), one entry per column (x).</summary>
    [JsonPropertyName("z")] public IReadOnlyList<IReadOnlyList<double>>? Z { get; init; }

    [JsonPropertyName("error_y")] public ErrorBars? ErrorY { get; init; }

    /// <summary>Which axes the trace is drawn on: "x", "x2", ... Used for subplots.</summary>
    [JsonPropertyName("xaxis")] public string? XAxis { get; init; }

    [JsonPropertyName("yaxis")] public string? YAxis { get; init; }

    /// <summary>Line colour and dash of a "lines" trace (see <see cref="LineStyle"/>); null: Plotly's colour cycle.</summary>
    [JsonPropertyName("line")] public LineStyle? Line { get; init; }

    /// <summary>Marker sizes, colour and symbol of a scatter trace (see <see cref="Display.Marker"/>); null: Plotly's defaults.</summary>
    [JsonPropertyName("marker")] public Marker? Marker { get; init; }

    /// <summary>Traces of one legend group toggle together when a legend entry is clicked.</summary>
    [JsonPropertyName("legendgroup")] public string? LegendGroup { get; init; }

    /// <summary>False leaves the trace out of the legend (null: Plotly's default, shown when named).</summary>
    [JsonPropertyName("showlegend")] public bool? ShowLegend { get; init; }

    /// <summary>Heatmap colour scale name, e.g. "Viridis".</summary>
    [JsonPropertyName("colorscale")] public string? ColorScale { get; init; }

    /// <summary>1-based subplot index, derived from XAxis ("x3" is subplot 3). Not part of the JSON.</summary>
    [JsonIgnore]
    public int Subplot => XAxis is null or "x" ? 1 : int.Parse(XAxis.AsSpan(1));
}

/// <summary>Symmetric error bars: Plotly's error_y with type "data" reads one half-width per point.</summary>
public sealed record ErrorBars
{
    [JsonPropertyName("type")] public string Type { get; init; } = "data";
    [JsonPropertyName("array")] public required IReadOnlyList<double> Array { get; init; }
    [JsonPropertyName("visible")] public bool Visible { get; init; } = true;
}
