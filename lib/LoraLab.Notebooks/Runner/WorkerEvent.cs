using System.Text.Json;
using System.Text.Json.Serialization;

namespace LoraLab.Notebooks.Runner;

/// <summary>
/// What the worker process tells the runner, one JSON line each on its standard output, marked so that other text on
/// that stream (a native library's message) passes through as text. Kinds: "warning" (Text), "cell-started" (Number,
/// Count, Id, ExecutionCount, TimeoutSeconds), "output" (Name, Text: console text of the running cell, as written),
/// "cell-finished" (Number, Count, Status, Seconds, Text: the error), "cell-skipped" (Number, Count, Id, Name: the tag, Text:
/// why; a cell tagged with a --skip-tag, not run), "finished" (Status, Text: the message).
/// </summary>
public sealed record WorkerEvent(
    string Kind,
    int Number = 0,
    int Count = 0,
    string? Id = null,
    int ExecutionCount = 0,
    double? TimeoutSeconds = null,
    string? Name = null,
    string? Text = null,
    string? Status = null,
    double Seconds = 0)
{
    const string Marker = "\u001eloralab-worker ";

    static readonly JsonSerializerOptions Json = new()
    {
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingDefault,
        Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    public string ToLine() => Marker + JsonSerializer.Serialize(this, Json);

    /// <summary>The event on a line the worker wrote, or null for other text.</summary>
    public static WorkerEvent? FromLine(string line)
    {
        if (!line.StartsWith(Marker, StringComparison.Ordinal)) return null;
        try { return JsonSerializer.Deserialize<WorkerEvent>(line.AsSpan(Marker.Length), Json); }
        catch (JsonException) { return null; }
    }
}
