using System.Text.Json.Nodes;
using LoraLab.Notebooks.Documents;

namespace LoraLab.Notebooks.Reports;

/// <summary>
/// A notebook's one-line summary for the index page: the first line its cell tagged <see cref="Tag"/> wrote to standard
/// output in the executed notebook (a research notebook prints its verdict count there, "7 claims: 3 agree, ..."). The
/// runner knows nothing of what the line says; a notebook without such a cell, or whose cell printed nothing, has none.
/// </summary>
public static class NotebookSummary
{
    public const string Tag = "summary";

    /// <summary>The summary of the executed notebook at <paramref name="path"/>; null when it has none or cannot be read
    /// (the index is written whatever happened to a notebook, so a missing or broken file is not an error here).</summary>
    public static string? Read(string? path)
    {
        if (path is null || !File.Exists(path)) return null;
        try { return Of(NotebookDocument.Load(path)); }
        catch (Exception error) when (error is NotebookFormatException or IOException or UnauthorizedAccessException) { return null; }
    }

    public static string? Of(NotebookDocument notebook)
    {
        var cell = notebook.Cells.FirstOrDefault(c => c.IsCode && c.HasTag(Tag));
        if (cell?.Json["outputs"] is not JsonArray outputs) return null;
        var stdout = string.Concat(outputs.OfType<JsonObject>()
            .Where(o => (string?)o["output_type"] == "stream" && (string?)o["name"] == "stdout")
            .Select(o => NotebookCell.JoinMultiline(o["text"])));
        return stdout.Split('\n').Select(line => line.Trim()).FirstOrDefault(line => line.Length > 0);
    }
}
