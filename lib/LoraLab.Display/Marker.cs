using System.Text.Json.Serialization;

namespace LoraLab.Display;

/// <summary>
/// How a scatter trace draws its markers (Plotly's marker): one size per point (so a third variable, such as a
/// training length, can be read off the marker), a colour shared by the whole trace, a symbol ("circle", "star", ...).
/// </summary>
public sealed record Marker
{
    [JsonPropertyName("size")] public IReadOnlyList<double>? Size { get; init; }
    [JsonPropertyName("color")] public string? Color { get; init; }
    [JsonPropertyName("symbol")] public string? Symbol { get; init; }
}

/// <summary>How a scatter trace draws its line (Plotly's line): a colour and a dash style ("solid", "dash", "dot").</summary>
public sealed record LineStyle
{
    [JsonPropertyName("color")] public string? Color { get; init; }
    [JsonPropertyName("dash")] public string? Dash { get; init; }
}
