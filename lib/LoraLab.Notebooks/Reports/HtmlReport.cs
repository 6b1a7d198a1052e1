using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using LoraLab.Notebooks.Documents;

namespace LoraLab.Notebooks.Reports;

/// <summary>What a report's header says about the run, and whether its code starts expanded (lab run --show-code).</summary>
public sealed record ReportSummary(string Title, string Status, TimeSpan Elapsed, IReadOnlyList<KeyValuePair<string, string>> Parameters,
    string? Message = null, bool ShowCode = false, bool RenderOnly = false);

/// <summary>
/// A self-contained HTML page for an executed notebook, written to be read (and printed) as a report: markdown
/// rendered, outputs in order, each code cell's source folded under a line that says it is there ("In [4] · 2.3 s ·
/// show code"), with a toggle for the whole page; the error of a failed cell in place (its code unfolded), cells that
/// did not run greyed out, cells skipped by --skip-tag marked with the reason. Figures are fitted to the page's width,
/// on screen and when printed (<see cref="ReportScript"/>, <see cref="ReportStyle"/>). It reads the outputs from the
/// executed nbformat document, so it does not depend on the engine. Safety rule: every text is HTML-escaped; only
/// outputs whose MIME type is text/html are inserted as HTML. Nothing is loaded from the network but plotly.js when it
/// is not installed.
/// </summary>
public static class HtmlReport
{
    /// <param name="plotlyScriptPath">plotly.min.js to embed once in the head; null when it is not installed.</param>
    public static string Render(NotebookDocument notebook, ReportSummary summary, string? plotlyScriptPath)
    {
        var body = new StringBuilder();
        foreach (var cell in notebook.Cells) RenderCell(cell, body, summary.ShowCode);
        var bodyHtml = body.ToString();
        // Only pages that draw a Plotly figure pay for the ~4.5 MB script.
        var needsPlotly = bodyHtml.Contains("Plotly.newPlot", StringComparison.Ordinal);
        var codeCells = notebook.Cells.Count(cell => cell.IsCode);
        var skipped = notebook.Cells.Count(cell => cell.IsCode && Status(cell) == "skipped");

        var page = new StringBuilder();
        page.Append("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n")
            .Append("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>")
            .Append(Escape(summary.Title)).Append("</title>\n<style>").Append(ReportStyle.Css).Append(ReportStyle.ReportCss).Append("</style>\n");
        if (needsPlotly && plotlyScriptPath is not null)
            page.Append("<script>\n").Append(PlotlyScript.ReadForInlineScript(plotlyScriptPath)).Append("\n</script>\n");
        page.Append("</head>\n<body>\n<header>\n<h1>").Append(Escape(summary.Title)).Append("</h1>\n<p class=\"run\">")
            .Append($"<span class=\"status-{Escape(summary.Status)}\">{Escape(summary.Status.Replace('-', ' '))}</span> in {Escape(Durations.Format(summary.Elapsed))}");
        if (summary.Parameters.Count > 0)
            page.Append(" · parameters: ").Append(Escape(string.Join(", ", summary.Parameters.Select(p => $"{p.Key}={p.Value}"))));
        if (summary.RenderOnly)
            page.Append(" · render-only: drawn from the stored runs, nothing trained");
        if (skipped > 0)
            page.Append(" · ").Append(skipped == 1 ? "1 cell skipped" : $"{skipped} cells skipped").Append(" (--skip-tag)");
        if (codeCells > 0)
            page.Append($"<button type=\"button\" id=\"toggle-code\" class=\"screen-only\" aria-pressed=\"{(summary.ShowCode ? "true" : "false")}\">")
                .Append(summary.ShowCode ? "hide all code" : "show all code").Append("</button>");
        page.Append("</p>\n");
        if (summary.Status == "running")
            page.Append("<p class=\"warning\">This report was written while the notebook was still running; the run may have been stopped since.</p>\n");
        if (summary.Message is not null)
            page.Append($"<p class=\"status-{Escape(summary.Status)}\">").Append(Escape(summary.Message)).Append("</p>\n");
        if (needsPlotly && plotlyScriptPath is null)
            page.Append("<p class=\"warning\">").Append(Escape(PlotlyScript.MissingMessage)).Append("</p>\n");
        page.Append("</header>\n<main>\n").Append(bodyHtml).Append("</main>\n<script id=\"loralab-report-script\">\n").Append(ReportScript.Js)
            .Append("</script>\n</body>\n</html>\n");
        return page.ToString();
    }

    /// <summary>A code cell's metadata.loralab.status: "ok", "error", "timed-out", ..., "skipped"; null when it did not run.</summary>
    static string? Status(NotebookCell cell) => (string?)(cell.Metadata["loralab"] as JsonObject)?["status"];

    static void RenderCell(NotebookCell cell, StringBuilder html, bool showCode)
    {
        if (cell.CellType == "markdown")
        {
            html.Append("<div class=\"cell markdown\">").Append(MarkdownRenderer.ToHtml(cell.Source)).Append("</div>\n");
            return;
        }
        if (!cell.IsCode)
        {
            html.Append("<div class=\"cell raw\"><pre>").Append(Escape(cell.Source)).Append("</pre></div>\n");
            return;
        }

        var run = cell.Metadata["loralab"] as JsonObject;
        var status = Status(cell);
        var cssClass = status switch { null => "not-run", "ok" => "ok", "skipped" => "skipped", _ => "failed" };
        var ending = status switch { null or "ok" => "", "error" => " · failed", _ => $" · {status.Replace('-', ' ')}" };
        var meta = status switch
        {
            null => "not run",
            "skipped" => (string?)run?["skip_reason"] ?? "skipped",
            _ => $"In [{cell.Json["execution_count"]}] · {Durations.FormatSeconds((double?)run?["elapsed_seconds"] ?? 0)}{ending}",
        };
        // The code is folded unless asked for (--show-code) or the cell failed: its error is read against its code.
        var open = showCode || cssClass == "failed";
        html.Append($"<div class=\"cell code {cssClass}\">\n<details class=\"source\"{(open ? " open" : "")}>")
            .Append($"<summary><span class=\"meta\">{Escape(meta)}</span>")
            .Append("<span class=\"toggle\"> · <span class=\"show\">show code</span><span class=\"hide\">hide code</span></span></summary>\n")
            .Append("<pre class=\"source\">").Append(Escape(cell.Source)).Append("</pre>\n</details>\n<div class=\"outputs\">\n");
        foreach (var output in (cell.Json["outputs"] as JsonArray ?? []).OfType<JsonObject>()) RenderOutput(output, html);
        html.Append("</div>\n</div>\n");
    }

    static void RenderOutput(JsonObject output, StringBuilder html)
    {
        switch ((string?)output["output_type"])
        {
            case "stream":
                var name = (string?)output["name"] == "stderr" ? "stderr" : "stdout";
                html.Append($"<pre class=\"stream stream-{name}\">").Append(Escape(NotebookCell.JoinMultiline(output["text"]))).Append("</pre>\n");
                break;
            case "display_data" or "execute_result":
                var data = output["data"] as JsonObject;
                if (data?["text/html"] is { } htmlValue)
                    html.Append("<div class=\"html-output\">").Append(NotebookCell.JoinMultiline(htmlValue)).Append("</div>\n");
                else if (data?["text/plain"] is { } text)
                    html.Append("<pre class=\"result\">").Append(Escape(NotebookCell.JoinMultiline(text))).Append("</pre>\n");
                break;
            case "error":
                var header = $"{output["ename"]}: {output["evalue"]}";
                // Tracebacks start with "Type: message" (Jupyter front ends show only the traceback); the header says it already.
                var lines = (output["traceback"] as JsonArray ?? []).Select(line => (string?)line ?? "").ToList();
                if (lines.Count > 0 && lines[0] == header) lines.RemoveAt(0);
                html.Append("<pre class=\"error\"><strong>").Append(Escape(header)).Append("</strong>")
                    .Append(lines.Count > 0 ? "\n" + Escape(string.Join("\n", lines)) : "").Append("</pre>\n");
                break;
        }
    }

    internal static string Escape(string? text) => WebUtility.HtmlEncode(text ?? "");
}
