using System.Text.Json.Nodes;
using LoraLab.Notebooks.Documents;
using LoraLab.Notebooks.Reports;

namespace LoraLab.Notebooks.Runner;

/// <summary>
/// The two files a notebook's run leaves in the output folder, NAME.ipynb (executed) and NAME.html (report). They are
/// rewritten after every cell, each in one rename, so a run that is killed leaves the state after its last finished cell.
/// </summary>
public sealed class ResultFiles(RunOptions options, string sourcePath)
{
    public string Name { get; } = Path.GetFileNameWithoutExtension(sourcePath);
    public string ExecutedPath => Path.Combine(options.OutputFolder, Name + ".ipynb");
    public string ReportPath => Path.Combine(options.OutputFolder, Name + ".html");

    /// <summary>plotly.min.js for the report, or null when it is not installed.</summary>
    public string? PlotlyPath { get; } = options.PlotlyScriptPath ?? PlotlyScript.Find(
        Path.GetDirectoryName(Path.GetFullPath(sourcePath)), options.OutputFolder, Directory.GetCurrentDirectory());

    /// <summary>Records the run's status in the notebook's metadata.loralab and writes both files.</summary>
    /// <param name="status">A <see cref="NotebookRunResult.StatusName"/>, or "running" for a run still under way.</param>
    public void Write(NotebookDocument notebook, string status, TimeSpan elapsed, string? message = null)
    {
        var run = notebook.Metadata["loralab"] as JsonObject ?? (JsonObject)(notebook.Metadata["loralab"] = new JsonObject());
        run["status"] = status;
        run["elapsed_seconds"] = Math.Round(elapsed.TotalSeconds, 3);
        run["parameters"] = new JsonObject(options.InjectedValues().Select(p => KeyValuePair.Create(p.Key, (JsonNode?)p.Value)));
        run["executed_at"] = DateTimeOffset.Now.ToString("O");
        if (options.RenderOnly) run["render_only"] = true;
        else run.Remove("render_only");
        if (message is null) run.Remove("message");
        else run["message"] = message;
        notebook.Save(ExecutedPath);

        var summary = new ReportSummary(Name, status, elapsed, options.InjectedValues(), message, options.ShowCode, options.RenderOnly);
        AtomicFile.WriteAllText(ReportPath, HtmlReport.Render(notebook, summary, PlotlyPath));
    }
}
