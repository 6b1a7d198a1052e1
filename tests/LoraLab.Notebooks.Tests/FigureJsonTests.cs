using System.Text.Json.Nodes;
using LoraLab.Display;

namespace LoraLab.Notebooks.Tests;

public class FigureJsonTests
{
    static JsonObject Json(Figure figure) => JsonNode.Parse(figure.ToJson())!.AsObject();

    [Fact]
    public void Traces_serialize_with_plotly_type_mode_and_data()
    {
        var json = Json(new Figure("Loss").Line(new[] { 1, 2, 3 }, [0.5, 0.25, 0.125], "train").Bar(new[] { "a", "b" }, [1.0, 2.0]));

        var data = json["data"]!.AsArray();
        Assert.Equal(2, data.Count);
        Assert.Equal("scatter", (string?)data[0]!["type"]);
        Assert.Equal("lines", (string?)data[0]!["mode"]);
        Assert.Equal("train", (string?)data[0]!["name"]);
        Assert.Equal([1, 2, 3], data[0]!["x"]!.AsArray().Select(v => (int)v!));
        Assert.Equal([0.5, 0.25, 0.125], data[0]!["y"]!.AsArray().Select(v => (double)v!));
        Assert.Equal("bar", (string?)data[1]!["type"]);
        Assert.Equal(["a", "b"], data[1]!["x"]!.AsArray().Select(v => (string?)v));
        Assert.Equal("Loss", (string?)json["layout"]!["title"]!["text"]);
        Assert.Null(data[0]!["error_y"]); // unset properties are left out, so Plotly uses its defaults
    }

    [Fact]
    public void Log_axes_set_the_layout_axis_type()
    {
        var json = Json(new Figure().Line(new[] { 1, 10, 100 }, [1.0, 2.0, 3.0]).LogX().LogY());

        Assert.Equal("log", (string?)json["layout"]!["xaxis"]!["type"]);
        Assert.Equal("log", (string?)json["layout"]!["yaxis"]!["type"]);
    }

    [Fact]
    public void Error_bars_are_plotly_error_y_of_type_data()
    {
        var json = Json(new Figure().Scatter(new[] { 1, 2 }, [3.0, 4.0], "eval", errorY: [0.1, 0.2]));

        var trace = json["data"]![0]!;
        Assert.Equal("markers", (string?)trace["mode"]);
        Assert.Equal("data", (string?)trace["error_y"]!["type"]);
        Assert.True((bool)trace["error_y"]!["visible"]!);
        Assert.Equal([0.1, 0.2], trace["error_y"]!["array"]!.AsArray().Select(v => (double)v!));
    }

    [Fact]
    public void Subplots_use_numbered_axes_and_a_layout_grid()
    {
        var json = Json(new Figure().Grid(1, 2)
            .Line(new[] { 1, 2 }, [1.0, 2.0], "left")
            .Line(new[] { 1, 2 }, [3.0, 4.0], "right", subplot: 2)
            .LogY(subplot: 2));

        var right = json["data"]![1]!;
        Assert.Equal("x2", (string?)right["xaxis"]);
        Assert.Equal("y2", (string?)right["yaxis"]);
        Assert.Null(json["data"]![0]!["xaxis"]);
        Assert.Equal(2, (int)json["layout"]!["grid"]!["columns"]!);
        Assert.Equal("independent", (string?)json["layout"]!["grid"]!["pattern"]);
        Assert.Equal("log", (string?)json["layout"]!["yaxis2"]!["type"]);
    }

    [Fact]
    public void Heatmap_holds_z_rows_and_a_colorscale()
    {
        var json = Json(new Figure().Heatmap(new[] { new[] { 1.0, 2.0 }, new[] { 3.0, 4.0 } }, new[] { "a", "b" }, new[] { "r1", "r2" }));

        var trace = json["data"]![0]!;
        Assert.Equal("heatmap", (string?)trace["type"]);
        Assert.Equal(4.0, (double)trace["z"]![1]![1]!);
        Assert.Equal("Viridis", (string?)trace["colorscale"]);
    }

    [Fact]
    public void NaN_values_do_not_break_serialization()
    {
        var json = new Figure().Line(new[] { 1, 2 }, [double.NaN, 1.0]).ToJson();
        Assert.Contains("\"NaN\"", json);
    }

    [Fact]
    public void Html_draws_with_plotly_and_falls_back_to_the_cdn()
    {
        var html = new Figure("x</script>").Line(new[] { 1 }, [1.0]).ToHtml();

        Assert.Contains("Plotly.newPlot(", html);
        Assert.Contains("if (window.Plotly)", html);
        Assert.Contains($"https://cdn.plot.ly/plotly-{Figure.PlotlyVersion}.min.js", html);
        Assert.DoesNotContain("x</script>", html); // a label cannot close the script element early
    }
}
