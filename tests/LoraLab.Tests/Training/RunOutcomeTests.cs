using LoraLab.Data.Results;
using LoraLab.Data.Sweeps;
using LoraLab.Training;

namespace LoraLab.Tests.Training;

public class RunOutcomeTests
{
    private static TrainingResult Result(bool diverged) => new(
        Diverged: diverged, DivergenceReason: diverged ? "loss is NaN at step 3" : null, Steps: 3, FinalTrainLoss: 0.5,
        FinalEvalLoss: diverged ? null : 0.7, Metrics: [(1, "train_loss", 1.0), (3, "train_loss", 0.5)],
        Elapsed: TimeSpan.FromSeconds(2), Tokens: 96);

    [Fact]
    public void A_finished_training_becomes_a_done_run_with_the_standard_final_metrics_and_the_extra_ones()
    {
        var outcome = RunOutcome.From(Result(diverged: false), extra: new Dictionary<string, double> { ["test_accuracy"] = 0.8, ["train_loss"] = 0.4 });
        Assert.Equal(RunStatus.Done, outcome.Status);
        Assert.Equal(0.4, outcome.FinalMetrics["train_loss"]);        // the caller's value wins
        Assert.Equal(0.7, outcome.FinalMetrics["eval_loss"]);
        Assert.Equal(0.8, outcome.FinalMetrics["test_accuracy"]);
        Assert.Equal((3.0, 96.0, 2.0), (outcome.FinalMetrics["steps"], outcome.FinalMetrics["tokens"], outcome.FinalMetrics["seconds"]));
    }

    [Fact]
    public void A_diverged_training_becomes_a_diverged_run_carrying_the_trainers_reason_and_no_eval_loss()
    {
        var outcome = RunOutcome.From(Result(diverged: true));
        Assert.Equal(RunStatus.Diverged, outcome.Status);
        Assert.Equal("loss is NaN at step 3", outcome.Note);
        Assert.False(outcome.FinalMetrics.ContainsKey("eval_loss"));
    }

    [Fact]
    public void Given_a_context_every_logged_metric_goes_to_the_runs_series()
    {
        string folder = TestSupport.TempDir("outcome");
        using var store = new ResultsStore(Path.Combine(folder, "results.db"));
        new SweepRunner(store, new SweepOptions { Progress = TextWriter.Null, GitCommit = "test" })
            .Run("exp", [new { lr = 0.1 }], [0], (_, _, context) => RunOutcome.From(Result(diverged: false), context));
        var run = Assert.Single(store.Runs("exp"));
        Assert.Equal([new MetricPoint(1, 1.0), new MetricPoint(3, 0.5)], store.MetricSeries(run.Id, "train_loss"));
    }
}
