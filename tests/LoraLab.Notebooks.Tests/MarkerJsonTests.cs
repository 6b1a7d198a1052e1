using System.Text.Json.Nodes;
using LoraLab.Display;

namespace LoraLab.Notebooks.Tests;

public class MarkerJsonTests
{
    [Fact]
    public void Marker_sizes_colour_symbol_line_and_legend_serialize_as_plotly_reads_them()
    {
        var trace = new Figure().Scatter(new[] { 1.0, 2.0 }, [3.0, 4.0], "r=4").Traces[0] with
        {
            Marker = new Marker { Size = [7, 12], Color = "#4292c6", Symbol = "star" },
            Line = new LineStyle { Color = "#4292c6", Dash = "dash" },
            ShowLegend = false,
        };
        var json = JsonNode.Parse(new Figure().Add(trace).ToJson())!["data"]![0]!;
        Assert.Equal([7.0, 12.0], json["marker"]!["size"]!.AsArray().Select(v => (double)v!));
        Assert.Equal("#4292c6", (string?)json["marker"]!["color"]);
        Assert.Equal("star", (string?)json["marker"]!["symbol"]);
        Assert.Equal("dash", (string?)json["line"]!["dash"]);
        Assert.False((bool)json["showlegend"]!);
    }

    [Fact]
    public void A_trace_without_marker_settings_leaves_them_to_plotly()
    {
        var json = JsonNode.Parse(new Figure().Line(new[] { 1, 2 }, [1.0, 2.0]).ToJson())!["data"]![0]!.AsObject();
        Assert.False(json.ContainsKey("marker"));
        Assert.False(json.ContainsKey("line"));
        Assert.False(json.ContainsKey("showlegend"));
    }
}
