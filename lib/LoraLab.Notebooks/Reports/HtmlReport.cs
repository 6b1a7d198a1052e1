using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using LoraLab.Notebooks.Documents;

namespace LoraLab.Notebooks.Reports;

/// <summary>What a report's header says about the run.</summary>
public sealed record ReportSummary(string Title, string Status, TimeSpan Elapsed, IReadOnlyList<KeyValuePair<string, string>> Parameters,
    string? Message = null);

/// <summary>
/// A self-contained HTML page for an executed notebook: markdown rendered, code and its outputs in order, the error of a
/// failed cell in place, cells that did not run greyed out. It reads the outputs from the executed nbformat document,
/// so it does not depend on the engine. Safety rule: every text is HTML-escaped; only outputs whose MIME type is
/// text/html are inserted as HTML.
/// </summary>
public static class HtmlReport
{
    /// <param name="plotlyScriptPath">plotly.min.js to embed once in the head; null when it is not installed.</param>
    public static string Render(NotebookDocument notebook, ReportSummary summary, string? plotlyScriptPath)
    {
        var body = new StringBuilder();
        foreach (var cell in notebook.Cells) RenderCell(cell, body);
        var bodyHtml = body.ToString();
        // Only pages that draw a Plotly figure pay for the ~4.5 MB script.
        var needsPlotly = bodyHtml.Contains("Plotly.newPlot", StringComparison.Ordinal);

        var page = new StringBuilder();
        page.Append("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>")
            .Append(Escape(summary.Title)).Append("</title>\n<style>").Append(ReportStyle.Css).Append("</style>\n");
        if (needsPlotly && plotlyScriptPath is not null)
            page.Append("<script>\n").Append(PlotlyScript.ReadForInlineScript(plotlyScriptPath)).Append("\n</script>\n");
        page.Append("</head>\n<body>\n<header>\n<h1>").Append(Escape(summary.Title)).Append("</h1>\n<p>")
            .Append($"<span class=\"status-{Escape(summary.Status)}\">{Escape(summary.Status.Replace('-', ' '))}</span> in {summary.Elapsed.TotalSeconds:0.0} s");
        if (summary.Parameters.Count > 0)
            page.Append(" · parameters: ").Append(Escape(string.Join(", ", summary.Parameters.Select(p => $"{p.Key}={p.Value}"))));
        page.Append("</p>\n");
        if (summary.Status == "running")
            page.Append("<p class=\"warning\">This report was written while the notebook was still running; the run may have been stopped since.</p>\n");
        if (summary.Message is not null)
            page.Append($"<p class=\"status-{Escape(summary.Status)}\">").Append(Escape(summary.Message)).Append("</p>\n");
        if (needsPlotly && plotlyScriptPath is null)
            page.Append("<p class=\"warning\">").Append(Escape(PlotlyScript.MissingMessage)).Append("</p>\n");
        page.Append("</header>\n<main>\n").Append(bodyHtml).Append("</main>\n</body>\n</html>\n");
        return page.ToString();
    }

    static void RenderCell(NotebookCell cell, StringBuilder html)
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
        var status = (string?)run?["status"];
        var cssClass = status switch { null => "not-run", "ok" => "ok", _ => "failed" };
        var ending = status switch { null or "ok" => "", "error" => " · failed", _ => $" · {status.Replace('-', ' ')}" };
        var meta = status is null
            ? "not run"
            : $"In [{cell.Json["execution_count"]}] · {(double?)run?["elapsed_seconds"] ?? 0:0.00} s{ending}";
        html.Append($"<div class=\"cell code {cssClass}\">\n<div class=\"meta\">{Escape(meta)}</div>\n<pre class=\"source\">")
            .Append(Escape(cell.Source)).Append("</pre>\n<div class=\"outputs\">\n");
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
