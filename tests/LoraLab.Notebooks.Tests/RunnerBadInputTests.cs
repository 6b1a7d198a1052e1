using System.Text.Json.Nodes;
using LoraLab.Notebooks.Documents;
using LoraLab.Notebooks.Runner;
using static LoraLab.Notebooks.Tests.TestNotebooks;

namespace LoraLab.Notebooks.Tests;

/// <summary>
/// The runner against bad input: each case gives a clear message naming the file, cell or parameter, the documented
/// exit code, and no unhandled exception.
/// </summary>
public class RunnerBadInputTests
{
    static string Parameters(string folder, string name, string declarations, string use) =>
        Write(folder, name, new JsonObject(), Code(declarations, null, "parameters"), Code(use));

    [Fact]
    public async Task Out_under_a_regular_file_is_a_bad_argument_that_names_the_file()
    {
        var folder = TestPaths.NewOutputFolder("out-under-file");
        var file = Path.Combine(folder, "a-file");
        File.WriteAllText(file, "not a folder");

        var (exitCode, log) = await RunnerTests.Run(TestPaths.TestNotebook, "--out", Path.Combine(file, "reports"));

        Assert.True(exitCode == ExitCodes.BadArguments, log);
        Assert.Contains($"{file} is a file", log);
        Assert.DoesNotContain("Exception", log);
    }

    [Fact]
    public async Task Out_equal_to_the_notebooks_folder_is_refused_and_the_source_is_untouched()
    {
        var folder = TestPaths.NewOutputFolder("out-is-source");
        var notebook = Write(folder, "source", "Console.WriteLine(\"ran\");");
        var before = File.ReadAllText(notebook);

        var (exitCode, log) = await RunnerTests.Run(notebook, "--out", folder);

        Assert.True(exitCode == ExitCodes.BadArguments, log);
        Assert.Contains("would overwrite the source notebook", log);
        Assert.Equal(before, File.ReadAllText(notebook));
    }

    [Fact]
    public async Task Unknown_cell_type_is_an_error_naming_the_cell()
    {
        var folder = TestPaths.NewOutputFolder("cell-type");
        var notebook = Write(folder, "odd", new JsonObject(), Code("1"),
            new JsonObject { ["cell_type"] = "widget", ["id"] = "the-widget", ["metadata"] = new JsonObject(), ["source"] = "" });

        var (exitCode, log) = await RunnerTests.Run(notebook, "--out", folder + "/out");

        Assert.True(exitCode == ExitCodes.Failed, log);
        Assert.Contains("odd.ipynb: cell 2 (id \"the-widget\"): unknown cell_type \"widget\"", log);
        Assert.Contains("invalid", File.ReadAllText(Path.Combine(folder, "out", "index.html")));
    }

    [Fact]
    public void A_code_cell_without_source_is_an_nbformat_error_naming_the_cell()
    {
        var error = Assert.Throws<NotebookFormatException>(() => NotebookDocument.Parse("""
            {"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": [
              {"cell_type": "code", "id": "x", "metadata": {}, "outputs": [], "execution_count": null}]}
            """, "nb.ipynb"));
        Assert.Contains("nb.ipynb: cell 1 (id \"x\"): this code cell has no \"source\"", error.Message);
    }

    [Fact]
    public void A_source_that_is_not_text_is_an_nbformat_error()
    {
        var error = Assert.Throws<NotebookFormatException>(() => NotebookDocument.Parse("""
            {"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": [{"cell_type": "markdown", "metadata": {}, "source": 7}]}
            """, "nb.ipynb"));
        Assert.Contains("cell 1: \"source\" must be a string or a list of strings", error.Message);
    }

    [Fact]
    public async Task An_unknown_param_name_is_a_warning_naming_it_and_the_known_ones()
    {
        var folder = TestPaths.NewOutputFolder("unknown-param");
        var notebook = Parameters(folder, "p", "var steps = 5;\nvar label = \"a\";", "Console.WriteLine(steps);");

        var (exitCode, log) = await RunnerTests.Run(notebook, "--param", "stpes=7", "--out", folder + "/out");

        Assert.True(exitCode == ExitCodes.Ok, log);
        Assert.Contains("warning: p.ipynb: no parameters cell declares stpes (they declare: steps, label)", log);
    }

    [Theory]
    [InlineData("not a name=1")]
    [InlineData("1abc=1")]
    [InlineData("=1")]
    public async Task An_invalid_param_name_exits_2(string param)
    {
        var (exitCode, log) = await RunnerTests.Run(TestPaths.TestNotebook, "--param", param, "--out", TestPaths.NewOutputFolder("bad-name"));
        Assert.True(exitCode == ExitCodes.BadArguments, log);
        Assert.Contains("usage: lab run", log);
    }

    [Fact]
    public async Task A_value_of_the_wrong_type_is_refused_before_anything_runs()
    {
        var folder = TestPaths.NewOutputFolder("wrong-type");
        var marker = Path.Combine(folder, "ran");
        var notebook = Parameters(folder, "p", "var steps = 5;", $"System.IO.File.WriteAllText(@\"{marker}\", \"\");");

        var (exitCode, log) = await RunnerTests.Run(notebook, "--param", "steps=many", "--out", folder + "/out");

        Assert.True(exitCode == ExitCodes.BadArguments, log);
        Assert.Contains("p.ipynb: --param steps=many: 'many' is not an int", log);
        Assert.False(File.Exists(marker));
        Assert.False(File.Exists(Path.Combine(folder, "out", "p.ipynb")));
    }

    [Fact]
    public async Task A_param_of_a_type_without_literals_is_refused_and_its_value_never_runs_as_code()
    {
        var folder = TestPaths.NewOutputFolder("code-injection");
        var payload = Path.Combine(folder, "pwned");
        var notebook = Parameters(folder, "p", "System.TimeSpan wait = System.TimeSpan.FromSeconds(1);", "Console.WriteLine(wait);");

        var (exitCode, log) = await RunnerTests.Run(notebook,
            "--param", $"wait=System.TimeSpan.Zero; System.IO.File.WriteAllText(@\"{payload}\", \"x\")", "--out", folder + "/out");

        Assert.True(exitCode == ExitCodes.BadArguments, log);
        Assert.Contains("declares it as System.TimeSpan, which lab run cannot set from the command line", log);
        Assert.False(File.Exists(payload));
    }

    [Fact]
    public async Task A_string_param_that_looks_like_code_stays_a_string()
    {
        var folder = TestPaths.NewOutputFolder("string-param");
        var payload = Path.Combine(folder, "pwned");
        var notebook = Parameters(folder, "p", "var label = \"x\";", "Console.WriteLine($\"label=[{label}]\");");
        var value = $"\"; System.IO.File.WriteAllText(@\"{payload}\", \"x\"); //";

        var (exitCode, log) = await RunnerTests.Run(notebook, "--param", $"label={value}", "--out", folder + "/out");

        Assert.True(exitCode == ExitCodes.Ok, log);
        Assert.False(File.Exists(payload));
        Assert.Contains($"label=[{value}]", Text(CodeCells(Load(Path.Combine(folder, "out", "p.ipynb")))[2]));
    }

    [Fact]
    public async Task Array_params_are_parsed_into_typed_literals()
    {
        var folder = TestPaths.NewOutputFolder("array-param");
        var notebook = Parameters(folder, "p", "var seeds = new[] { 0, 1 };\nvar rates = new double[] { 1e-3 };",
            "Console.WriteLine($\"{string.Join(\"|\", seeds)} {rates.Sum()}\");");

        var (exitCode, log) = await RunnerTests.Run(notebook, "--param", "seeds=3,4,5", "--param", "rates=[0.5, 0.25]", "--out", folder + "/out");

        Assert.True(exitCode == ExitCodes.Ok, log);
        Assert.Contains("3|4|5 0.75", Text(CodeCells(Load(Path.Combine(folder, "out", "p.ipynb")))[2]));
    }

    [Fact]
    public async Task A_cell_printing_50_MB_finishes_with_its_output_capped_and_a_truncation_note()
    {
        var folder = TestPaths.NewOutputFolder("big-output");
        // 50,000 writes of 1,000 characters: quadratic appending would copy terabytes and never finish.
        var notebook = Write(folder, "big", "var chunk = new string('x', 999) + \"\\n\";\nfor (var i = 0; i < 50_000; i++) Console.Write(chunk);");

        var (exitCode, log) = await RunnerTests.Run(notebook, "--out", folder + "/out");

        Assert.True(exitCode == ExitCodes.Ok, log);
        var cell = CodeCells(Load(Path.Combine(folder, "out", "big.ipynb")))[0];
        var text = Text(cell);
        Assert.InRange(text.Length, 1_000_000, 1_000_200);
        Assert.Contains("... output truncated: 49,000,000 bytes more", text);
        Assert.InRange(new FileInfo(Path.Combine(folder, "out", "big.html")).Length, 1_000_000, 1_500_000);
    }

    [Fact]
    public async Task A_long_cell_shows_a_heartbeat_and_its_output_lines_in_the_terminal_but_not_in_the_report()
    {
        var folder = TestPaths.NewOutputFolder("heartbeat");
        var notebook = Write(folder, "slow", "1", "for (var i = 0; i < 6; i++) { Console.WriteLine($\"step {i}\"); System.Threading.Thread.Sleep(500); }");

        var (exitCode, log) = await RunnerTests.Run(notebook, "--heartbeat", "0.5", "--out", folder + "/out");

        Assert.True(exitCode == ExitCodes.Ok, log);
        Assert.Matches(@"\[2/2\] cell running \d+s · last output: step \d", log);
        Assert.Contains("    | step 5", log);
        var report = File.ReadAllText(Path.Combine(folder, "out", "slow.html"));
        Assert.DoesNotContain("cell running", report);
        Assert.DoesNotContain("    | step", report);
    }

    [Theory]
    [InlineData("--timeout", "soon")]
    [InlineData("--timeout", "-1")]
    [InlineData("--heartbeat", "x")]
    public async Task Bad_timeouts_are_bad_arguments(string flag, string value)
    {
        var (exitCode, log) = await RunnerTests.Run(TestPaths.TestNotebook, flag, value);
        Assert.True(exitCode == ExitCodes.BadArguments, log);
        Assert.Contains($"{flag} wants a number of seconds", log);
    }

    [Fact]
    public async Task A_bad_timeout_in_cell_metadata_names_the_cell()
    {
        var folder = TestPaths.NewOutputFolder("bad-metadata-timeout");
        var notebook = Write(folder, "t", new JsonObject(), Code("1", new JsonObject { ["loralab"] = new JsonObject { ["timeout"] = "soon" } }));

        var (exitCode, log) = await RunnerTests.Run(notebook, "--out", folder + "/out");

        Assert.True(exitCode == ExitCodes.Failed, log);
        Assert.Contains("t.ipynb: cell 1 (id \"c1\"): metadata.loralab.timeout must be a number of seconds", log);
    }

    [Fact]
    public async Task A_worker_that_cannot_start_is_a_clear_error_not_a_crash()
    {
        var folder = TestPaths.NewOutputFolder("no-worker");
        var notebook = Write(folder, "n", "1");
        var log = new StringWriter();

        var exitCode = await RunCommand.RunAsync([notebook, "--out", folder + "/out"], log, ["/nonexistent/lab"]);

        Assert.True(exitCode == ExitCodes.Exited, log.ToString());
        Assert.Contains("could not start the worker process (/nonexistent/lab)", log.ToString());
        Assert.True(File.Exists(Path.Combine(folder, "out", "n.html")));
    }
}
