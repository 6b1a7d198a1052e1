using LoraLab.Notebooks.Documents;
using LoraLab.Notebooks.Reports;

namespace LoraLab.Notebooks.Runner;

/// <summary>
/// Runs notebooks headless, like papermill. First it checks everything it can before any cell runs (the output folder,
/// every notebook's structure, every --param value against its declared type); then it runs each notebook in its own
/// worker process (<see cref="WorkerProcess"/>), one after another, and writes index.html. Ctrl-C or SIGTERM (the
/// <c>interrupt</c> token) stops the running notebook, keeps what it did, and skips the rest.
/// </summary>
public sealed class NotebookRunner(RunOptions options, TextWriter progress)
{
    readonly TextWriter progress = TextWriter.Synchronized(progress); // the worker's output arrives on other threads

    /// <summary>Runs the named notebooks (or all under the notebooks folder) and writes index.html.</summary>
    /// <exception cref="ArgumentException">Bad arguments (output folder, --param values); nothing ran.</exception>
    public async Task<IReadOnlyList<NotebookRunResult>> RunAllAsync(CancellationToken interrupt = default)
    {
        var paths = options.Notebooks.Count > 0 ? options.Notebooks : FindNotebooks(options.NotebooksFolder);
        if (paths.Count == 0)
            progress.WriteLine($"No notebooks to run: none named and none found under {options.NotebooksFolder}/.");
        OutputFolder.Check(options.OutputFolder, paths);
        var prepared = Prepare(paths);

        var results = new List<NotebookRunResult>();
        foreach (var (path, notebook, invalid) in prepared)
        {
            if (invalid is not null) results.Add(invalid);
            else if (interrupt.IsCancellationRequested) results.Add(new NotebookRunResult(notebook!.Name, path, RunStatus.NotRun, TimeSpan.Zero, Message: "not run: the run was interrupted"));
            else
            {
                progress.WriteLine($"== {path}");
                results.Add(await new WorkerProcess(options, progress).RunAsync(notebook!, interrupt));
            }
        }

        var entries = results.Select(r => new IndexEntry(r.Name, r.StatusText, r.Elapsed,
            r.ReportPath is null ? null : Path.GetFileName(r.ReportPath), r.Message ?? options.SkippedNote(r.SkippedCells),
            NotebookSummary.Read(r.ExecutedNotebookPath))).ToList();
        AtomicFile.WriteAllText(Path.Combine(options.OutputFolder, "index.html"), ReportIndex.Render(entries));
        return results;
    }

    /// <summary>
    /// Loads every notebook. A file that is not a notebook is that notebook's "invalid" result (the others still run);
    /// a --param that does not fit a notebook is a bad argument for the whole command, reported before anything runs.
    /// </summary>
    List<(string Path, PreparedNotebook? Notebook, NotebookRunResult? Invalid)> Prepare(IReadOnlyList<string> paths)
    {
        var prepared = new List<(string, PreparedNotebook?, NotebookRunResult?)>();
        var parameterErrors = new List<string>();
        foreach (var path in paths)
        {
            try
            {
                var notebook = PreparedNotebook.Load(path, options);
                foreach (var warning in notebook.Warnings) progress.WriteLine($"warning: {warning}");
                prepared.Add((path, notebook, null));
            }
            catch (NotebookFormatException error)
            {
                progress.WriteLine($"error: {error.Message}");
                prepared.Add((path, null, new NotebookRunResult(Path.GetFileNameWithoutExtension(path), path, RunStatus.Invalid, TimeSpan.Zero, Message: error.Message)));
            }
            catch (ParameterException error)
            {
                parameterErrors.Add($"{Path.GetFileName(path)}: {error.Message}");
            }
        }
        if (parameterErrors.Count > 0) throw new ArgumentException(string.Join("\n", parameterErrors));
        return prepared;
    }

    static IReadOnlyList<string> FindNotebooks(string folder) =>
        Directory.Exists(folder)
            ? Directory.EnumerateFiles(folder, "*.ipynb", SearchOption.AllDirectories)
                .Where(path => !path.Contains(".ipynb_checkpoints", StringComparison.Ordinal))
                .Order(StringComparer.Ordinal).ToList()
            : [];
}
