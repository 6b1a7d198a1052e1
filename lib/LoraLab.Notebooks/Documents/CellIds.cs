using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace LoraLab.Notebooks.Documents;

/// <summary>
/// nbformat 4.5 requires every cell to have an <c>id</c> (1 to 64 letters, digits, '-' or '_', unique in the notebook).
/// The runner keeps the ids a notebook has and gives each cell without a usable one the id <c>cell-N</c> (N its
/// position, counting from 1), which is the same on every run of the same notebook. The document is then marked 4.5,
/// since older minor versions do not allow the field.
/// </summary>
public static partial class CellIds
{
    [GeneratedRegex("^[a-zA-Z0-9_-]{1,64}$")]
    private static partial Regex ValidId();

    /// <summary>Gives every cell a valid, unique id; returns a warning for each id that had to be replaced.</summary>
    public static IReadOnlyList<string> Ensure(NotebookDocument notebook, string name)
    {
        var warnings = new List<string>();
        var taken = new HashSet<string>(StringComparer.Ordinal);
        var missing = new List<int>();
        for (var i = 0; i < notebook.Cells.Count; i++)
        {
            var json = notebook.Cells[i].Json;
            var id = json["id"] is JsonValue value && value.TryGetValue<string>(out var text) ? text : null;
            if (id is not null && ValidId().IsMatch(id) && taken.Add(id)) continue;
            if (id is not null)
                warnings.Add($"{name}: cell {i + 1} has id \"{id}\", which is {(ValidId().IsMatch(id) ? "used by an earlier cell" : "not a valid nbformat id")}; the executed copy gives it a new one.");
            missing.Add(i);
        }
        foreach (var i in missing)
        {
            var id = $"cell-{i + 1}";
            for (var suffix = 2; !taken.Add(id); suffix++) id = $"cell-{i + 1}-{suffix}";
            notebook.Cells[i].Json["id"] = id;
        }
        if (notebook.FormatMinor < 5) notebook.Json["nbformat_minor"] = 5;
        return warnings;
    }

    /// <summary>An id for a cell the runner adds, unique among the notebook's ids.</summary>
    public static string NewUnique(NotebookDocument notebook, string wanted)
    {
        var taken = notebook.Cells.Select(cell => (string?)cell.Json["id"]).OfType<string>().ToHashSet(StringComparer.Ordinal);
        var id = wanted;
        for (var suffix = 2; taken.Contains(id); suffix++) id = $"{wanted}-{suffix}";
        return id;
    }
}
