using System.Text.Json.Nodes;

namespace LoraLab.Notebooks.Tests;

/// <summary>Writes small nbformat 4.5 notebooks for the runner tests, one code cell per source string.</summary>
static class TestNotebooks
{
    /// <summary>Writes FOLDER/NAME.ipynb; cell i gets id "c{i+1}". Returns the path.</summary>
    public static string Write(string folder, string name, params string[] codeCells) =>
        Write(folder, name, new JsonObject(), codeCells.Select(source => Code(source)).ToArray());

    public static string Write(string folder, string name, JsonObject notebookMetadata, params JsonObject[] cells)
    {
        for (var i = 0; i < cells.Length; i++) cells[i]["id"] ??= $"c{i + 1}";
        var notebook = new JsonObject
        {
            ["nbformat"] = 4,
            ["nbformat_minor"] = 5,
            ["metadata"] = notebookMetadata,
            ["cells"] = new JsonArray(cells.Select(cell => (JsonNode?)cell).ToArray()),
        };
        var path = Path.Combine(folder, name + ".ipynb");
        File.WriteAllText(path, notebook.ToJsonString());
        return path;
    }

    public static JsonObject Code(string source, JsonObject? metadata = null, params string[] tags)
    {
        metadata ??= new JsonObject();
        if (tags.Length > 0) metadata["tags"] = new JsonArray(tags.Select(tag => (JsonNode?)tag).ToArray());
        return new JsonObject
        {
            ["cell_type"] = "code", ["metadata"] = metadata, ["outputs"] = new JsonArray(), ["execution_count"] = null, ["source"] = source,
        };
    }

    /// <summary>Cell metadata that sets the cell's own timeout (0: no limit).</summary>
    public static JsonObject Timeout(double seconds) => new() { ["loralab"] = new JsonObject { ["timeout"] = seconds } };

    public static JsonObject Load(string path) => JsonNode.Parse(File.ReadAllText(path))!.AsObject();

    public static List<JsonObject> CodeCells(JsonObject notebook) =>
        notebook["cells"]!.AsArray().Select(c => c!.AsObject()).Where(c => (string?)c["cell_type"] == "code").ToList();

    public static string? Status(JsonObject cell) => (string?)cell["metadata"]?["loralab"]?["status"];

    public static string Text(JsonObject cell) =>
        string.Concat(cell["outputs"]!.AsArray().Where(o => (string?)o!["output_type"] == "stream")
            .Select(o => LoraLab.Notebooks.Documents.NotebookCell.JoinMultiline(o!["text"])));

    public static JsonObject? Error(JsonObject cell) =>
        cell["outputs"]!.AsArray().Select(o => o!.AsObject()).FirstOrDefault(o => (string?)o["output_type"] == "error");
}
