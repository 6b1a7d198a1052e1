using System.Text.Json.Nodes;
using LoraLab.Notebooks.Documents;
using LoraLab.Notebooks.Runner;

namespace LoraLab.Notebooks.Tests;

/// <summary>Runs the test notebook once with defaults; the tests below inspect what that run wrote.</summary>
public sealed class DefaultRunFixture : IAsyncLifetime
{
    public string OutputFolder { get; } = TestPaths.NewOutputFolder("default-run");
    public int ExitCode { get; private set; }
    public string Log { get; private set; } = "";
    public JsonObject Executed { get; private set; } = new();
    public string Report { get; private set; } = "";
    public string ReportPath => Path.Combine(OutputFolder, "runner-test.html");

    public async Task InitializeAsync()
    {
        (ExitCode, Log) = await RunnerTests.Run(TestPaths.TestNotebook, "--out", OutputFolder);
        Executed = JsonNode.Parse(File.ReadAllText(Path.Combine(OutputFolder, "runner-test.ipynb")))!.AsObject();
        Report = File.ReadAllText(ReportPath);
    }

    public Task DisposeAsync() => Task.CompletedTask;
}

/// <summary>Shares one <see cref="DefaultRunFixture"/> between the runner and browser tests.</summary>
[CollectionDefinition(Name)]
public sealed class DefaultRunCollection : ICollectionFixture<DefaultRunFixture>
{
    public const string Name = "default run";
}

[Collection(DefaultRunCollection.Name)]
public class RunnerTests(DefaultRunFixture run)
{
    public static async Task<(int ExitCode, string Log)> Run(params string[] args) => await Run(CancellationToken.None, args);

    /// <summary>`lab run ARGS` in this process (its workers are the built lab.dll); returns the exit code and the terminal output.</summary>
    public static async Task<(int ExitCode, string Log)> Run(CancellationToken interrupt, params string[] args)
    {
        var log = new StringWriter();
        var exitCode = await RunCommand.RunAsync(args, log, TestPaths.WorkerCommand, interrupt);
        return (exitCode, log.ToString());
    }

    static List<JsonObject> CodeCells(JsonObject notebook) =>
        notebook["cells"]!.AsArray().Select(c => c!.AsObject()).Where(c => (string?)c["cell_type"] == "code").ToList();

    static string AllText(JsonObject cell) => string.Concat(cell["outputs"]!.AsArray().Select(o => o!.ToJsonString()));

    static JsonObject CellContaining(JsonObject notebook, string source) =>
        CodeCells(notebook).Single(c => NotebookCell.JoinMultiline(c["source"]).Contains(source));

    static string PlainResult(JsonObject cell) =>
        NotebookCell.JoinMultiline(cell["outputs"]!.AsArray().Single(o => (string?)o!["output_type"] == "execute_result")!["data"]!["text/plain"]);

    [Fact]
    public void Default_run_succeeds_and_shows_progress_per_cell()
    {
        Assert.True(run.ExitCode == 0, run.Log);
        Assert.Contains("[1/8] cell ok", run.Log);
        Assert.Contains("[8/8] cell ok", run.Log);
    }

    [Fact]
    public void Executed_notebook_is_valid_nbformat_4_with_outputs_in_place()
    {
        NbformatAssert.Valid(run.Executed);
        var cells = CodeCells(run.Executed);
        Assert.All(cells, cell => Assert.NotNull(cell["execution_count"]));
        Assert.Equal(Enumerable.Range(1, cells.Count), cells.Select(c => (int)c["execution_count"]!));
        Assert.Contains("label=default steps=5", AllText(CellContaining(run.Executed, "var squares")));
        Assert.Equal("55", PlainResult(CellContaining(run.Executed, "squares.Sum")));
        Assert.Equal("loralab-csharp", (string?)run.Executed["metadata"]!["kernelspec"]!["name"]);
    }

    [Fact]
    public void Sequences_of_records_display_as_tables_and_figures_as_plotly()
    {
        var table = CodeCells(run.Executed).Single(c => NotebookCell.JoinMultiline(c["source"]) == "squares");
        var tableHtml = NotebookCell.JoinMultiline(table["outputs"]![0]!["data"]!["text/html"]);
        Assert.Contains("<table class=\"loralab-table\">", tableHtml);
        Assert.Contains("<th>Square</th>", tableHtml);

        var figure = CellContaining(run.Executed, "new Figure");
        var display = figure["outputs"]!.AsArray().Single()!;
        Assert.Equal("display_data", (string?)display["output_type"]);
        Assert.Contains("Plotly.newPlot", NotebookCell.JoinMultiline(display["data"]!["text/html"]));
    }

    [Fact]
    public void The_executed_notebooks_chart_loads_plotly_from_the_installed_copy_relative_to_the_output_folder()
    {
        // So that the executed .ipynb, exported with nbconvert beside it, draws offline (ExportedNotebookTests shows the
        // export drawing; here: the worker told the chart where its pages go, not where the process runs).
        var figure = CellContaining(run.Executed, "new Figure");
        var html = NotebookCell.JoinMultiline(figure["outputs"]!.AsArray().Single()!["data"]!["text/html"]);
        var installed = LoraLab.Display.PlotlySources.From(run.OutputFolder)[0];
        Assert.StartsWith("../", installed);
        Assert.True(File.Exists(Path.Combine(run.OutputFolder, installed)), $"{installed} does not resolve from {run.OutputFolder}");
        Assert.Contains($"sources = [\"{installed}\",", html);
    }

    [Fact]
    public void Report_embeds_plotly_once_and_renders_markdown()
    {
        Assert.Equal(1, CountOf(run.Report, "plotly.js v4.1.2"));
        Assert.Contains("<h1 id=\"runner-test-notebook\">Runner test notebook</h1>", run.Report);
        Assert.Contains("<strong>table</strong>", run.Report);
        Assert.Contains("runner-test.html", File.ReadAllText(Path.Combine(run.OutputFolder, "index.html")));
    }

    [Fact]
    public void Script_text_in_outputs_and_markdown_is_escaped_in_the_report()
    {
        Assert.DoesNotContain("<script>alert('stdout')</script>", run.Report);
        Assert.DoesNotContain("<script>document.title", run.Report);
        Assert.DoesNotContain("<script>alert('markdown", run.Report);
        Assert.Contains("&lt;script&gt;alert(&#39;stdout&#39;)&lt;/script&gt;", run.Report);
        Assert.Contains("&lt;script&gt;document.title", run.Report);
    }

    [Fact]
    public void Script_urls_in_markdown_links_autolinks_and_images_are_not_live_in_the_report()
    {
        MarkdownSafetyTests.AssertNoLiveScriptUrl(run.Report[run.Report.IndexOf("</head>", StringComparison.Ordinal)..]); // not plotly.js's own code
        Assert.Contains("<a href=\"#unsafe-url-removed\">a script link</a>", run.Report);
        Assert.Contains("href=\"https://arxiv.org/abs/2106.09685\"", run.Report);
        Assert.Contains("href=\"../README.md\"", run.Report);
    }

    [Fact]
    public async Task Param_override_changes_the_output()
    {
        var output = TestPaths.NewOutputFolder("param-run");
        var (exitCode, log) = await Run(TestPaths.TestNotebook, "--param", "steps=7", "--param", "label=override", "--profile", "ci", "--out", output);

        Assert.True(exitCode == 0, log);
        var executed = JsonNode.Parse(File.ReadAllText(Path.Combine(output, "runner-test.ipynb")))!.AsObject();
        var injected = CodeCells(executed)[2];
        Assert.Contains("injected-parameters", injected["metadata"]!["tags"]!.ToJsonString());
        Assert.Contains("int steps = 7;", NotebookCell.JoinMultiline(injected["source"]));
        Assert.Contains("var profile = \"ci\";", NotebookCell.JoinMultiline(injected["source"]));
        Assert.Contains("label=override steps=7", AllText(CellContaining(executed, "var squares")));
        Assert.Equal("140", PlainResult(CellContaining(executed, "squares.Sum")));
    }

    [Fact]
    public async Task Failing_cell_stops_the_notebook_keeps_earlier_outputs_and_exits_non_zero()
    {
        var output = TestPaths.NewOutputFolder("failing-run");
        var (exitCode, log) = await Run(TestPaths.TestNotebook, "--param", "fail=true", "--out", output);

        Assert.Equal(1, exitCode);
        Assert.Contains("FAILED", log);
        var executed = JsonNode.Parse(File.ReadAllText(Path.Combine(output, "runner-test.ipynb")))!.AsObject();
        NbformatAssert.Valid(executed);
        Assert.Contains("label=default steps=5", AllText(CellContaining(executed, "var squares")));

        var failed = CellContaining(executed, "if (fail)");
        var error = failed["outputs"]!.AsArray().Single()!;
        Assert.Equal("error", (string?)error["output_type"]);
        Assert.Equal("System.InvalidOperationException", (string?)error["ename"]);
        Assert.Equal("failing on purpose", (string?)error["evalue"]);

        var after = CodeCells(executed).SkipWhile(c => c != failed).Skip(1).ToList();
        Assert.NotEmpty(after);
        Assert.All(after, cell => { Assert.Null(cell["execution_count"]); Assert.Empty(cell["outputs"]!.AsArray()); });

        var report = File.ReadAllText(Path.Combine(output, "runner-test.html"));
        Assert.Contains("failing on purpose", report);
        Assert.Contains("not run", report);
        Assert.Contains("failed", File.ReadAllText(Path.Combine(output, "index.html")));
    }

    [Fact]
    public async Task Bad_notebooks_are_clear_errors_and_the_next_notebook_still_runs()
    {
        var output = TestPaths.NewOutputFolder("bad-run");
        var broken = Path.Combine(TestPaths.NewOutputFolder("bad-sources"), "broken.ipynb");
        File.WriteAllText(broken, "{ this is not json");

        var (exitCode, log) = await Run(Path.Combine(output, "missing.ipynb"), broken, TestPaths.TestNotebook, "--out", output);

        Assert.Equal(1, exitCode);
        Assert.Contains("no such notebook file", log);
        Assert.Contains("not valid JSON", log);
        Assert.True(File.Exists(Path.Combine(output, "runner-test.html")));
        var index = File.ReadAllText(Path.Combine(output, "index.html"));
        Assert.Contains("invalid", index);
        Assert.Contains("runner-test.html", index);
    }

    [Fact]
    public async Task Bad_arguments_exit_with_usage()
    {
        var (exitCode, log) = await Run("--profile", "huge");
        Assert.Equal(2, exitCode);
        Assert.Contains("usage: lab run", log);
    }

    static int CountOf(string text, string part) => (text.Length - text.Replace(part, "").Length) / part.Length;
}
