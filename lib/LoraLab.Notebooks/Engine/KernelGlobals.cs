namespace LoraLab.Notebooks.Engine;

/// <summary>
/// The globals object of the scripting session: its public members are visible to every cell unqualified, which is how
/// cells call display(...) and HTML(...) with the same names and meaning as in dotnet-interactive.
/// Lower-case names on purpose: they must match what notebooks written for VS Code call.
/// </summary>
public sealed class KernelGlobals
{
    internal OutputCollector? CurrentCell { get; set; }

    /// <summary>Who sees outputs live (the Jupyter kernel); null in the headless runner.</summary>
    internal ICellOutputObserver? Observer { get; set; }

    /// <summary>
    /// Shows a value below the cell (as HTML when it has an HTML form), like dotnet-interactive's display.
    /// Returns a handle whose Update(...) replaces what this output shows, e.g. a progress line.
    /// </summary>
    public DisplayedValue display(object? value)
    {
        var cell = CurrentCell ?? throw new InvalidOperationException("display() was called outside a running cell.");
        var bundle = new Dictionary<string, string>(ValueFormatter.Format(value));
        var handle = new DisplayedValue(bundle, Observer);
        var output = new DisplayOutput(bundle);
        cell.Add(output);
        Observer?.OnDisplay(output, value, handle.DisplayId);
        return handle;
    }

    /// <summary>Marks a string as HTML; displaying the result renders it instead of showing the markup.</summary>
    public HtmlContent HTML(string html) => new(html);
}
