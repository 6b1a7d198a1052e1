using System.Text.RegularExpressions;

namespace LoraLab.Notebooks.Tests;

/// <summary>
/// A report printed to PDF by headless Chromium, as a reader would print it: every figure fits the page. The page
/// reports what it measured while laid out for print through its title, which Chromium writes into the PDF.
/// </summary>
public class ReportPrintTests
{
    // Appended after the report's own script, so it runs after the report has fitted its figures for print.
    const string MeasureWhenPrinting = """
        <script>
        window.matchMedia('print').addEventListener('change', function (e) {
          if (!e.matches) return;
          var page = document.documentElement.getBoundingClientRect().width.toFixed(1);
          var figures = Array.prototype.map.call(document.querySelectorAll('.loralab-figure'), function (figure) {
            var box = figure.querySelector('svg.main-svg').getBoundingClientRect();
            return box.left.toFixed(1) + '-' + box.right.toFixed(1);
          });
          document.title = 'page=' + page + ' figures=' + figures.join(',');
        });
        </script>
        """;

    static async Task<(double Page, List<(double Left, double Right)> Figures, int Pages)> Print(string html, string name)
    {
        var path = Path.Combine(TestPaths.NewOutputFolder("print"), name + ".html");
        File.WriteAllText(path, html.Replace("</body>", MeasureWhenPrinting + "</body>", StringComparison.Ordinal));
        var (title, pages, _) = await Chromium.PrintToPdf(path);
        var match = Regex.Match(title, @"^page=([\d.]+) figures=((?:[\d.]+-[\d.]+,?)*)$");
        Assert.True(match.Success, $"the page did not report its print layout: PDF title '{title}'");
        var figures = match.Groups[2].Value.Split(',', StringSplitOptions.RemoveEmptyEntries)
            .Select(part => part.Split('-')).Select(p => (Number(p[0]), Number(p[1]))).ToList();
        return (Number(match.Groups[1].Value), figures, pages);
    }

    static double Number(string text) => double.Parse(text, System.Globalization.CultureInfo.InvariantCulture);

    [ChromiumFact]
    public async Task A_1020_px_wide_figure_printed_to_pdf_is_redrawn_to_fit_the_page()
    {
        var html = ReportTests.Render(ReportTests.Executed(figureWidth: 1020));

        var (page, figures, pages) = await Print(html, "wide-figure");

        var (left, right) = Assert.Single(figures);
        Assert.True(right <= page, $"the figure spans {left}..{right} px on a printed page {page} px wide: cut at the right edge");
        Assert.True(right - left < 1020, $"the figure kept its 1020 px on a {page} px page");
        Assert.True(right - left >= page * 0.8, $"the figure ({right - left} px) should use the width of the page ({page} px)");
        Assert.True(pages >= 1);
    }

    [ChromiumFact]
    public async Task Without_the_reports_fitting_script_the_same_figure_overflows_the_page_so_the_measure_can_fail()
    {
        var html = ReportTests.Render(ReportTests.Executed(figureWidth: 1020));
        var script = Regex.Match(html, "<script id=\"loralab-report-script\">.*?</script>", RegexOptions.Singleline);
        Assert.True(script.Success);

        var (page, figures, _) = await Print(html.Remove(script.Index, script.Length), "wide-figure-unfitted");

        var (_, right) = Assert.Single(figures);
        // Chromium then clips it (inside a scrolling box) or shrinks the whole page to fit, every text with it.
        Assert.True(right > page, $"control: an unfitted 1020 px figure should overflow a {page} px printed page (right edge {right})");
    }
}
