using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using LoraLab.Display;
using LoraLab.Notebooks.Documents;
using LoraLab.Notebooks.Engine;
using LoraLab.Notebooks.Reports;

namespace LoraLab.Notebooks.Tests;

/// <summary>
/// The HTML report as a reader meets it, rendered from an executed notebook made here (no worker process): code folded
/// under a line that says the cell is there, outputs and markdown in view, a page toggle, print rules; the index page's
/// wall times.
/// </summary>
public class ReportTests
{
    /// <summary>An executed notebook: markdown, a cell that printed and drew a figure, a failed cell, a skipped cell, a cell not run.</summary>
    internal static NotebookDocument Executed(int figureWidth = 720)
    {
        var figure = new Figure("a wide figure", width: figureWidth, height: 320).Grid(1, 3)
            .Line(new[] { 1, 2, 3 }, [3.0, 2.0, 1.0], "first", subplot: 1)
            .Line(new[] { 1, 2, 3 }, [1.0, 2.0, 3.0], "second", subplot: 2)
            .Line(new[] { 1, 2, 3 }, [2.0, 2.5, 2.0], "right-edge series", subplot: 3);
        var document = NotebookDocument.Parse(new JsonObject
        {
            ["nbformat"] = 4, ["nbformat_minor"] = 5, ["metadata"] = new JsonObject(),
            ["cells"] = new JsonArray(
                new JsonObject { ["cell_type"] = "markdown", ["id"] = "m1", ["metadata"] = new JsonObject(), ["source"] = "# What we found\n\nInit[A] **wins**." },
                TestNotebooks.Code("var drawn = 42;\nConsole.WriteLine(\"console line\");\ndisplay(figure);"),
                TestNotebooks.Code("throw new InvalidOperationException(\"failing on purpose\");"),
                TestNotebooks.Code("display(heavyFigure);", null, "figures"),
                TestNotebooks.Code("Console.WriteLine(\"never\");")),
        }.ToJsonString());
        var cells = document.Cells.Where(c => c.IsCode).ToList();
        for (var i = 0; i < cells.Count; i++) cells[i].Json["id"] = $"c{i + 1}";
        NbformatOutputs.Store(cells[0], new CellResult(1, [
            new StreamOutput("stdout", "console line\n"),
            new DisplayOutput(new Dictionary<string, string> { ["text/html"] = figure.ToHtml(), ["text/plain"] = figure.ToString() }),
        ], TimeSpan.FromSeconds(2.34)));
        NbformatOutputs.Store(cells[1], new CellResult(2, [new ErrorOutput("System.InvalidOperationException", "failing on purpose", [])], TimeSpan.FromSeconds(0.05)));
        NbformatOutputs.MarkSkipped(cells[2], LoraLab.Notebooks.Runner.NotebookWorker.SkipReason("figures"));
        return document;
    }

    /// <summary>The report with character references decoded ("&#183;" is "·"), for checking what a reader sees.</summary>
    static string Decoded(NotebookDocument document, bool showCode = false) => System.Net.WebUtility.HtmlDecode(Render(document, showCode));

    internal static string Render(NotebookDocument document, bool showCode = false) =>
        HtmlReport.Render(document, new ReportSummary("report-test", "failed", TimeSpan.FromSeconds(75), [], ShowCode: showCode),
            PlotlyScript.Find(TestPaths.RepositoryRoot));

    static List<string> DetailsTags(string html) => Regex.Matches(html, "<details class=\"source\"[^>]*>").Select(m => m.Value).ToList();

    [Fact]
    public void Code_is_folded_by_default_and_each_folded_cell_still_shows_its_count_time_and_a_show_code_toggle()
    {
        var html = Decoded(Executed());

        var details = DetailsTags(html);
        Assert.Equal(4, details.Count); // one per code cell
        Assert.Equal(3, details.Count(tag => !tag.Contains(" open"))); // all but the failed cell
        Assert.Contains("<summary><span class=\"meta\">In [1] · 2.3 s</span><span class=\"toggle\"> · <span class=\"show\">show code</span>", html);
        Assert.Contains("<span class=\"meta\">not run</span>", html);
        // The code is in the page (inside the fold), the outputs outside it.
        var first = html[html.IndexOf("In [1]", StringComparison.Ordinal)..];
        Assert.True(first.IndexOf("var drawn = 42;", StringComparison.Ordinal) < first.IndexOf("</details>", StringComparison.Ordinal));
        Assert.True(first.IndexOf("</details>", StringComparison.Ordinal) < first.IndexOf("<pre class=\"stream stream-stdout\">console line", StringComparison.Ordinal));
        Assert.True(first.IndexOf("</details>", StringComparison.Ordinal) < first.IndexOf("class=\"loralab-figure\"", StringComparison.Ordinal));
        Assert.Contains("<h1 id=\"what-we-found\">What we found</h1>", html); // markdown is not folded
    }

    [Fact]
    public void A_failed_cell_shows_its_code_next_to_its_error()
    {
        var html = Decoded(Executed());
        var failed = html[html.IndexOf("<div class=\"cell code failed\">", StringComparison.Ordinal)..];
        Assert.StartsWith("<div class=\"cell code failed\">\n<details class=\"source\" open>", failed);
        Assert.Contains("In [2] · 0.05 s · failed", failed);
        Assert.True(failed.IndexOf("throw new InvalidOperationException", StringComparison.Ordinal) < failed.IndexOf("<pre class=\"error\">", StringComparison.Ordinal));
    }

    [Fact]
    public void Show_code_expands_every_cell_and_the_page_toggle_starts_as_hide_all_code()
    {
        var html = Render(Executed(), showCode: true);
        Assert.All(DetailsTags(html), tag => Assert.Contains(" open", tag));
        Assert.Contains("aria-pressed=\"true\">hide all code</button>", html);
        Assert.Contains("aria-pressed=\"false\">show all code</button>", Render(Executed()));
    }

    [Fact]
    public void A_skipped_cell_is_shown_as_skipped_with_its_reason_and_no_outputs()
    {
        var html = Decoded(Executed());
        var skipped = html[html.IndexOf("<div class=\"cell code skipped\">", StringComparison.Ordinal)..];
        skipped = skipped[..skipped.IndexOf("</div>\n</div>", StringComparison.Ordinal)];
        Assert.Contains("skipped: tagged \"figures\" (lab run --skip-tag figures)", skipped);
        Assert.EndsWith("<div class=\"outputs\">\n", skipped);
        Assert.Contains(" · 1 cell skipped (--skip-tag)", html);
    }

    [Fact]
    public void The_report_loads_nothing_from_the_network_when_plotly_is_installed()
    {
        var html = Render(Executed());
        Assert.DoesNotContain("<script src", html);
        Assert.DoesNotContain("<link", html);
        var body = html[html.IndexOf("</head>", StringComparison.Ordinal)..];
        Assert.DoesNotMatch("(src|href)=\"https?:", body);
    }

    [Fact]
    public void Print_rules_keep_figures_whole_on_a_page_and_hide_the_toggles()
    {
        var html = Render(Executed());
        var css = html[html.IndexOf("<style>", StringComparison.Ordinal)..html.IndexOf("</style>", StringComparison.Ordinal)];
        Assert.Contains(".loralab-figure { max-width: 100%; }", css);
        var print = string.Concat(Regex.Matches(css, @"@media print \{(.*?)\n\}", RegexOptions.Singleline).Select(m => m.Groups[1].Value));
        Assert.Matches(@"\.loralab-figure[^{]*\{ break-inside: avoid;", print);
        Assert.Matches(@"\.modebar[^{]*\{ display: none", print);
        Assert.Matches(@"\.screen-only \{ display: none", print);
        Assert.Contains("details.source > summary .toggle { display: none; }", print.Replace("details.source > summary::before, ", ""));
        // The figure is fitted to the room there is when the page is laid out for print.
        Assert.Contains("window.matchMedia('print')", html);
        Assert.Contains("Plotly.relayout(figure, { width: width })", html);
    }

    [Theory]
    [InlineData(0.164, "0.16 s")]
    [InlineData(2.34, "2.3 s")]
    [InlineData(45.04, "45.0 s")]
    [InlineData(59.97, "1 min 00 s")]
    [InlineData(125.4, "2 min 05 s")]
    [InlineData(3725, "1 h 02 min")]
    public void Wall_times_read_in_seconds_minutes_or_hours(double seconds, string expected) =>
        Assert.Equal(expected, Durations.FormatSeconds(seconds));

    [Fact]
    public void The_index_shows_each_notebooks_wall_time_and_their_total()
    {
        var html = ReportIndex.Render([
            new IndexEntry("00-tour", "ok", TimeSpan.FromSeconds(8.5), "00-tour.html", null),
            new IndexEntry("02-learning-rate-sweeps", "ok", TimeSpan.FromSeconds(115.4), "02-learning-rate-sweeps.html", "6 cells skipped (--skip-tag figures)"),
            new IndexEntry("broken", "invalid", TimeSpan.Zero, null, "not valid JSON"),
        ]);
        Assert.Contains("<td class=\"time\">8.5 s</td>", html);
        Assert.Contains("<td class=\"time\">1 min 55 s</td>", html);
        Assert.Contains("<tfoot><tr><th>Total</th><th></th><th class=\"time total\">2 min 04 s</th>", html);
        Assert.Contains("total wall time 2 min 04 s", html);
        Assert.Contains("6 cells skipped (--skip-tag figures)", html);
    }
}
