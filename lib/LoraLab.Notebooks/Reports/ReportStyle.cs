namespace LoraLab.Notebooks.Reports;

/// <summary>The stylesheets: <see cref="Css"/> for notebook reports and the index page, <see cref="ReportCss"/> for reports.</summary>
static class ReportStyle
{
    public const string Css = """
        body { font-family: system-ui, sans-serif; max-width: 1100px; margin: 2em auto; padding: 0 1em; color: #222; }
        header { border-bottom: 1px solid #ddd; margin-bottom: 1.5em; }
        .status-ok { color: #1a7f37; } .status-failed, .status-invalid, .status-timed-out, .status-exited, .status-interrupted { color: #cf222e; }
        .status-running, .status-not-run { color: #9a6700; }
        .warning { background: #fff8c5; border: 1px solid #d4a72c; padding: .5em 1em; }
        table { border-collapse: collapse; font-size: .85em; }
        th, td { border: 1px solid #ddd; padding: .25em .6em; text-align: left; }
        th { background: #f6f8fa; }
        table.index td.time, table.index th.time { text-align: right; font-variant-numeric: tabular-nums; }
        @media print {
          body { max-width: none; margin: 0; padding: 0; }
          .screen-only { display: none !important; }
          a { color: inherit; }
        }
        """;

    /// <summary>
    /// Reports only: folded code (a &lt;details&gt; per cell whose summary line always shows), figures no wider than the
    /// page, and print rules (no toggles or Plotly toolbars, a figure or a table row never split across pages where
    /// avoidable, headings kept with what follows).
    /// </summary>
    public const string ReportCss = """
        header p.run button { margin-left: 1em; font: inherit; font-size: .85em; padding: .1em .7em; cursor: pointer; }
        .cell { margin: 1em 0; }
        details.source > summary { font-size: .8em; color: #666; margin-bottom: .2em; cursor: pointer; list-style: none; }
        details.source > summary::-webkit-details-marker { display: none; }
        details.source > summary::before { content: "\25B8\00A0"; color: #999; }
        details.source[open] > summary::before { content: "\25BE\00A0"; }
        details.source > summary .toggle { color: #0969da; }
        details.source > summary:hover .toggle { text-decoration: underline; }
        details.source[open] > summary .show, details.source:not([open]) > summary .hide { display: none; }
        pre { margin: 0; padding: .6em .8em; overflow-x: auto; white-space: pre-wrap; font-size: .85em; }
        pre.source { background: #f6f8fa; border-left: 3px solid #0969da; }
        .cell.failed pre.source { border-left-color: #cf222e; }
        .cell.failed details.source > summary { color: #cf222e; }
        .cell.not-run { opacity: .5; }
        .cell.skipped details.source > summary { color: #9a6700; }
        .outputs { padding-left: .8em; }
        pre.stream-stderr { background: #fff5f5; }
        pre.error { background: #ffebe9; color: #82071e; border-left: 3px solid #cf222e; }
        .html-output { margin: .4em 0; overflow-x: auto; }
        .loralab-figure { max-width: 100%; }
        @page { margin: 12mm; }
        @media print {
          body { font-size: 10.5pt; }
          details.source > summary::before, details.source > summary .toggle { display: none; }
          .modebar, .modebar-container { display: none !important; }
          .html-output { overflow: visible; }
          .html-output:has(.loralab-figure), .loralab-figure, .js-plotly-plot { break-inside: avoid; page-break-inside: avoid; }
          h1, h2, h3, h4 { break-after: avoid; page-break-after: avoid; }
          /* A cell's "In [n]" line stays with its first output. Chromium reads the avoid off the details' last child. */
          details.source, details.source > summary, details.source > pre.source { break-after: avoid; page-break-after: avoid; }
          .cell.code > .outputs { break-before: avoid; page-break-before: avoid; }
          tr, pre.error { break-inside: avoid; }
          thead { display: table-header-group; }
          pre { overflow: visible; overflow-wrap: anywhere; }
        }
        """;
}
