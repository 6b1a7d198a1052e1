namespace LoraLab.Notebooks.Reports;

/// <summary>The stylesheet shared by notebook reports and the index page.</summary>
static class ReportStyle
{
    public const string Css = """
        body { font-family: system-ui, sans-serif; max-width: 1100px; margin: 2em auto; padding: 0 1em; color: #222; }
        header { border-bottom: 1px solid #ddd; margin-bottom: 1.5em; }
        .status-ok { color: #1a7f37; } .status-failed, .status-invalid, .status-timed-out, .status-exited, .status-interrupted { color: #cf222e; }
        .status-running, .status-not-run { color: #9a6700; }
        .warning { background: #fff8c5; border: 1px solid #d4a72c; padding: .5em 1em; }
        .cell { margin: 1em 0; }
        .cell.code > .meta { font-size: .8em; color: #666; margin-bottom: .2em; }
        pre { margin: 0; padding: .6em .8em; overflow-x: auto; white-space: pre-wrap; font-size: .85em; }
        pre.source { background: #f6f8fa; border-left: 3px solid #0969da; }
        .cell.failed pre.source { border-left-color: #cf222e; }
        .cell.not-run { opacity: .5; }
        .outputs { padding-left: .8em; }
        pre.stream-stderr { background: #fff5f5; }
        pre.error { background: #ffebe9; color: #82071e; border-left: 3px solid #cf222e; }
        .html-output { margin: .4em 0; overflow-x: auto; }
        table { border-collapse: collapse; font-size: .85em; }
        th, td { border: 1px solid #ddd; padding: .25em .6em; text-align: left; }
        th { background: #f6f8fa; }
        """;
}
