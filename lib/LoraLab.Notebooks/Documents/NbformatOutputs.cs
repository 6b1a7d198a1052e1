using System.Text.Json.Nodes;
using LoraLab.Notebooks.Engine;

namespace LoraLab.Notebooks.Documents;

/// <summary>Writes the engine's <see cref="CellOutput"/>s into code cells as nbformat 4 output objects.</summary>
public static class NbformatOutputs
{
    /// <summary>Empties a code cell's outputs and execution count, as before a fresh run.</summary>
    public static void Clear(NotebookCell cell)
    {
        cell.Json["outputs"] = new JsonArray();
        cell.Json["execution_count"] = null;
    }

    /// <summary>Stores a cell's result: its outputs, execution count, and (in metadata.loralab) status and wall time.</summary>
    public static void Store(NotebookCell cell, CellResult result)
    {
        cell.Json["execution_count"] = result.ExecutionCount;
        cell.Json["outputs"] = new JsonArray(result.Outputs.Select(output => (JsonNode?)ToJson(output, result.ExecutionCount)).ToArray());
        cell.Metadata["loralab"] = new JsonObject
        {
            ["status"] = result.Succeeded ? "ok" : "error",
            ["elapsed_seconds"] = Math.Round(result.Elapsed.TotalSeconds, 3),
        };
    }

    public static JsonObject ToJson(CellOutput output, int executionCount) => output switch
    {
        StreamOutput stream => new JsonObject
        {
            ["output_type"] = "stream",
            ["name"] = stream.Name,
            ["text"] = NotebookCell.ToMultiline(stream.Text),
        },
        DisplayOutput { IsResult: true } result => new JsonObject
        {
            ["output_type"] = "execute_result",
            ["execution_count"] = executionCount,
            ["data"] = MimeBundle(result.Data),
            ["metadata"] = new JsonObject(),
        },
        DisplayOutput display => new JsonObject
        {
            ["output_type"] = "display_data",
            ["data"] = MimeBundle(display.Data),
            ["metadata"] = new JsonObject(),
        },
        ErrorOutput error => new JsonObject
        {
            ["output_type"] = "error",
            ["ename"] = error.Name,
            ["evalue"] = error.Message,
            ["traceback"] = new JsonArray(error.Traceback.Select(line => (JsonNode?)line).ToArray()),
        },
        _ => throw new ArgumentException($"Unknown output kind {output.GetType().Name}."),
    };

    static JsonObject MimeBundle(IReadOnlyDictionary<string, string> data) =>
        new(data.Select(pair => KeyValuePair.Create(pair.Key, (JsonNode?)NotebookCell.ToMultiline(pair.Value))));
}
