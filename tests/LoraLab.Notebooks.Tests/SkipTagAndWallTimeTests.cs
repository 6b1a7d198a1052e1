using System.Text.RegularExpressions;
using LoraLab.Notebooks.Reports;
using LoraLab.Notebooks.Runner;
using static LoraLab.Notebooks.Tests.TestNotebooks;

namespace LoraLab.Notebooks.Tests;

/// <summary>
/// `lab run --skip-tag TAG` (a shard of a sweep skips its drawing cells), `--show-code`, and the wall times the terminal
/// and index.html show. Each run goes through a worker process, as `lab run` does.
/// </summary>
public class SkipTagAndWallTimeTests
{
    /// <summary>A notebook whose 2nd and last code cells are tagged "figures"; the 2nd would leave a marker file.</summary>
    static (string Notebook, string Marker) Tagged(string folder)
    {
        var marker = Path.Combine(folder, "drawn");
        var notebook = Write(folder, "tagged", new System.Text.Json.Nodes.JsonObject(),
            Code("var total = 1 + 1;\nConsole.WriteLine($\"setup {total}\");"),
            Code($"System.IO.File.WriteAllText(@\"{marker}\", \"\");\nConsole.WriteLine(\"drawing\");", null, "figures", "slow"),
            Code("Console.WriteLine($\"after {total}\");"),
            Code("Console.WriteLine(\"verdict drawn\");", null, "figures"));
        return (notebook, marker);
    }

    [Fact]
    public async Task Cells_with_a_skip_tag_are_not_run_and_are_marked_skipped_with_the_reason_while_the_others_run()
    {
        var folder = TestPaths.NewOutputFolder("skip-tag");
        var (notebook, marker) = Tagged(folder);
        var output = Path.Combine(folder, "out");

        var (exitCode, log) = await RunnerTests.Run(notebook, "--skip-tag", "figures", "--out", output);

        Assert.True(exitCode == ExitCodes.Ok, log);
        Assert.False(File.Exists(marker), "the tagged cell ran");
        var executed = Load(Path.Combine(output, "tagged.ipynb"));
        NbformatAssert.Valid(executed);
        var cells = CodeCells(executed);
        Assert.Equal(["ok", "skipped", "ok", "skipped"], cells.Select(Status));
        foreach (var skipped in new[] { cells[1], cells[3] })
        {
            Assert.Empty(skipped["outputs"]!.AsArray());
            Assert.Null(skipped["execution_count"]);
            Assert.Equal("skipped: tagged \"figures\" (lab run --skip-tag figures)", (string?)skipped["metadata"]!["loralab"]!["skip_reason"]);
        }
        Assert.Contains("after 2", Text(cells[2]));
        Assert.Equal([1, 2], new[] { cells[0], cells[2] }.Select(c => (int)c["execution_count"]!));
        Assert.Equal("ok", (string?)executed["metadata"]!["loralab"]!["status"]); // the last cell was skipped: the run still ends "ok"

        Assert.Contains("[2/4] cell skipped: tagged \"figures\"", log);
        Assert.Contains("tagged: ok in ", log);
        Assert.Contains(", 2 cells skipped (--skip-tag figures) ->", log);
        var report = System.Net.WebUtility.HtmlDecode(File.ReadAllText(Path.Combine(output, "tagged.html")));
        Assert.Equal(2, Regex.Matches(report, "<div class=\"cell code skipped\">").Count);
        Assert.Contains("skipped: tagged \"figures\" (lab run --skip-tag figures)", report);
        Assert.DoesNotContain("<pre class=\"stream stream-stdout\">drawing", report);
        Assert.Contains("2 cells skipped (--skip-tag figures)", File.ReadAllText(Path.Combine(output, "index.html")));
    }

    [Fact]
    public async Task Without_the_option_the_tagged_cells_run_like_any_other()
    {
        var folder = TestPaths.NewOutputFolder("no-skip-tag");
        var (notebook, marker) = Tagged(folder);

        var (exitCode, log) = await RunnerTests.Run(notebook, "--out", Path.Combine(folder, "out"));

        Assert.True(exitCode == ExitCodes.Ok, log);
        Assert.True(File.Exists(marker), "the tagged cell should run");
        var cells = CodeCells(Load(Path.Combine(folder, "out", "tagged.ipynb")));
        Assert.All(cells, cell => Assert.Equal("ok", Status(cell)));
        Assert.Contains("drawing", Text(cells[1]));
        Assert.DoesNotContain("skipped", log);
    }

    [Fact]
    public async Task A_notebook_without_the_tag_is_unaffected_and_show_code_expands_its_code()
    {
        var folder = TestPaths.NewOutputFolder("skip-tag-untagged");
        var notebook = Write(folder, "plain", "Console.WriteLine(\"one\");", "Console.WriteLine(\"two\");");

        var (exitCode, log) = await RunnerTests.Run(notebook, "--skip-tag", "figures", "--show-code", "--out", Path.Combine(folder, "out"));

        Assert.True(exitCode == ExitCodes.Ok, log);
        var cells = CodeCells(Load(Path.Combine(folder, "out", "plain.ipynb")));
        Assert.All(cells, cell => Assert.Equal("ok", Status(cell)));
        Assert.Equal("two\n", Text(cells[1]));
        Assert.DoesNotContain("skipped", log);
        var report = File.ReadAllText(Path.Combine(folder, "out", "plain.html"));
        Assert.DoesNotContain("<div class=\"cell code skipped\">", report);
        Assert.DoesNotContain("skipped (--skip-tag", report);
        Assert.Equal(2, Regex.Matches(report, "<details class=\"source\" open>").Count); // --show-code reached the worker
    }

    [Fact]
    public async Task The_terminal_and_the_index_show_each_notebooks_wall_time_and_the_total()
    {
        var folder = TestPaths.NewOutputFolder("wall-times");
        var first = Write(folder, "first", "System.Threading.Thread.Sleep(300);");
        var second = Write(folder, "second", "Console.WriteLine(\"quick\");");
        var output = Path.Combine(folder, "out");

        var (exitCode, log) = await RunnerTests.Run(first, second, "--out", output);

        Assert.True(exitCode == ExitCodes.Ok, log);
        var times = new[] { "first", "second" }.Select(name =>
        {
            var line = Regex.Match(log, $@"^{name}: ok in (?<time>[\d.]+ s|\d+ min \d\d s) -> ", RegexOptions.Multiline);
            Assert.True(line.Success, $"no wall-time line for {name} in:\n{log}");
            return line.Groups["time"].Value;
        }).ToList();
        var total = Regex.Match(log, @"^2 notebook\(s\): 2 ok in (?<time>[\d.]+ s|\d+ min \d\d s) -> .*index\.html$", RegexOptions.Multiline);
        Assert.True(total.Success, $"no total line in:\n{log}");
        var sum = times.Sum(time => double.Parse(time.Split(' ')[0], System.Globalization.CultureInfo.InvariantCulture));
        Assert.InRange(double.Parse(total.Groups["time"].Value.Split(' ')[0], System.Globalization.CultureInfo.InvariantCulture), sum - 0.11, sum + 0.11);

        var index = File.ReadAllText(Path.Combine(output, "index.html"));
        foreach (var time in times) Assert.Contains($"<td class=\"time\">{time}</td>", index);
        Assert.Contains($"<th class=\"time total\">{total.Groups["time"].Value}</th>", index);
        Assert.Contains($"total wall time {total.Groups["time"].Value}", index);
    }

    [Fact]
    public void The_worker_gets_the_skip_tags_and_show_code_of_the_run()
    {
        var options = RunCommand.Parse(["nb.ipynb", "--skip-tag", "figures", "--skip-tag=slow", "--show-code", "--out", "o"])!;
        Assert.Equal(["figures", "slow"], options.SkipTags);
        Assert.True(options.ShowCode);
        var worker = RunCommand.Parse(["nb.ipynb", .. options.ToArguments()])!;
        Assert.Equal(options.SkipTags, worker.SkipTags);
        Assert.True(worker.ShowCode);
        Assert.False(RunCommand.Parse(["nb.ipynb"])!.ShowCode);
        Assert.Empty(RunCommand.Parse(["nb.ipynb"])!.SkipTags);
    }

    [Theory]
    [InlineData("--skip-tag needs a value", "--skip-tag")]
    [InlineData("--skip-tag needs a cell tag, got the option '--show-code'", "--skip-tag", "--show-code")]
    [InlineData("--skip-tag wants one cell tag (no spaces or commas", "--skip-tag", "two tags")]
    [InlineData("--skip-tag wants one cell tag (no spaces or commas", "--skip-tag", "figures,slow")]
    [InlineData("--skip-tag wants one cell tag (no spaces or commas", "--skip-tag=")]
    [InlineData("--skip-tag parameters: the cell tagged \"parameters\" holds the notebook's knobs", "--skip-tag", "parameters")]
    [InlineData("--show-code takes no value", "--show-code=yes")]
    [InlineData("unknown option --show-codes", "--show-codes")]
    [InlineData("--render-only takes no value", "--render-only=1")]
    [InlineData("--render-only and --train contradict each other", "--profile", "paper", "--render-only", "--train")]
    [InlineData("--train is for --profile paper", "--train")]
    [InlineData("--train is for --profile paper", "--profile", "quick", "--train")]
    public async Task Bad_skip_tag_and_show_code_arguments_exit_2_with_a_message_and_the_usage(string message, params string[] args)
    {
        var folder = TestPaths.NewOutputFolder("bad-skip-tag");
        var (exitCode, log) = await RunnerTests.Run([TestPaths.TestNotebook, "--out", Path.Combine(folder, "out"), .. args]);

        Assert.True(exitCode == ExitCodes.BadArguments, log);
        Assert.Contains($"error: {message}", log);
        Assert.Contains("usage: lab run", log);
        Assert.False(Directory.Exists(Path.Combine(folder, "out")), "nothing should run");
    }

    [Fact]
    public void The_worker_gets_render_only_and_the_runs_environment()
    {
        var options = RunCommand.Parse(["nb.ipynb", "--render-only", "--out", "o"])!;
        Assert.True(options.RenderOnly);
        Assert.True(RunCommand.Parse(["nb.ipynb", .. options.ToArguments()])!.RenderOnly);
        Assert.False(RunCommand.Parse(["nb.ipynb"])!.RenderOnly);
        Assert.True(RunCommand.Parse(["nb.ipynb", "--profile", "paper", "--train"])!.Train);
    }

    [Fact]
    public async Task A_render_only_run_and_the_runs_environment_reach_the_notebooks_process()
    {
        var folder = TestPaths.NewOutputFolder("render-only-env");
        string notebook = TestNotebooks.Write(folder, "env",
            """Console.WriteLine($"render-only={Environment.GetEnvironmentVariable("LORALAB_RENDER_ONLY")} store={Environment.GetEnvironmentVariable("LORALAB_RESULTS_DB")}");""");
        var log = new StringWriter();
        int exitCode = await RunCommand.RunAsync([notebook, "--render-only", "--out", Path.Combine(folder, "out")], log, TestPaths.WorkerCommand,
            prepare: (options, _) => options with { Environment = new Dictionary<string, string> { ["LORALAB_RESULTS_DB"] = "/somewhere/paper.db" } });
        Assert.True(exitCode == ExitCodes.Ok, log.ToString());
        string executed = File.ReadAllText(Path.Combine(folder, "out", "env.ipynb"));
        Assert.Contains("render-only=1 store=/somewhere/paper.db", executed);
        Assert.True((bool?)System.Text.Json.Nodes.JsonNode.Parse(executed)!["metadata"]!["loralab"]!["render_only"] == true);
        Assert.Contains("render-only: drawn from the stored runs, nothing trained", File.ReadAllText(Path.Combine(folder, "out", "env.html")));
    }

    [Fact]
    public void The_usage_documents_both_options() =>
        Assert.Matches(@"--skip-tag TAG .*\n(.*\n)*\s+--show-code ", RunCommand.Usage);
}
