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
        if (cell.Metadata["loralab"] is JsonObject run) // an executed copy run again: drop the old run's status, keep settings
        {
            run.Remove("status");
            run.Remove("elapsed_seconds");
            run.Remove("skip_reason");
            if (run.Count == 0) cell.Metadata.Remove("loralab");
        }
    }

    /// <summary>
    /// Marks a code cell that was not run on purpose (`lab run --skip-tag`): no outputs, no execution count, and in
    /// metadata.loralab the status "skipped" and why.
    /// </summary>
    public static void MarkSkipped(NotebookCell cell, string reason)
    {
        Clear(cell);
        var run = cell.Metadata["loralab"] as JsonObject ?? (JsonObject)(cell.Metadata["loralab"] = new JsonObject());
        run["status"] = "skipped";
        run["skip_reason"] = reason;
    }

    /// <summary>Stores a cell's result: its outputs, execution count, and (in metadata.loralab) status and wall time.</summary>
    public static void Store(NotebookCell cell, CellResult result) =>
        Store(cell, result, result.Succeeded ? "ok" : "error");

    /// <summary>Stores outputs with an explicit status: "ok", "error", or how a run ended mid-cell ("timed-out", "exited", "interrupted").</summary>
    public static void Store(NotebookCell cell, CellResult result, string status)
    {
        cell.Json["execution_count"] = result.ExecutionCount;
        cell.Json["outputs"] = new JsonArray(result.Outputs.Select(output => (JsonNode?)ToJson(output, result.ExecutionCount)).ToArray());
        // metadata.loralab may hold settings (timeout): add to it rather than replace it.
        var run = cell.Metadata["loralab"] as JsonObject ?? (JsonObject)(cell.Metadata["loralab"] = new JsonObject());
        run["status"] = status;
        run["elapsed_seconds"] = Math.Round(result.Elapsed.TotalSeconds, 3);
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
