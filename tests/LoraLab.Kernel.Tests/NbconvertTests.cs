using System.Text.Json.Nodes;

namespace LoraLab.Kernel.Tests;

/// <summary>`jupyter nbconvert --to notebook --execute` runs the workbook's notebook 00 on the LoraLab kernel.</summary>
[Collection(JupyterClientsCollection.Name)]
public sealed class NbconvertTests(JupyterClients clients)
{
    [Fact]
    public void Nbconvert_executes_notebook_00_with_the_kernel_and_keeps_its_outputs()
    {
        var notebooks = Path.Combine(JupyterClients.RepositoryRoot, "notebooks");
        var output = Path.Combine(Path.GetTempPath(), $"loralab-nbconvert-{Guid.NewGuid():N}");
        try
        {
            // nbconvert starts the kernel named by the notebook's own metadata, in the notebook's folder (its #r paths are relative).
            clients.RunPython(["-m", "nbconvert", "--to", "notebook", "--execute", "--ExecutePreprocessor.timeout=300",
                "--output-dir", output, "--output", "executed", Path.Combine(notebooks, "00-tour.ipynb")], notebooks, TimeSpan.FromMinutes(5));
            var executed = JsonNode.Parse(File.ReadAllText(Path.Combine(output, "executed.ipynb")))!;
            Assert.Equal("loralab-csharp", (string?)executed["metadata"]!["kernelspec"]!["name"]);
            var codeCells = executed["cells"]!.AsArray().Where(cell => (string?)cell!["cell_type"] == "code").ToList();
            Assert.All(codeCells, cell => Assert.NotNull((int?)cell!["execution_count"]));
            var outputs = codeCells.SelectMany(cell => cell!["outputs"]!.AsArray()).ToList();
            Assert.DoesNotContain(outputs, o => (string?)o!["output_type"] == "error");
            Assert.Contains(outputs, o => (string?)o!["output_type"] == "stream" && Text(o["text"]).Contains("libtorch"));
            // The training progress line was updated in place (update_display_data) up to the last step.
            Assert.Contains(outputs, o => (string?)o!["output_type"] == "display_data" && Text(o["data"]!["text/plain"]).StartsWith("step 300 / 300"));
            // The loss chart: Plotly JSON for front ends that draw it natively, HTML for the others.
            var chart = Assert.Single(outputs, o => o!["data"]?["application/vnd.plotly.v1+json"] is not null)!;
            Assert.NotNull(chart["data"]!["application/vnd.plotly.v1+json"]!["data"]);
            Assert.NotNull(chart["data"]!["text/html"]);
        }
        finally
        {
            if (Directory.Exists(output)) Directory.Delete(output, recursive: true);
        }
    }

    // nbformat stores multi-line text as a list of lines.
    static string Text(JsonNode? text) => text is JsonArray lines ? string.Concat(lines.Select(line => (string?)line)) : (string?)text ?? "";
}
