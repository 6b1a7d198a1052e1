using System.Reflection;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace LoraLab.Kernel;

/// <summary>
/// Turns the engine's MIME bundles into Jupyter "data" objects. Two things differ from the headless runner:
/// values with a public <c>string ToPlotlyJson()</c> (LoraLab.Display's Figure) also carry
/// application/vnd.plotly.v1+json, which VS Code and JupyterLab draw natively (the bundle's text/html stays as the
/// fallback for front ends that cannot); and JSON MIME types are sent as JSON, not as strings.
/// </summary>
static class MimeBundles
{
    public const string Plotly = "application/vnd.plotly.v1+json";

    public static JsonObject ToJupyter(IReadOnlyDictionary<string, string> bundle, object? value)
    {
        var data = new JsonObject();
        foreach (var (mime, text) in bundle) data[mime] = IsJson(mime) ? ParseOrText(text) : text;
        if (PlotlyJsonOf(value) is { } plotly) data[Plotly] = plotly;
        return data;
    }

    static bool IsJson(string mime) => mime == "application/json" || mime.EndsWith("+json", StringComparison.Ordinal);

    static JsonNode? ParseOrText(string text)
    {
        try { return JsonNode.Parse(text); }
        catch (JsonException) { return text; }
    }

    // By convention rather than by type, so the kernel needs no reference to a display library.
    static JsonNode? PlotlyJsonOf(object? value)
    {
        var method = value?.GetType().GetMethod("ToPlotlyJson", BindingFlags.Public | BindingFlags.Instance, Type.EmptyTypes);
        if (method?.ReturnType != typeof(string)) return null;
        try
        {
            return method.Invoke(value, null) is string json ? JsonNode.Parse(json) : null;
        }
        catch (Exception error) when (error is TargetInvocationException or JsonException)
        {
            return null; // the HTML form still shows the figure
        }
    }
}
