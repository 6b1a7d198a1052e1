using System.Diagnostics;
using System.Text.Json.Nodes;
using static LoraLab.Notebooks.Tests.TestNotebooks;

namespace LoraLab.Notebooks.Tests;

/// <summary>
/// Checks notebooks with the reference implementation, Python's nbformat package, against the 4.5 schema (every cell
/// with an id), treating its warnings (MissingIDFieldWarning) as errors. Needs /usr/bin/python3 with python3-nbformat.
/// </summary>
public class NbformatValidationTests
{
    const string Validator = """
        import json, sys, warnings
        import nbformat
        from nbformat.validator import validate
        warnings.simplefilter("error")
        for path in sys.argv[1:]:
            with open(path, encoding="utf-8") as f:
                notebook = nbformat.from_dict(json.load(f))
            if notebook.get("nbformat_minor", 0) < 5:
                sys.exit(f"{path}: nbformat_minor {notebook.get('nbformat_minor')} < 5: cells have no ids")
            try:
                validate(notebook, version=4, version_minor=5)
            except Exception as error:
                sys.exit(f"{path}: {type(error).__name__}: {str(error)[:2000]}")
        print(f"{len(sys.argv) - 1} valid")
        """;

    static void AssertValid(params string[] paths)
    {
        var start = new ProcessStartInfo("/usr/bin/python3") { RedirectStandardOutput = true, RedirectStandardError = true };
        start.ArgumentList.Add("-c");
        start.ArgumentList.Add(Validator);
        foreach (var path in paths) start.ArgumentList.Add(path);
        using var python = Process.Start(start)!;
        var stderr = python.StandardError.ReadToEndAsync();
        var stdout = python.StandardOutput.ReadToEnd();
        python.WaitForExit();
        Assert.True(python.ExitCode == 0, $"{stdout}{stderr.Result} (needs python3-nbformat: apt-get install python3-nbformat)");
    }

    [Fact]
    public void The_test_notebooks_are_valid_nbformat_4_5() =>
        AssertValid(Directory.GetFiles(Path.Combine(TestPaths.RepositoryRoot, "tests", "notebooks"), "*.ipynb"));

    [Fact]
    public void The_workbooks_notebooks_are_valid_nbformat_4_5_and_declare_the_LoraLab_kernel()
    {
        var notebooks = Directory.GetFiles(Path.Combine(TestPaths.RepositoryRoot, "notebooks"), "*.ipynb");
        Assert.NotEmpty(notebooks);
        AssertValid(notebooks);
        foreach (var path in notebooks)
        {
            var metadata = JsonNode.Parse(File.ReadAllText(path))!["metadata"]!;
            Assert.True((string?)metadata["kernelspec"]?["name"] == "loralab-csharp", $"{path}: kernelspec is not loralab-csharp");
            Assert.True((string?)metadata["language_info"]?["name"] == "C#", $"{path}: language_info.name is not C#");
            Assert.DoesNotContain("polyglot", File.ReadAllText(path));
        }
    }

    [Fact]
    public async Task Executed_copies_are_valid_nbformat_4_5_with_stable_ids_kept_or_given()
    {
        var folder = TestPaths.NewOutputFolder("ids");
        // An nbformat 4.4 notebook: one cell with an id to keep, one without, one with a duplicate, one with a bad id.
        var notebook = new JsonObject
        {
            ["nbformat"] = 4, ["nbformat_minor"] = 4, ["metadata"] = new JsonObject(),
            ["cells"] = new JsonArray(
                new JsonObject { ["cell_type"] = "markdown", ["metadata"] = new JsonObject(), ["source"] = "# t", ["id"] = "title" },
                Code("var steps = 1;", null, "parameters"),
                Code("Console.WriteLine(steps); display(HTML(\"<b>x</b>\"));"),
                new JsonObject { ["cell_type"] = "raw", ["metadata"] = new JsonObject(), ["source"] = "raw", ["id"] = "title" },
                Code("steps * 2", new JsonObject()).Also(cell => cell["id"] = "not valid!"),
                Code("throw new Exception(\"fails\");"),
                Code("1")),
        };
        var path = Path.Combine(folder, "ids.ipynb");
        File.WriteAllText(path, notebook.ToJsonString());

        var ids = new List<List<string>>();
        foreach (var run in new[] { "a", "b" })
        {
            var (exitCode, log) = await RunnerTests.Run(path, "--param", "steps=3", "--out", Path.Combine(folder, run));
            Assert.True(exitCode == 1, log); // the failing cell
            var executed = Path.Combine(folder, run, "ids.ipynb");
            AssertValid(executed);
            ids.Add(Load(executed)["cells"]!.AsArray().Select(cell => (string)cell!["id"]!).ToList());
        }
        Assert.Equal(ids[0], ids[1]);
        Assert.Equal("title", ids[0][0]);
        Assert.Equal(ids[0].Count, ids[0].Distinct().Count());
        Assert.Contains("injected-parameters", ids[0]);
    }
}

static class JsonObjectExtensions
{
    public static JsonObject Also(this JsonObject json, Action<JsonObject> change)
    {
        change(json);
        return json;
    }
}
