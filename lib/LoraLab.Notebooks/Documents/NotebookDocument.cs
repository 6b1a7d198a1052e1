using System.Text.Json;
using System.Text.Json.Nodes;

namespace LoraLab.Notebooks.Documents;

/// <summary>
/// An nbformat 4 notebook (.ipynb) held as its JSON tree plus a list of <see cref="NotebookCell"/> views.
/// Loading checks the structure the runner relies on and fails with a <see cref="NotebookFormatException"/> naming the
/// file; saving writes the tree back with 1-space indentation, as Jupyter and VS Code do.
/// </summary>
public sealed class NotebookDocument
{
    NotebookDocument(JsonObject json, List<NotebookCell> cells)
    {
        Json = json;
        Cells = cells;
    }

    public JsonObject Json { get; }

    /// <summary>The cells in order; edit this list (e.g. to inject parameters) and <see cref="Save"/> writes it.</summary>
    public List<NotebookCell> Cells { get; }

    public JsonObject Metadata => Json["metadata"] as JsonObject ?? (JsonObject)(Json["metadata"] = new JsonObject());

    public int FormatMinor => (int?)Json["nbformat_minor"] ?? 0;

    public static NotebookDocument Load(string path)
    {
        if (!File.Exists(path)) throw new NotebookFormatException($"{path}: no such notebook file.");
        try
        {
            return Parse(File.ReadAllText(path), path);
        }
        catch (JsonException error)
        {
            throw new NotebookFormatException($"{path}: not valid JSON ({error.Message}).", error);
        }
        catch (InvalidOperationException error) // a JSON value of the wrong kind, e.g. "nbformat": "4"
        {
            throw new NotebookFormatException($"{path}: not an nbformat 4 notebook ({error.Message}).", error);
        }
    }

    public static NotebookDocument Parse(string text, string name = "notebook")
    {
        if (JsonNode.Parse(text) is not JsonObject json) throw new NotebookFormatException($"{name}: the top level is not a JSON object.");
        if (json["nbformat"] is not JsonValue version || !version.TryGetValue<int>(out var major) || major != 4)
            throw new NotebookFormatException($"{name}: not an nbformat 4 notebook (\"nbformat\": {json["nbformat"]?.ToJsonString() ?? "missing"}).");
        if (json["cells"] is not JsonArray cells) throw new NotebookFormatException($"{name}: \"cells\" is missing or not a list.");
        var views = new List<NotebookCell>();
        for (var i = 0; i < cells.Count; i++) views.Add(CheckedCell(cells[i], $"{name}: cell {i + 1}"));
        return new NotebookDocument(json, views);
    }

    static readonly string[] CellTypes = ["code", "markdown", "raw"];

    // The fields nbformat 4 requires of every cell and that the runner reads: a known cell_type and a source.
    static NotebookCell CheckedCell(JsonNode? node, string where)
    {
        if (node is not JsonObject cell || cell["cell_type"] is not JsonValue type || !type.TryGetValue<string>(out var cellType))
            throw new NotebookFormatException($"{where} is not an object with a cell_type.");
        if (cell["id"] is JsonValue id && id.TryGetValue<string>(out var idText)) where += $" (id \"{idText}\")";
        if (!CellTypes.Contains(cellType))
            throw new NotebookFormatException($"{where}: unknown cell_type \"{cellType}\" (nbformat 4 knows code, markdown and raw).");
        var source = cell["source"];
        if (source is null)
            throw new NotebookFormatException($"{where}: this {cellType} cell has no \"source\", which nbformat 4 requires (use \"\" for an empty cell).");
        var isText = source is JsonValue value && value.TryGetValue<string>(out _);
        var isLines = source is JsonArray lines && lines.All(line => line is JsonValue item && item.TryGetValue<string>(out _));
        if (!isText && !isLines)
            throw new NotebookFormatException($"{where}: \"source\" must be a string or a list of strings, not {source.ToJsonString()}.");
        return new NotebookCell(cell);
    }

    public void Save(string path)
    {
        // Write the (possibly edited) cell list back into the tree. A JSON node has one parent, so the old list lets go
        // of its cells first.
        if (Json["cells"] is JsonArray previous) previous.Clear();
        Json["cells"] = new JsonArray(Cells.Select(cell => (JsonNode?)cell.Json).ToArray());
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        AtomicFile.WriteAllText(path, ToJson());
    }

    public string ToJson()
    {
        var text = Json.ToJsonString(new JsonSerializerOptions { WriteIndented = true, IndentSize = 1, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping });
        return text + "\n";
    }
}
