using System.Text.Json.Nodes;
using LoraLab.Notebooks.Documents;
using LoraLab.Notebooks.Reports;
using LoraLab.Notebooks.Runner;
using static LoraLab.Notebooks.Tests.TestNotebooks;

namespace LoraLab.Notebooks.Tests;

/// <summary>
/// The index's summary column: the first line a notebook's cell tagged "summary" printed (its verdict count, in the
/// workbook), read from the executed notebook; the runner knows nothing of what the line says.
/// </summary>
public sealed class IndexSummaryTests
{
    static JsonObject Stream(string name, params string[] lines) => new()
    {
        ["output_type"] = "stream",
        ["name"] = name,
        ["text"] = new JsonArray(lines.Select(line => (JsonNode?)line).ToArray()),
    };

    static NotebookDocument Executed(params JsonObject[] cells) => NotebookDocument.Parse(new JsonObject
    {
        ["nbformat"] = 4,
        ["nbformat_minor"] = 5,
        ["metadata"] = new JsonObject(),
        ["cells"] = new JsonArray(cells.Select(cell => (JsonNode?)cell).ToArray()),
    }.ToJsonString());

    static JsonObject WithOutputs(JsonObject cell, params JsonObject[] outputs)
    {
        cell["outputs"] = new JsonArray(outputs.Select(output => (JsonNode?)output).ToArray());
        return cell;
    }

    [Fact]
    public void The_summary_is_the_first_line_the_tagged_cell_printed_to_standard_output()
    {
        var notebook = Executed(
            WithOutputs(Code("Console.WriteLine(\"setup\");"), Stream("stdout", "setup\n")),
            WithOutputs(Code("...", null, "figures", NotebookSummary.Tag),
                Stream("stderr", "a warning\n"),
                new JsonObject { ["output_type"] = "display_data", ["data"] = new JsonObject { ["text/plain"] = "a table" }, ["metadata"] = new JsonObject() },
                Stream("stdout", "\n", "  7 claims: 3 agree, 0 differ, 4 inconclusive\n", "more detail\n")));

        Assert.Equal("7 claims: 3 agree, 0 differ, 4 inconclusive", NotebookSummary.Of(notebook));
    }

    [Fact]
    public void A_notebook_without_a_tagged_cell_or_whose_tagged_cell_printed_nothing_has_no_summary()
    {
        Assert.Null(NotebookSummary.Of(Executed(WithOutputs(Code("Console.WriteLine(\"x\");"), Stream("stdout", "x\n")))));
        Assert.Null(NotebookSummary.Of(Executed(WithOutputs(Code("1", null, NotebookSummary.Tag), Stream("stderr", "only an error\n")))));
        Assert.Null(NotebookSummary.Of(Executed(Code("not run", null, NotebookSummary.Tag))));
        Assert.Null(NotebookSummary.Read(Path.Combine(TestPaths.NewOutputFolder("summary-missing"), "absent.ipynb")));
    }

    [Fact]
    public void The_index_shows_each_notebooks_summary_escaped_in_its_row()
    {
        var html = ReportIndex.Render([
            new IndexEntry("02", "ok", TimeSpan.FromSeconds(3), "02.html", null, "7 claims: 3 agree <b>"),
            new IndexEntry("00", "ok", TimeSpan.FromSeconds(1), "00.html", null),
        ]);
        Assert.Contains("<td class=\"time\">3.0 s</td><td>7 claims: 3 agree &lt;b&gt;</td><td></td></tr>", html);
        Assert.Contains("<td class=\"time\">1.0 s</td><td></td><td></td></tr>", html);
    }

    [Fact]
    public async Task A_run_writes_each_notebooks_summary_into_index_html()
    {
        var folder = TestPaths.NewOutputFolder("index-summary");
        var withSummary = Write(folder, "judged", new JsonObject(),
            Code("var n = 2;"),
            Code("Console.WriteLine($\"{n} claims: 1 agree, 1 differ, 0 inconclusive\");\nConsole.WriteLine(\"detail\");", null, "figures", NotebookSummary.Tag));
        var without = Write(folder, "plain", "Console.WriteLine(\"no summary here\");");
        var output = Path.Combine(folder, "out");

        var (exitCode, log) = await RunnerTests.Run(withSummary, without, "--out", output);

        Assert.True(exitCode == ExitCodes.Ok, log);
        var index = File.ReadAllText(Path.Combine(output, "index.html"));
        Assert.Matches("judged</a></td>.*<td>2 claims: 1 agree, 1 differ, 0 inconclusive</td>", index);
        Assert.DoesNotContain("no summary here", index);
        Assert.DoesNotContain("detail", index);
    }
}
