namespace LoraLab.Notebooks.Engine;

/// <summary>
/// Sees a running cell's outputs the moment they happen, rather than in the <see cref="CellResult"/> at the end:
/// what an interactive front end (the Jupyter kernel) needs to show a training loop's progress while it runs.
/// Calls come from whatever thread the cell writes on, so implementations must be thread-safe.
/// </summary>
public interface ICellOutputObserver
{
    /// <summary>Text written to Console.Out ("stdout") or Console.Error ("stderr").</summary>
    void OnStream(string name, string text);

    /// <summary>
    /// A display(...) call or, when <see cref="DisplayOutput.IsResult"/> is set, the cell's trailing expression.
    /// <paramref name="value"/> is the displayed object itself, for front ends that render more formats than the bundle
    /// has; <paramref name="displayId"/> names the output for later updates (null for results).
    /// </summary>
    void OnDisplay(DisplayOutput output, object? value, string? displayId);

    /// <summary>An earlier display(...) whose id is <paramref name="displayId"/> now shows <paramref name="output"/>.</summary>
    void OnUpdateDisplay(DisplayOutput output, object? value, string displayId);
}

/// <summary>A TextWriter that passes each write on to the cell's collector and to an observer.</summary>
sealed class ObservedWriter(TextWriter inner, string name, ICellOutputObserver observer) : TextWriter
{
    public override System.Text.Encoding Encoding => inner.Encoding;

    public static TextWriter Wrap(TextWriter inner, string name, ICellOutputObserver? observer) =>
        observer is null ? inner : new ObservedWriter(inner, name, observer);

    public override void Write(char value) => Write(value.ToString());
    public override void Write(char[] buffer, int index, int count) => Write(new string(buffer, index, count));

    public override void Write(string? value)
    {
        if (string.IsNullOrEmpty(value)) return;
        inner.Write(value);
        observer.OnStream(name, value);
    }
}
