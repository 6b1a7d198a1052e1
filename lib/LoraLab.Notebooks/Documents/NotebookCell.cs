using System.Text.Json.Nodes;

namespace LoraLab.Notebooks.Documents;

/// <summary>
/// One cell of an nbformat 4 notebook, a thin view over its JSON object so that fields this code does not know about
/// (attachments, ids, editor metadata) are kept as they are when the notebook is written back.
/// </summary>
public sealed class NotebookCell
{
    internal NotebookCell(JsonObject json) => Json = json;

    public JsonObject Json { get; }

    /// <summary>"code", "markdown" or "raw".</summary>
    public string CellType => (string?)Json["cell_type"] ?? "";

    public bool IsCode => CellType == "code";

    /// <summary>The cell text; nbformat stores it as a string or as a list of lines, and this joins them.</summary>
    public string Source => JoinMultiline(Json["source"]);

    public JsonObject Metadata => Json["metadata"] as JsonObject ?? (JsonObject)(Json["metadata"] = new JsonObject());

    /// <summary>Cell tags (metadata.tags), e.g. "parameters".</summary>
    public IReadOnlyList<string> Tags =>
        (Metadata["tags"] as JsonArray)?.Select(tag => (string?)tag ?? "").ToList() ?? [];

    public bool HasTag(string tag) => Tags.Contains(tag);

    /// <summary>
    /// The kernel a code cell is written for, from the metadata Polyglot Notebooks writes
    /// (polyglot_notebook.kernelName, or the older dotnet_interactive.language); null when the cell does not say.
    /// </summary>
    public string? KernelName =>
        (string?)Metadata["polyglot_notebook"]?["kernelName"] ?? (string?)Metadata["dotnet_interactive"]?["language"];

    /// <summary>A new C# code cell. The notebook's kernel (loralab-csharp) runs it; no per-cell kernel metadata is needed.</summary>
    public static NotebookCell NewCSharpCode(string source, params string[] tags)
    {
        var metadata = new JsonObject();
        if (tags.Length > 0) metadata["tags"] = new JsonArray(tags.Select(tag => (JsonNode?)tag).ToArray());
        return new NotebookCell(new JsonObject
        {
            ["cell_type"] = "code",
            ["execution_count"] = null,
            ["metadata"] = metadata,
            ["outputs"] = new JsonArray(),
            ["source"] = ToMultiline(source),
        });
    }

    public static string JoinMultiline(JsonNode? node) => node switch
    {
        JsonArray lines => string.Concat(lines.Select(line => (string?)line)),
        JsonValue value => (string?)value ?? "",
        _ => "",
    };

    /// <summary>nbformat's multiline string as Jupyter writes it: a list of lines, each but the last ending in "\n".</summary>
    public static JsonArray ToMultiline(string text)
    {
        var lines = new JsonArray();
        var start = 0;
        while (start < text.Length)
        {
            var end = text.IndexOf('\n', start);
            var next = end < 0 ? text.Length : end + 1;
            lines.Add(text[start..next]);
            start = next;
        }
        return lines;
    }
}
