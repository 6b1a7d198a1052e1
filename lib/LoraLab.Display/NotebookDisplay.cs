using System.Reflection;

// Tells notebook runners which class formats this library's values (see NotebookDisplay). The runner looks this
// metadata up by key, so it needs no reference to LoraLab.Display, and this library needs none to the runner.
[assembly: AssemblyMetadata("NotebookDisplayFormatter", "LoraLab.Display.NotebookDisplay")]

namespace LoraLab.Display;

/// <summary>
/// How values display in notebooks: figures and tables as HTML, sequences of records as tables.
/// The headless runner (lab run) finds this class through the assembly's "NotebookDisplayFormatter" metadata and calls
/// <see cref="ToHtml"/> and <see cref="ToText"/> by reflection; they return null for values they do not handle.
/// </summary>
public static class NotebookDisplay
{
    public static string? ToHtml(object value) => value switch
    {
        Figure figure => figure.ToHtml(),
        Table table => table.ToHtml(),
        _ when Table.CanTabulate(value) => Table.From((System.Collections.IEnumerable)value).ToHtml(),
        _ => null,
    };

    public static string? ToText(object value) => value switch
    {
        Figure or Table => value.ToString(),
        _ when Table.CanTabulate(value) => Table.From((System.Collections.IEnumerable)value).ToString(),
        _ => null,
    };
}
