using System.Globalization;
using System.Text.Json.Nodes;
using LoraLab.Notebooks.Documents;

namespace LoraLab.Notebooks.Runner;

/// <summary>
/// A notebook made ready to run: loaded and checked, every cell with an id, parameters injected, old outputs cleared.
/// The runner and its worker process prepare the same file the same way, so cell ids and positions agree between them.
/// </summary>
public sealed class PreparedNotebook
{
    PreparedNotebook(string path, NotebookDocument document, IReadOnlyList<string> warnings, TimeSpan? notebookTimeout)
    {
        SourcePath = path;
        Document = document;
        Warnings = warnings;
        NotebookTimeout = notebookTimeout;
    }

    public string SourcePath { get; }
    public string Name => Path.GetFileNameWithoutExtension(SourcePath);
    public string Folder => Path.GetDirectoryName(Path.GetFullPath(SourcePath))!;
    public NotebookDocument Document { get; }
    public IReadOnlyList<string> Warnings { get; }

    /// <summary>metadata.loralab.timeout of the notebook (seconds per cell), if it sets one.</summary>
    public TimeSpan? NotebookTimeout { get; }

    public IReadOnlyList<NotebookCell> CodeCells => Document.Cells.Where(cell => cell.IsCode).ToList();

    /// <summary>
    /// Loads and prepares a notebook. Throws <see cref="NotebookFormatException"/> for a file that is not a usable notebook
    /// and <see cref="ParameterException"/> for a value that cannot be injected.
    /// </summary>
    public static PreparedNotebook Load(string path, RunOptions options)
    {
        var document = NotebookDocument.Load(path);
        var name = Path.GetFileName(path);
        var warnings = new List<string>(CellIds.Ensure(document, name));
        warnings.AddRange(ParameterInjection.Inject(document, options.InjectedValues(), name));
        TryTimeoutSetting(document.Metadata, $"{name}: metadata.loralab.timeout", out var notebookTimeout);
        foreach (var (cell, i) in document.Cells.Select((cell, i) => (cell, i)))
        {
            if (cell.IsCode) NbformatOutputs.Clear(cell); // a fresh run: outputs saved in the source file are not kept
            TryTimeoutSetting(cell.Metadata, $"{name}: cell {i + 1} (id \"{cell.Json["id"]}\"): metadata.loralab.timeout", out _); // checked now, not mid-run
        }
        return new PreparedNotebook(path, document, warnings, notebookTimeout);
    }

    /// <summary>
    /// How long a cell may run: its own metadata.loralab.timeout, else --timeout, else the notebook's
    /// metadata.loralab.timeout; null for no limit.
    /// </summary>
    public TimeSpan? TimeoutFor(NotebookCell cell, TimeSpan? commandLineTimeout) =>
        TryTimeoutSetting(cell.Metadata, "cell", out var own) ? own : commandLineTimeout ?? NotebookTimeout;

    // metadata.loralab.timeout: seconds, a number >= 0, where 0 means no limit. False when the metadata does not set one.
    static bool TryTimeoutSetting(JsonObject metadata, string where, out TimeSpan? timeout)
    {
        timeout = null;
        var node = metadata["loralab"] is JsonObject loralab ? loralab["timeout"] : null;
        if (node is null) return false;
        if (node is not JsonValue value || !value.TryGetValue<double>(out var seconds) || !double.IsFinite(seconds) || seconds < 0)
            throw new NotebookFormatException($"{where} must be a number of seconds (0 for no limit), not {node.ToJsonString()}.");
        timeout = seconds == 0 ? null : TimeSpan.FromSeconds(seconds);
        return true;
    }

    public static string Seconds(TimeSpan time) => time.TotalSeconds.ToString("0.###", CultureInfo.InvariantCulture);
}
