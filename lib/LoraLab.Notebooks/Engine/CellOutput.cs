namespace LoraLab.Notebooks.Engine;

/// <summary>
/// One thing a cell produced, in the order it produced it. These mirror Jupyter's output kinds (stream, display_data,
/// execute_result, error) without depending on nbformat, so a Jupyter kernel front end can reuse the engine later.
/// </summary>
public abstract record CellOutput;

/// <summary>Text the cell wrote to standard output ("stdout") or standard error ("stderr").</summary>
public sealed record StreamOutput(string Name, string Text) : CellOutput;

/// <summary>
/// A displayed value as a MIME bundle (e.g. "text/plain" and "text/html"). <see cref="IsResult"/> marks the value of the
/// cell's last expression (Jupyter's execute_result) as opposed to an explicit display(...) call.
/// </summary>
public sealed record DisplayOutput(IReadOnlyDictionary<string, string> Data, bool IsResult = false) : CellOutput;

/// <summary>A compile error or an exception: its type name, message and stack trace lines.</summary>
public sealed record ErrorOutput(string Name, string Message, IReadOnlyList<string> Traceback) : CellOutput;

/// <summary>What running one cell gave: its outputs, its number in the session, and how long it took.</summary>
public sealed record CellResult(int ExecutionCount, IReadOnlyList<CellOutput> Outputs, TimeSpan Elapsed)
{
    public bool Succeeded => !Outputs.OfType<ErrorOutput>().Any();
    public ErrorOutput? Error => Outputs.OfType<ErrorOutput>().FirstOrDefault();
}
