using System.Text.Json.Nodes;
using LoraLab.Cli;
using LoraLab.Data.Results;

namespace LoraLab.Slurm.Tests;

/// <summary>`lab findings`: the findings tables of a run's executed notebooks, with their runs' provenance, as Markdown.</summary>
public sealed class FindingsCommandTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("loralab-findings-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    // An executed notebook as lab run writes it: metadata.loralab, and a findings table in LoraLab.Display.Table's HTML.
    private void Executed(string name, string profile, double seconds, params string[][] rows) => Executed(name, profile, seconds, null, rows);

    private void Executed(string name, string profile, double seconds, string? resolved, params string[][] rows)
    {
        string Cells(string[] row, string tag) => string.Concat(row.Select(cell => $"<{tag}>{System.Net.WebUtility.HtmlEncode(cell)}</{tag}>"));
        string html = "<table class=\"loralab-table\"><thead><tr>" + Cells(["scope", "claim", "measured", "verdict"], "th") + "</tr></thead><tbody>" +
                      string.Concat(rows.Select(row => "<tr>" + Cells(row, "td") + "</tr>")) + "</tbody></table>";
        var notebook = new JsonObject
        {
            ["metadata"] = new JsonObject { ["loralab"] = new JsonObject { ["status"] = "ok", ["elapsed_seconds"] = seconds,
                ["parameters"] = new JsonObject { ["profile"] = profile }, ["executed_at"] = "2026-12-03T21:43:00+00:00" } },
            ["cells"] = new JsonArray(
                new JsonObject { ["cell_type"] = "markdown", ["source"] = "# a title" },
                new JsonObject { ["cell_type"] = "code", ["id"] = resolved is null ? "knobs" : "resolved", ["outputs"] = resolved is null ? new JsonArray()
                    : new JsonArray(new JsonObject { ["output_type"] = "stream", ["name"] = "stdout", ["text"] = new JsonArray(resolved[..5], resolved[5..] + "\n") }) },
                new JsonObject { ["cell_type"] = "code", ["outputs"] = new JsonArray(new JsonObject { ["output_type"] = "display_data",
                    ["data"] = new JsonObject { ["text/html"] = new JsonArray(html[..40], html[40..]) } }) }),
        };
        File.WriteAllText(Path.Combine(_folder, name + ".ipynb"), notebook.ToJsonString());
    }

    [Fact]
    public void The_page_counts_the_verdicts_and_says_where_each_notebooks_runs_came_from()
    {
        Executed("01-initialization", "quick", 407, ["", "η* falls as n^-1/2", "-0.69 [-0.75, -0.54]", "differs"], ["LM", "A beats B", "+0.1 | 2 seeds", "inconclusive (n = 1)"]);
        Executed("02-learning-rate-sweeps", "quick", 506, "profile quick: seeds 0, 1, 2", ["spam", "η*_A > η*_B", "+0.50 ± 0.30", "agrees"]);
        File.WriteAllText(Path.Combine(_folder, "index.html"), "<html></html>");
        using var store = new ResultsStore(Path.Combine(_folder, "results.db"));
        for (int seed = 0; seed < 3; seed++)
        {
            long id = store.TryStartRun("02-learning-rates", "{}", "h", seed, "cpu", "0123456789abcdef")!.Value;
            store.FinishRun(id, seed == 2 ? RunStatus.Diverged : RunStatus.Done, null, new Dictionary<string, double>(), []);
        }

        string page = FindingsCommand.Markdown(FindingsCommand.Read(_folder), store, _folder);

        Assert.Contains("# What the notebooks found: quick profile", page);
        Assert.Contains("| 01-initialization | quick | 2026-12-03 21:43 | 6 min 47 s | 2 | 0 | 1 | 1 |", page);
        Assert.Contains("| 02-learning-rate-sweeps | quick | 2026-12-03 21:43 | 8 min 26 s | 1 | 1 | 0 | 0 |", page);
        Assert.Contains("Decided (agrees or differs): 2 of 3 claims (66.7%).", page);
        Assert.Contains("- `02-learning-rates`: 3 finished (1 diverged), on cpu, commits 0123456", page);
        Assert.Contains("The store has no finished run of this notebook.", page);      // 01 has none in this store
        Assert.Contains("| LM | A beats B | +0.1 \\| 2 seeds | inconclusive (n = 1) |", page);   // a | in a cell is escaped
        Assert.Contains("| spam | η*_A > η*_B | +0.50 ± 0.30 | agrees |", page);
        // What each notebook ran with, from its `resolved` cell (01 here has none: nothing is shown for it).
        Assert.Contains("## 02-learning-rate-sweeps\n\nWhat it ran with (its `resolved` cell):\n\n```text\nprofile quick: seeds 0, 1, 2\n```", page.ReplaceLineEndings("\n"));
        Assert.Equal(1, page.Split("What it ran with").Length - 1);
    }

    [Fact]
    public void A_lettered_notebook_is_read_between_its_number_and_the_next_and_other_files_are_not()
    {
        Executed("02-learning-rate-sweeps", "quick", 10, ["spam", "claim", "1", "agrees"]);
        Executed("01b-initialization-lm", "quick", 10, ["LM", "A beats B", "-0.1", "agrees"]);
        Executed("01-initialization", "quick", 10, ["toy", "slope", "-0.7", "differs"]);
        Executed("notes-01", "quick", 10, ["x", "y", "z", "agrees"]);      // not NN- or NNx-: not a workbook notebook
        Assert.Equal(new[] { "01-initialization", "01b-initialization-lm", "02-learning-rate-sweeps" },
                     FindingsCommand.Read(_folder).Select(n => n.Name).ToArray());
    }

    [Fact]
    public void A_run_without_profile_is_listed_under_the_notebooks_own_default()
    {
        Executed("02-learning-rate-sweeps", "ci", 10, ["spam", "claim", "1", "agrees"]);
        string path = Path.Combine(_folder, "02-learning-rate-sweeps.ipynb");
        var notebook = JsonNode.Parse(File.ReadAllText(path))!.AsObject();
        notebook["metadata"]!["loralab"]!.AsObject().Remove("parameters");
        notebook["cells"]!.AsArray().Insert(0, new JsonObject { ["cell_type"] = "code", ["metadata"] = new JsonObject { ["tags"] = new JsonArray("parameters") },
                                                               ["source"] = new JsonArray("var profile = \"quick\";   // ci | quick | paper\n", "var r = 8;") });
        File.WriteAllText(path, notebook.ToJsonString());
        Assert.Equal("quick", FindingsCommand.Read(_folder).Single().Profile);

        notebook["metadata"]!["loralab"]!["render_only"] = true;     // lab run --render-only marks its notebooks so
        File.WriteAllText(path, notebook.ToJsonString());
        Assert.Equal("quick (render-only)", FindingsCommand.Read(_folder).Single().Profile);
    }

    [Fact]
    public void A_notebook_without_its_findings_table_is_an_error_but_the_tour_has_none_to_show()
    {
        File.WriteAllText(Path.Combine(_folder, "00-tour.ipynb"), """{"metadata": {"loralab": {"status": "ok"}}, "cells": []}""");
        Assert.Throws<InvalidDataException>(() => FindingsCommand.Read(_folder));                 // nothing with findings at all
        Executed("02-learning-rate-sweeps", "ci", 10, ["spam", "claim", "1", "agrees"]);
        Assert.Single(FindingsCommand.Read(_folder));
        File.WriteAllText(Path.Combine(_folder, "03-learning-and-forgetting.ipynb"), """{"metadata": {"loralab": {"status": "failed"}}, "cells": []}""");
        var error = Assert.Throws<InvalidDataException>(() => FindingsCommand.Read(_folder));
        Assert.Contains("03-learning-and-forgetting.ipynb shows no findings table", error.Message);
    }

    [Theory]
    [InlineData("name the REPORTS folder")]
    [InlineData("there is no folder '/no/such/folder'", "/no/such/folder")]
    [InlineData("unknown option", "FOLDER", "--format", "html")]
    [InlineData("there is no results database", "FOLDER", "--store", "/no/such.db")]
    public void Bad_arguments_exit_2_naming_them(string message, params string[] args)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        int code = FindingsCommand.Run(args.Select(a => a == "FOLDER" ? _folder : a).ToArray(), output, error);
        Assert.Equal(CommandExitCodes.BadArguments, code);
        Assert.Contains(message, error.ToString());
        Assert.Contains("usage: lab findings", error.ToString());
    }
}
