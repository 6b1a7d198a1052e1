using System.Text.Json.Serialization;

namespace LoraLab.Display;

/// <summary>Settings of one axis, serialized as Plotly's layout.xaxis / layout.yaxis2 / ... objects.</summary>
public sealed class Axis
{
    /// <summary>Plotly axis type: null (auto), "linear", "log" or "category".</summary>
    [JsonPropertyName("type")] public string? Type { get; set; }

    [JsonPropertyName("title")] public AxisTitle? Title { get; set; }

    [JsonIgnore] public bool IsLog => Type == "log";
}

/// <summary>Plotly wants axis titles as an object ({"text": ...}); the bare-string form is deprecated.</summary>
public sealed record AxisTitle([property: JsonPropertyName("text")] string Text);
