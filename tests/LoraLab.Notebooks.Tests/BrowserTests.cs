namespace LoraLab.Notebooks.Tests;

/// <summary>Opens the default run's HTML report in headless Chromium from a file URL, offline, as a reader would.</summary>
[Collection(DefaultRunCollection.Name)]
public class BrowserTests(DefaultRunFixture run)
{
    [Fact]
    public async Task Report_draws_the_plotly_chart_offline_without_script_errors()
    {
        Assert.True(Chromium.Missing is null, Chromium.Missing);
        Assert.True(run.ExitCode == 0, run.Log);

        var (dom, log) = await Chromium.Run("--dump-dom", new Uri(run.ReportPath).AbsoluteUri);

        Assert.Contains("class=\"loralab-figure", dom);
        Assert.Contains("class=\"main-svg\"", dom); // plotly.js replaced the empty div with its drawing
        Assert.DoesNotContain("Uncaught", log);
        Assert.DoesNotContain("<title>pwned</title>", dom); // the displayed <script> string did not run

        var screenshot = Path.Combine(run.OutputFolder, "report.png");
        await Chromium.Run($"--screenshot={screenshot}", "--window-size=1200,2000", new Uri(run.ReportPath).AbsoluteUri);
        Assert.True(new FileInfo(screenshot).Length > 10_000, "the screenshot should show a rendered page");
    }

    [ChromiumFact]
    public async Task The_page_toggle_shows_every_cells_code_in_the_browser()
    {
        Assert.True(run.ExitCode == 0, run.Log);
        var copy = Path.Combine(TestPaths.NewOutputFolder("toggle"), "report.html");
        File.WriteAllText(copy, run.Report.Replace("</body>",
            "<script>window.addEventListener('load', function () { document.getElementById('toggle-code').click(); });</script></body>"));

        var (folded, _) = await Chromium.Run("--dump-dom", new Uri(run.ReportPath).AbsoluteUri);
        var (unfolded, log) = await Chromium.Run("--dump-dom", new Uri(copy).AbsoluteUri);

        var cells = System.Text.RegularExpressions.Regex.Matches(folded, "<details class=\"source\"[^>]*>").Select(m => m.Value).ToList();
        Assert.Equal(8, cells.Count);
        Assert.All(cells, tag => Assert.DoesNotContain("open", tag));
        Assert.Contains(">show all code</button>", folded);
        Assert.Equal(8, System.Text.RegularExpressions.Regex.Matches(unfolded, "<details class=\"source\" open=\"\">").Count);
        Assert.Contains(">hide all code</button>", unfolded);
        Assert.DoesNotContain("Uncaught", log);
    }
}
