using System.Diagnostics;
using System.Text.Json.Nodes;
using LoraLab.Notebooks.Documents;
using LoraLab.Notebooks.Engine;
using LoraLab.Notebooks.Reports;

namespace LoraLab.Notebooks.Runner;

/// <summary>
/// Runs notebooks headless, like papermill: injects parameters, executes the code cells in order in one
/// <see cref="CSharpKernel"/> per notebook, stops a notebook at its first failing cell, and writes the executed
/// .ipynb, an HTML report per notebook and index.html into the output folder. Progress goes to <paramref name="progress"/>.
/// </summary>
public sealed class NotebookRunner(RunOptions options, TextWriter progress)
{
    const string ExecutedSuffix = ".ipynb";

    /// <summary>Runs the named notebooks (or all under the notebooks folder) and writes index.html.</summary>
    public async Task<IReadOnlyList<NotebookRunResult>> RunAllAsync(CancellationToken cancellationToken = default)
    {
        var paths = options.Notebooks.Count > 0 ? options.Notebooks : FindNotebooks(options.NotebooksFolder);
        if (paths.Count == 0)
            progress.WriteLine($"No notebooks to run: none named and none found under {options.NotebooksFolder}/.");
        var results = new List<NotebookRunResult>();
        foreach (var path in paths) results.Add(await RunAsync(path, cancellationToken));

        Directory.CreateDirectory(options.OutputFolder);
        var entries = results.Select(r => new IndexEntry(r.Name, r.StatusText, r.Elapsed,
            r.ReportPath is null ? null : Path.GetFileName(r.ReportPath), r.Message)).ToList();
        File.WriteAllText(Path.Combine(options.OutputFolder, "index.html"), ReportIndex.Render(entries));
        return results;
    }

    /// <summary>Runs one notebook and writes its executed copy and report. Never throws for a bad notebook file.</summary>
    public async Task<NotebookRunResult> RunAsync(string path, CancellationToken cancellationToken = default)
    {
        var name = Path.GetFileNameWithoutExtension(path);
        var stopwatch = Stopwatch.StartNew();
        progress.WriteLine($"== {path}");
        NotebookDocument notebook;
        try
        {
            notebook = NotebookDocument.Load(path);
            ParameterInjection.Inject(notebook, options.InjectedValues());
        }
        catch (Exception error) when (error is NotebookFormatException or ArgumentException)
        {
            progress.WriteLine($"error: {error.Message}");
            return new NotebookRunResult(name, path, RunStatus.Invalid, stopwatch.Elapsed, Message: error.Message);
        }

        try
        {
            var failure = await ExecuteCellsAsync(notebook, Path.GetDirectoryName(Path.GetFullPath(path))!, cancellationToken);
            var status = failure is null ? RunStatus.Ok : RunStatus.Failed;
            var result = new NotebookRunResult(name, path, status, stopwatch.Elapsed,
                Path.Combine(options.OutputFolder, name + ExecutedSuffix), Path.Combine(options.OutputFolder, name + ".html"), failure);
            WriteResults(notebook, result);
            progress.WriteLine($"{name}: {result.StatusText} in {result.Elapsed.TotalSeconds:0.0}s -> {result.ReportPath}");
            return result;
        }
        catch (Exception error) when (error is not OperationCanceledException)
        {
            // Cell errors are outputs, not exceptions; this is e.g. an unwritable output folder or odd JSON in a cell.
            // Report it for this notebook and let the others run.
            progress.WriteLine($"error: {path}: {error.GetType().Name}: {error.Message}");
            return new NotebookRunResult(name, path, RunStatus.Failed, stopwatch.Elapsed, Message: error.Message);
        }
    }

    /// <summary>Runs the code cells in order; returns a description of the first failure, or null when all succeeded.</summary>
    async Task<string?> ExecuteCellsAsync(NotebookDocument notebook, string notebookFolder, CancellationToken cancellationToken)
    {
        var codeCells = notebook.Cells.Where(cell => cell.IsCode).ToList();
        codeCells.ForEach(NbformatOutputs.Clear); // a fresh run: outputs saved in the source file are not kept
        var kernel = new CSharpKernel(notebookFolder);
        for (var i = 0; i < codeCells.Count; i++)
        {
            var cell = codeCells[i];
            var result = cell.KernelName is null or "csharp"
                ? await kernel.ExecuteCellAsync(CSharpSource(cell), cancellationToken)
                : new CellResult(kernel.ExecutionCount, [new ErrorOutput("UnsupportedKernel",
                    $"This cell is for the '{cell.KernelName}' kernel; lab run executes C# cells only.", [])], TimeSpan.Zero);
            NbformatOutputs.Store(cell, result);

            var label = $"[{i + 1}/{codeCells.Count}] cell";
            if (result.Error is { } error)
            {
                progress.WriteLine($"{label} FAILED {result.Elapsed.TotalSeconds:0.0}s: {error.Name}: {FirstLine(error.Message)}");
                return $"cell {i + 1} of {codeCells.Count} failed: {error.Name}: {FirstLine(error.Message)}";
            }
            progress.WriteLine($"{label} ok {result.Elapsed.TotalSeconds:0.0}s");
        }
        return null;
    }

    void WriteResults(NotebookDocument notebook, NotebookRunResult result)
    {
        notebook.Metadata["loralab"] = new JsonObject
        {
            ["status"] = result.StatusText,
            ["elapsed_seconds"] = Math.Round(result.Elapsed.TotalSeconds, 3),
            ["parameters"] = new JsonObject(options.InjectedValues().Select(p => KeyValuePair.Create(p.Key, (JsonNode?)p.Value))),
            ["executed_at"] = DateTimeOffset.Now.ToString("O"),
        };
        notebook.Save(result.ExecutedNotebookPath!);

        var plotly = options.PlotlyScriptPath ?? PlotlyScript.Find(Path.GetDirectoryName(Path.GetFullPath(result.SourcePath)), options.OutputFolder, Directory.GetCurrentDirectory());
        if (plotly is null) progress.WriteLine($"warning: {PlotlyScript.MissingMessage}");
        var summary = new ReportSummary(result.Name, result.StatusText, result.Elapsed, options.InjectedValues());
        File.WriteAllText(result.ReportPath!, HtmlReport.Render(notebook, summary, plotly));
    }

    // Polyglot Notebooks .dib-style cells may start with a "#!csharp" magic line; it is not C#.
    static string CSharpSource(NotebookCell cell)
    {
        var source = cell.Source;
        return source.StartsWith("#!csharp", StringComparison.Ordinal) || source.StartsWith("#!c#", StringComparison.Ordinal)
            ? source[(source.IndexOf('\n') is var end and >= 0 ? end + 1 : source.Length)..]
            : source;
    }

    static string FirstLine(string text) => text.Split('\n')[0].TrimEnd();

    static IReadOnlyList<string> FindNotebooks(string folder) =>
        Directory.Exists(folder)
            ? Directory.EnumerateFiles(folder, "*.ipynb", SearchOption.AllDirectories)
                .Where(path => !path.Contains(".ipynb_checkpoints", StringComparison.Ordinal))
                .Order(StringComparer.Ordinal).ToList()
            : [];
}
