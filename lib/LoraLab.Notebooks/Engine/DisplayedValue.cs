namespace LoraLab.Notebooks.Engine;

/// <summary>
/// What display(...) returns: a handle on that one output, so a cell can replace what it shows in place
/// (a training loop's progress line) instead of adding an output per step. In Jupyter the update is an
/// update_display_data message; in the headless runner the output simply ends with its last value.
/// </summary>
public sealed class DisplayedValue
{
    readonly Dictionary<string, string> shown;
    readonly ICellOutputObserver? observer;

    internal DisplayedValue(Dictionary<string, string> shown, ICellOutputObserver? observer)
    {
        this.shown = shown;
        this.observer = observer;
        DisplayId = Guid.NewGuid().ToString("N");
    }

    /// <summary>Jupyter's display_id of the output.</summary>
    public string DisplayId { get; }

    /// <summary>Shows <paramref name="value"/> in place of what this output showed before.</summary>
    public void Update(object? value)
    {
        var bundle = ValueFormatter.Format(value);
        // The collected DisplayOutput shares this dictionary, so the cell's recorded output (the executed notebook, the
        // report) ends with the last value, as Jupyter front ends show it.
        lock (shown)
        {
            shown.Clear();
            foreach (var (mime, text) in bundle) shown[mime] = text;
        }
        observer?.OnUpdateDisplay(new DisplayOutput(bundle), value, DisplayId);
    }

    public override string ToString() => $"display {DisplayId}";
}
