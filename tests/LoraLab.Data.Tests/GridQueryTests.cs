using LoraLab.Data.Results;
using LoraLab.Data.Sweeps;

namespace LoraLab.Data.Tests;

public class GridQueryTests
{
    public enum Init { InitA, InitB }

    public sealed record Config(Init init, int r, double learning_rate);

    private static SweepRunner Runner(ResultsStore store) => new(store, new SweepOptions { Progress = TextWriter.Null, GitCommit = "test" });

    [Fact]
    public void The_grid_query_returns_exactly_the_finished_runs_of_the_given_grid_in_grid_order()
    {
        using var folder = TestPaths.NewTemporaryFolder();
        using var store = new ResultsStore(folder.File("results.db"));
        Config[] grid = [new(Init.InitA, 4, 0.1), new(Init.InitB, 4, 0.1), new(Init.InitA, 8, 0.2)];
        Runner(store).Run("exp", grid, [0, 1], (config, seed, _) =>
            config.r == 8 && seed == 1 ? throw new InvalidOperationException("failed on purpose")
            : config.init == Init.InitB ? RunOutcome.Diverged("NaN", new Dictionary<string, double> { ["loss"] = double.NaN })
            : RunOutcome.Done(new Dictionary<string, double> { ["loss"] = config.learning_rate + seed }));
        // A run of another recipe under the same experiment name is never mixed in.
        Runner(store).Run("exp", [new Config(Init.InitA, 16, 0.1)], [0], (_, _, _) => RunOutcome.Done());

        var runs = store.Grid("exp", grid, [0, 1]);

        Assert.Equal([(Init.InitA, 4, 0), (Init.InitA, 4, 1), (Init.InitB, 4, 0), (Init.InitB, 4, 1), (Init.InitA, 8, 0)],
            runs.Select(run => (run.Config.init, run.Config.r, run.Seed)));
        Assert.Equal(1.1, runs[1]["loss"], 12);
        Assert.True(runs[2].Diverged && double.IsNaN(runs[2]["loss"]));
        Assert.True(double.IsNaN(runs[0]["no_such_metric"]));
    }

    [Fact]
    public void Configurations_read_back_from_the_store_equal_the_ones_that_ran_with_enums_stored_by_name()
    {
        using var folder = TestPaths.NewTemporaryFolder();
        using var store = new ResultsStore(folder.File("results.db"));
        Config[] grid = [new(Init.InitB, 4, 0.003), new(Init.InitA, 8, 1e-4)];
        Runner(store).Run("exp", grid, [7], (_, _, _) => RunOutcome.Done());

        Assert.Contains("\"init\":\"InitB\"", store.Runs("exp")[0].ConfigJson);
        var all = store.Grid<Config>("exp");
        Assert.Equal(grid, all.Select(run => run.Config));
        Assert.All(all, run => Assert.Equal(7, run.Seed));
    }
}
