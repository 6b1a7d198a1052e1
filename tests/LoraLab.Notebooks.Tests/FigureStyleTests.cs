using System.Text.Json.Nodes;
using LoraLab.Display;

namespace LoraLab.Notebooks.Tests;

/// <summary>The optional styling of traces and axes: colours that mean the same in every panel, one legend entry per
/// series, ticks where the data are.</summary>
public class FigureStyleTests
{
    static JsonObject Json(Figure figure) => JsonNode.Parse(figure.ToJson())!.AsObject();

    [Fact]
    public void A_colour_given_to_a_line_and_to_markers_is_plotlys_line_and_marker_colour()
    {
        var json = Json(new Figure().Grid(1, 2)
            .Line(new[] { 1, 2 }, [1.0, 2.0], "n=64", color: "#1f77b4", dash: "dot")
            .Scatter(new[] { 1, 2 }, [1.0, 2.0], "n=64", subplot: 2, color: "#1f77b4", symbol: "square"));

        var data = json["data"]!.AsArray();
        Assert.Equal("#1f77b4", (string?)data[0]!["line"]!["color"]);
        Assert.Equal("dot", (string?)data[0]!["line"]!["dash"]);
        Assert.Equal("#1f77b4", (string?)data[1]!["marker"]!["color"]);
        Assert.Equal("square", (string?)data[1]!["marker"]!["symbol"]);
    }

    [Fact]
    public void Without_style_arguments_the_json_is_unchanged()
    {
        var trace = Json(new Figure().Line(new[] { 1 }, [1.0], "a").Scatter(new[] { 1 }, [1.0], "b"))["data"]!.AsArray();
        foreach (var key in new[] { "line", "marker", "legendgroup", "showlegend" })
            Assert.All(trace, t => Assert.Null(t![key]));
    }

    [Fact]
    public void A_series_drawn_in_two_panels_can_be_listed_once_and_toggle_together()
    {
        var json = Json(new Figure().Grid(1, 2)
            .Line(new[] { 1 }, [1.0], "run", legendGroup: "run")
            .Line(new[] { 1 }, [2.0], "run", subplot: 2, legendGroup: "run", showLegend: false));

        var data = json["data"]!.AsArray();
        Assert.Equal("run", (string?)data[0]!["legendgroup"]);
        Assert.Null(data[0]!["showlegend"]);
        Assert.Equal("run", (string?)data[1]!["legendgroup"]);
        Assert.False((bool)data[1]!["showlegend"]!);
    }

    [Fact]
    public void Axis_ticks_exponents_and_margins_are_plotly_axis_settings()
    {
        var json = Json(new Figure().Grid(1, 2).Line(new[] { 64, 128 }, [1.0, 2.0]).LogX(2)
            .ConfigureAxis("x", 2, a => { a.TickValues = [64, 128]; a.ExponentFormat = "power"; })
            .ConfigureAxis("y", 2, a => { a.DTick = 1; a.AutoMargin = true; })
            .ConfigureAxis("y", 1, a => a.RangeMode = "tozero"));

        var x2 = json["layout"]!["xaxis2"]!;
        Assert.Equal("log", (string?)x2["type"]);
        Assert.Equal([64.0, 128.0], x2["tickvals"]!.AsArray().Select(v => (double)v!));
        Assert.Equal("power", (string?)x2["exponentformat"]);
        Assert.Equal(1.0, (double)json["layout"]!["yaxis2"]!["dtick"]!);
        Assert.True((bool)json["layout"]!["yaxis2"]!["automargin"]!);
        Assert.Equal("tozero", (string?)json["layout"]!["yaxis"]!["rangemode"]);
    }
}
