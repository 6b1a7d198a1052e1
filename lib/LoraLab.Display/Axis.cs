using System.Text.Json.Serialization;

namespace LoraLab.Display;

/// <summary>Settings of one axis, serialized as Plotly's layout.xaxis / layout.yaxis2 / ... objects.</summary>
public sealed class Axis
{
    /// <summary>Plotly axis type: null (auto), "linear", "log" or "category".</summary>
    [JsonPropertyName("type")] public string? Type { get; set; }

    [JsonPropertyName("title")] public AxisTitle? Title { get; set; }

    /// <summary>Ticks exactly at these values (e.g. the widths of a sweep), instead of Plotly's choice, which on a log axis
    /// spanning less than two decades labels every minor tick.</summary>
    [JsonPropertyName("tickvals")] public IReadOnlyList<double>? TickValues { get; set; }

    /// <summary>Tick spacing; on a log axis 1 means one tick per decade.</summary>
    [JsonPropertyName("dtick")] public double? DTick { get; set; }

    /// <summary>How exponents are written: "power" (10⁻³), "e" (1e-3), "none", ...</summary>
    [JsonPropertyName("exponentformat")] public string? ExponentFormat { get; set; }

    /// <summary>"tozero" makes a linear axis start at 0 (Plotly's rangemode), so that sizes are compared from zero.</summary>
    [JsonPropertyName("rangemode")] public string? RangeMode { get; set; }

    /// <summary>True lets Plotly widen the margins so that tick labels and the title do not overlap.</summary>
    [JsonPropertyName("automargin")] public bool? AutoMargin { get; set; }

    [JsonIgnore] public bool IsLog => Type == "log";
}

/// <summary>Plotly wants axis titles as an object ({"text": ...}); the bare-string form is deprecated.</summary>
public sealed record AxisTitle([property: JsonPropertyName("text")] string Text);
