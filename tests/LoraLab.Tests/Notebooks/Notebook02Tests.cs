using System.Text.Json;
using LoraLab.Data;
using LoraLab.Data.Results;
using LoraLab.Data.Sweeps;

namespace LoraLab.Tests.Notebooks;

/// <summary>
/// Notebook 02 as a user runs it: the built `lab` command on the ci profile, in a child process, with knobs
/// changed from the command line. Needs `./lab build` (the CLI) and takes about a minute or two on 2 cores.
/// </summary>
public class Notebook02Tests
{
    private static (int exitCode, string output) Lab(params string[] arguments) => LabCommand.Run(arguments);

    [Fact]
    public void Param_r_4_trains_every_run_of_the_ci_profile_with_rank_4_into_the_given_store()
    {
        string folder = TestSupport.TempDir("nb02");
        string storePath = Path.Combine(folder, "x.db");
        var (exitCode, output) = Lab("run", "notebooks/02-learning-rate-sweeps.ipynb", "--profile", "ci",
                                     "--param", "r=4", "--param", $"store_path={storePath}", "--out", folder);
        Assert.True(exitCode == 0, $"lab run exited with {exitCode}:\n{output}");

        using var store = new ResultsStore(storePath);
        var runs = store.Runs("02-learning-rates");
        var configs = runs.Select(run => JsonDocument.Parse(run.ConfigJson).RootElement).ToList();
        Assert.Contains(configs, c => c.GetProperty("method").GetString() == "Lora");
        Assert.Contains(configs, c => c.GetProperty("method").GetString() == "HeadOnly");
        Assert.All(configs, c => Assert.Equal(4, c.GetProperty("r").GetInt32()));
        Assert.All(runs, run => Assert.True(run.Status is RunStatus.Done or RunStatus.Diverged, $"run {run.Id} is {run.Status}: {run.Error}"));
        // The init is stored by its enum name, not a number.
        Assert.All(configs, c => Assert.StartsWith("Init", c.GetProperty("init").GetString()));

        // ci's grids are short (η: 4e-3, 1.6e-2, 6.4e-2; LoRA+'s η_A: 1e-3, 4e-3), so some curve's optimum lies on an end:
        // the sweep grows that curve's grid one step (×4) past it and stores those runs like the grid's.
        using var executed = JsonDocument.Parse(File.ReadAllText(Path.Combine(folder, "02-learning-rate-sweeps.ipynb")));
        var sweepCell = executed.RootElement.GetProperty("cells").EnumerateArray().Single(c => c.GetProperty("id").GetString() == "sweep");
        Assert.Contains("widening the grid", sweepCell.GetProperty("outputs").GetRawText());
        double[] ciRates = [4e-3, 1.6e-2, 6.4e-2, 1e-3];
        Assert.Contains(configs, c => !ciRates.Any(lr => Math.Abs(c.GetProperty("learning_rate").GetDouble() / lr - 1) < 1e-9));
    }

    [Fact]
    public void A_negative_grid_extensions_is_refused_by_name_before_anything_trains()
    {
        string folder = TestSupport.TempDir("nb02-knob");
        string storePath = Path.Combine(folder, "x.db");
        var (exitCode, output) = Lab("run", "notebooks/02-learning-rate-sweeps.ipynb", "--profile", "ci",
                                     "--param", $"store_path={storePath}", "--param", "grid_extensions=-1", "--out", folder);
        Assert.True(exitCode == 1, $"lab run exited with {exitCode}, not 1 (a failed cell):\n{output}");
        Assert.Contains("grid_extensions must be 0 or more, got -1", output);
        Assert.False(File.Exists(storePath), "the results store was opened: the run went past its knobs");
    }

    [Fact]
    public void A_shard_trains_only_its_part_of_the_grid_and_draws_nothing()
    {
        string folder = TestSupport.TempDir("nb02-shard");
        string storePath = Path.Combine(folder, "shard.db");
        var (exitCode, output) = Lab("run", "notebooks/02-learning-rate-sweeps.ipynb", "--profile", "ci",
                                     "--param", "shard=1/2", "--param", $"store_path={storePath}", "--out", folder, "--skip-tag", "figures");
        Assert.True(exitCode == 0, $"lab run exited with {exitCode}:\n{output}");

        using var store = new ResultsStore(storePath);
        var runs = store.Runs("02-learning-rates");
        Assert.NotEmpty(runs);
        var shard = Shard.Parse("1/2");
        Assert.All(runs, run => Assert.True(shard.Contains("02-learning-rates", run.ConfigHash, run.Seed), $"run {run.Id} belongs to another shard"));

        // The cells after the sweep (figures, tables, findings) print and display nothing in a shard.
        using var executed = JsonDocument.Parse(File.ReadAllText(Path.Combine(folder, "02-learning-rate-sweeps.ipynb")));
        var cells = executed.RootElement.GetProperty("cells").EnumerateArray().ToList();
        int sweep = cells.FindIndex(c => c.GetProperty("id").GetString() == "sweep");
        Assert.True(sweep > 0, "the notebook has no cell with id 'sweep'");
        var after = cells.Skip(sweep + 1).Where(c => c.GetProperty("cell_type").GetString() == "code").ToList();
        Assert.NotEmpty(after);
        Assert.All(after, c => Assert.Equal(0, c.GetProperty("outputs").GetArrayLength()));
    }
}
