using System.Text;

namespace LoraLab.Notebooks.Reports;

/// <summary>One line of the index page: a notebook, how its run ended, its wall time, where its report is, and its
/// one-line summary (<see cref="NotebookSummary"/>) when it prints one.</summary>
public sealed record IndexEntry(string Name, string Status, TimeSpan Elapsed, string? ReportFile, string? Message, string? Summary = null);

/// <summary>
/// index.html of an output folder: a table of every notebook run with its status, wall time, report link and summary,
/// and the total wall time of the run (the sum over its notebooks).
/// </summary>
public static class ReportIndex
{
    public static TimeSpan Total(IReadOnlyList<IndexEntry> entries) => TimeSpan.FromTicks(entries.Sum(e => e.Elapsed.Ticks));

    public static string Render(IReadOnlyList<IndexEntry> entries)
    {
        var total = Durations.Format(Total(entries));
        var html = new StringBuilder();
        html.Append("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>LoraLab reports</title>\n<style>")
            .Append(ReportStyle.Css).Append("</style>\n</head>\n<body>\n<header><h1>LoraLab reports</h1>\n<p>")
            .Append($"{entries.Count(e => e.Status == "ok")} of {entries.Count} notebooks ran without errors; total wall time {total}; generated {DateTime.Now:yyyy-MM-dd HH:mm}.")
            .Append("</p></header>\n<table class=\"index\">\n<thead><tr><th>Notebook</th><th>Status</th><th>Wall time</th><th>Summary</th><th>Note</th></tr></thead>\n<tbody>\n");
        foreach (var entry in entries)
        {
            var name = entry.ReportFile is null
                ? HtmlReport.Escape(entry.Name)
                : $"<a href=\"{HtmlReport.Escape(Uri.EscapeDataString(entry.ReportFile))}\">{HtmlReport.Escape(entry.Name)}</a>";
            html.Append($"<tr><td>{name}</td><td class=\"status-{HtmlReport.Escape(entry.Status)}\">{HtmlReport.Escape(entry.Status)}</td>")
                .Append($"<td class=\"time\">{HtmlReport.Escape(Durations.Format(entry.Elapsed))}</td><td>{HtmlReport.Escape(entry.Summary)}</td>")
                .Append($"<td>{HtmlReport.Escape(entry.Message)}</td></tr>\n");
        }
        html.Append("</tbody>\n<tfoot><tr><th>Total</th><th></th>")
            .Append($"<th class=\"time total\">{HtmlReport.Escape(total)}</th><th></th><th></th></tr></tfoot>\n</table>\n</body>\n</html>\n");
        return html.ToString();
    }
}
