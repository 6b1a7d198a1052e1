using System.Diagnostics;
using System.Text.Json.Nodes;
using LoraLab.Display;

namespace LoraLab.Notebooks.Tests;

/// <summary>A notebook's charts outside `lab run`'s reports: exported with nbconvert, opened with no network.</summary>
public class ExportedNotebookTests
{
    [Fact]
    public void A_figure_loads_plotly_from_the_installed_copy_relative_to_the_notebook_then_from_the_cdn()
    {
        var fromNotebooks = PlotlySources.From(Path.Combine(TestPaths.RepositoryRoot, "notebooks"));
        Assert.Equal(["../data/node_modules/plotly.js-dist-min/plotly.min.js", PlotlySources.Cdn], fromNotebooks);
        Assert.Equal([PlotlySources.Cdn], PlotlySources.From(Path.GetTempPath()));   // nothing installed above /tmp

        var html = new Figure("x").Line(new[] { 1 }, [1.0]).ToHtml(fromNotebooks);
        Assert.True(html.IndexOf("../data/node_modules/plotly.js-dist-min/plotly.min.js", StringComparison.Ordinal) <
                    html.IndexOf(PlotlySources.Cdn, StringComparison.Ordinal), "the installed copy is tried before the CDN");
        Assert.Contains("could not be loaded from", html);   // and when neither loads, the chart's place says so
    }

    [ChromiumFact]
    public async Task A_notebook_exported_with_nbconvert_draws_its_chart_with_no_network()
    {
        // A repository-like tree: the installed plotly.js under data/, a notebook under notebooks/ whose figure output
        // was made by a kernel running in notebooks/ (as VS Code and Jupyter run it).
        string root = TestPaths.NewOutputFolder("exported");
        string installed = Path.Combine(root, PlotlySources.InstalledPath);
        Directory.CreateDirectory(Path.GetDirectoryName(installed)!);
        File.Copy(Path.Combine(TestPaths.RepositoryRoot, PlotlySources.InstalledPath), installed);
        string folder = Directory.CreateDirectory(Path.Combine(root, "notebooks")).FullName;
        string html = new Figure("exported").Line(new[] { 1, 2, 3 }, [1.0, 4.0, 9.0], "y").ToHtml(PlotlySources.From(folder));
        string notebook = Path.Combine(folder, "exported.ipynb");
        File.WriteAllText(notebook, new JsonObject
        {
            ["nbformat"] = 4, ["nbformat_minor"] = 5, ["metadata"] = new JsonObject(),
            ["cells"] = new JsonArray(new JsonObject
            {
                ["cell_type"] = "code", ["id"] = "c1", ["execution_count"] = 1, ["metadata"] = new JsonObject(), ["source"] = "display(figure)",
                ["outputs"] = new JsonArray(new JsonObject
                {
                    ["output_type"] = "display_data", ["metadata"] = new JsonObject(),
                    ["data"] = new JsonObject { ["text/html"] = html, ["text/plain"] = "Figure 'exported'" },
                }),
            }),
        }.ToJsonString());

        await AssertDrawsOffline(await Export(notebook));
    }

    /// <summary>`jupyter nbconvert --to html` (Debian's python3-nbconvert): the HTML file, next to the notebook.</summary>
    internal static async Task<string> Export(string notebook)
    {
        var nbconvert = Process.Start(new ProcessStartInfo("/usr/bin/python3", ["-m", "nbconvert", "--to", "html", notebook])
            { RedirectStandardOutput = true, RedirectStandardError = true })!;
        string log = await nbconvert.StandardError.ReadToEndAsync();
        await nbconvert.WaitForExitAsync();
        Assert.True(nbconvert.ExitCode == 0, $"nbconvert failed (python3-nbconvert is needed for this test):\n{log}");
        return Path.ChangeExtension(notebook, ".html");
    }

    /// <summary>Opens a page in headless Chromium where no host resolves, so the CDN cannot be reached: a drawn chart
    /// came from the installed copy.</summary>
    internal static async Task AssertDrawsOffline(string page)
    {
        var (dom, log) = await Chromium.Run("--host-resolver-rules=MAP * ~NOTFOUND", "--dump-dom", new Uri(page).AbsoluteUri);
        Assert.Contains("class=\"main-svg\"", dom);   // plotly.js replaced the empty div with its drawing
        Assert.DoesNotContain(">This chart needs plotly.js", dom);
        Assert.DoesNotContain("Uncaught", log);
    }
}
