using LoraLab.Data.Results;
using LoraLab.Data.Sweeps;

namespace LoraLab.Data.Tests;

/// <summary>Render-only sweeps (`lab run --render-only`, the paper profile without a GPU): nothing is trained, what the
/// store has is read back, and what it lacks is counted and listed.</summary>
public class RenderOnlyTests
{
    private sealed record Config(string Name, double LearningRate);

    private static readonly Config[] Configs = [new("a", 0.1), new("b", 0.2), new("c", 0.3)];

    /// <summary>A task the sweeps can run by type (Run&lt;TTask, TConfig&gt;, One); counts its trainings.</summary>
    private sealed class CountingTask : ISoloSweepTask<CountingTask, Config>
    {
        public static int Trained;
        public static RunOutcome Train(Config config, int seed, RunContext context)
        {
            Interlocked.Increment(ref Trained);
            return RunOutcome.Done(new Dictionary<string, double> { ["loss"] = config.LearningRate + seed });
        }
    }

    private static RunOutcome Train(Config config, int seed, RunContext context) =>
        RunOutcome.Done(new Dictionary<string, double> { ["loss"] = config.LearningRate + seed });

    [Fact]
    public void A_render_only_sweep_trains_nothing_counts_what_the_store_lacks_and_lists_it_in_the_log()
    {
        using var folder = TestPaths.NewTemporaryFolder();
        using var store = new ResultsStore(folder.File("results.db"));
        new SweepRunner(store, new SweepOptions { Progress = TextWriter.Null, GitCommit = "test" }).Run("exp", Configs.Take(1), [0, 1], Train);

        var progress = new StringWriter();
        var log = new StringWriter();
        var summary = new SweepRunner(store, new SweepOptions { Progress = progress, Log = log, GitCommit = "test", RenderOnly = true })
            .Run("exp", Configs, [0, 1], (config, seed, context) => throw new InvalidOperationException("render-only must not train"));

        Assert.Equal((6, 2, 4, 0, 0), (summary.InShard, summary.AlreadyFinished, summary.Missing, summary.Done, summary.Failed));
        Assert.Equal(2, store.Runs().Count);                      // nothing claimed, nothing recorded
        Assert.Contains("render-only: 2 of 6 runs in the store; 4 missing, not trained", progress.ToString());
        var missing = log.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(4, missing.Length);
        Assert.All(missing, line => Assert.Contains("missing (render-only)", line));
        Assert.Single(missing, line => line.Contains("\"Name\":\"c\"") && line.Contains("seed 1"));
    }

    [Fact]
    public void Task_sweeps_and_one_run_cells_render_only_too()
    {
        using var folder = TestPaths.NewTemporaryFolder();
        using var store = new ResultsStore(folder.File("results.db"));
        var renderOnly = new SweepRunner(store, new SweepOptions { Progress = TextWriter.Null, GitCommit = "test", RenderOnly = true });
        int before = CountingTask.Trained;

        var summary = renderOnly.Run<CountingTask, Config>("exp", Configs, [0], SweepParallelism.Serial);
        Assert.Equal((3, 0), (summary.Missing, summary.Done));
        Assert.Null(renderOnly.One<CountingTask, Config>("exp", Configs[0], 0));
        Assert.Equal(before, CountingTask.Trained);

        // Trained once, the same run is read back in render-only mode.
        var trained = new SweepRunner(store, new SweepOptions { Progress = TextWriter.Null, GitCommit = "test" }).One<CountingTask, Config>("exp", Configs[0], 0);
        Assert.NotNull(trained);
        var shown = renderOnly.One<CountingTask, Config>("exp", Configs[0], 0);
        Assert.Equal(trained!.RunId, shown!.RunId);
        Assert.Equal(0.1, shown["loss"]);
    }

    [Fact]
    public void The_default_store_is_the_one_LORALAB_RESULTS_DB_names()
    {
        using var folder = TestPaths.NewTemporaryFolder();
        string before = ResultsStore.DefaultPath();
        Assert.EndsWith(Path.Combine("data", "results.db"), before);
        try
        {
            Environment.SetEnvironmentVariable(ResultsStore.DefaultPathVariable, folder.File("paper.db"));
            Assert.Equal(folder.File("paper.db"), ResultsStore.DefaultPath());
        }
        finally { Environment.SetEnvironmentVariable(ResultsStore.DefaultPathVariable, null); }
        Assert.Equal(before, ResultsStore.DefaultPath());
    }
}
