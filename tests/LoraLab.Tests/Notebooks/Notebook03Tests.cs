using System.Text.Json;
using LoraLab.Data;
using LoraLab.Data.Results;

namespace LoraLab.Tests.Notebooks;

/// <summary>
/// Notebook 03 as a user runs it: the built `lab` command on the ci profile in a child process, its sweeps in worker
/// processes (the library task DomainFinetune). Needs `./lab build` (the CLI); takes a minute or two on 2 cores.
/// </summary>
public class Notebook03Tests
{
    [Fact]
    public void The_ci_profile_runs_every_cell_stores_typed_methods_and_states_every_finding()
    {
        string folder = TestSupport.TempDir("nb03");
        string storePath = Path.Combine(folder, "x.db");
        var (exitCode, output) = LabCommand.Run("run", "notebooks/03-learning-and-forgetting.ipynb", "--profile", "ci",
                                              "--param", $"store_path={storePath}", "--out", folder);
        Assert.True(exitCode == 0, $"lab run exited with {exitCode}:\n{output}");

        using var store = new ResultsStore(storePath);
        var runs = store.Runs("03-learning-forgetting");
        Assert.All(runs, run => Assert.True(run.Status is RunStatus.Done or RunStatus.Diverged, $"run {run.Id} is {run.Status}: {run.Error}"));
        var configs = runs.Select(run => JsonDocument.Parse(run.ConfigJson).RootElement).ToList();
        // The method is a name, never a rank-encoded string; only LoRA has a rank, and r = 0 is never "full".
        Assert.Equal(new[] { "Base", "Full", "Lora" }, configs.Select(c => c.GetProperty("method").GetString()).Distinct().Order());
        Assert.All(configs, c => Assert.Equal(c.GetProperty("method").GetString() == "Lora", c.GetProperty("r").GetInt32() > 0));
        Assert.Equal(new[] { "Code", "Math" }, configs.Select(c => c.GetProperty("domain").GetString()).Distinct().Order());
        Assert.All(configs, c => Assert.Equal("tiny", c.GetProperty("base_profile").GetString()));

        // Every finding is stated: claims 1 to 5 in the table, and the two summary lines.
        using var executed = JsonDocument.Parse(File.ReadAllText(Path.Combine(folder, "03-learning-and-forgetting.ipynb")));
        var cells = executed.RootElement.GetProperty("cells").EnumerateArray().ToDictionary(c => c.GetProperty("id").GetString()!);
        string Text(string id) => string.Concat(cells[id].GetProperty("outputs").EnumerateArray().Select(o => o.GetRawText()));
        foreach (var claim in new[] { "1 LoRA learns less", "2 ordered by rank", "3 longer learns more", "4 LoRA's best learning rate is larger", "5 alpha = 2r learns more than a fixed small alpha" })
            Assert.Contains(claim, Text("findings-table"));
        Assert.Contains("LoRA learned less than full finetuning", Text("findings-summary"));

        // ci's grid has two rates (1e-3, 4e-3), so every optimum lies on one of its edges: the sweep widens it one grid
        // step (×4) past the edge before refining, and stores those runs like the grid's.
        Assert.Contains("widening the grid", Text("sweep-lr"));
        Assert.Contains(configs, c => c.GetProperty("method").GetString() != "Base" && Math.Abs(c.GetProperty("learning_rate").GetDouble() / 1.6e-2 - 1) < 1e-9);
    }

    [Fact]
    public void A_negative_grid_extensions_is_refused_by_name_before_anything_trains()
    {
        string folder = TestSupport.TempDir("nb03-knob");
        string storePath = Path.Combine(folder, "x.db");
        var (exitCode, output) = LabCommand.Run("run", "notebooks/03-learning-and-forgetting.ipynb", "--profile", "ci",
                                              "--param", $"store_path={storePath}", "--param", "grid_extensions=-1", "--out", folder);
        Assert.True(exitCode == 1, $"lab run exited with {exitCode}, not 1 (a failed cell):\n{output}");
        Assert.Contains("optimum_refinement and grid_extensions must be 0 or more, got 3 and -1", output);   // 3: the knob's default
        Assert.False(File.Exists(storePath), "the results store was opened: the run went past its knobs");
    }
}
