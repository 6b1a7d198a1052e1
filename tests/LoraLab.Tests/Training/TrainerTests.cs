using LoraLab.Data.Results;
using LoraLab.Data.Sweeps;
using LoraLab.Models;
using LoraLab.Optim;
using TorchSharp;
using static TorchSharp.torch;
using LoraLab.Modules;
using LoraLab.Training;

namespace LoraLab.Tests.Training;

public class TrainerTests
{
    private static readonly LlamaConfig Tiny = new(hidden_size: 32, num_hidden_layers: 1, num_attention_heads: 2, intermediate_size: 64, vocab_size: 40, max_position_embeddings: 16);

    // A tiny LM on a repeating token stream: a run that must learn, and can be made to diverge.
    private static TrainingResult TrainTinyLm(int seed, double lr, long steps = 30, ScalarType dtype = ScalarType.Float32)
    {
        torch.manual_seed(seed);
        using var model = new LlamaForCausalLM(Tiny, dtype);
        var stream = Enumerable.Range(0, 2000).Select(i => (i * 7 + i / 13) % 40).ToArray();
        var windows = new TokenWindows(stream, 16, 8, seed);
        using var optimizer = new AdamW(model.parameters(), lr: lr);
        return Trainer.Run(model, optimizer, Schedules.Constant(),
            (_, _) => { var b = windows.Next(); return new MicroBatchLoss(model.Loss(b), b.numel()); },
            new TrainerOptions { MaxSteps = steps, ProgressLabel = null, DivergenceFactor = 3 });
    }

    [Fact]
    public void A_seeded_cpu_run_gives_the_same_losses_twice()
    {
        var first = TrainTinyLm(seed: 5, lr: 3e-3).Series("train_loss");
        var second = TrainTinyLm(seed: 5, lr: 3e-3).Series("train_loss");
        Assert.Equal(30, first.Count);
        Assert.Equal(first, second);
        Assert.True(first[^1].value < first[0].value, $"the loss should fall: {first[0].value} -> {first[^1].value}");
        Assert.NotEqual(first, TrainTinyLm(seed: 6, lr: 3e-3).Series("train_loss"));
    }

    [Fact]
    public void A_model_with_bfloat16_weights_trains_as_the_gpu_path_does()
    {
        var losses = TrainTinyLm(seed: 5, lr: 3e-3, steps: 20, dtype: ScalarType.BFloat16).Series("train_loss");
        Assert.All(losses, l => Assert.True(double.IsFinite(l.value)));
        Assert.True(losses[^1].value < losses[0].value, $"the loss should fall in bfloat16 too: {losses[0].value} -> {losses[^1].value}");
    }

    [Fact]
    public void A_huge_learning_rate_is_detected_as_divergence()
    {
        var result = TrainTinyLm(seed: 1, lr: 50, steps: 60);
        Assert.True(result.Diverged, "a learning rate of 50 should diverge");
        Assert.Contains("loss", result.DivergenceReason);
        Assert.True(result.Steps < 60);
    }

    [Fact]
    public void Gradient_accumulation_of_equal_halves_matches_one_full_batch()
    {
        double Run(int accumulation)
        {
            torch.manual_seed(2);
            var w = torch.randn(new long[] { 1, 4 }, requires_grad: true).DetachFromDisposeScope();
            var x = torch.randn(8, 4).DetachFromDisposeScope();
            var y = torch.randn(8, 1).DetachFromDisposeScope();
            var module = new Probe();
            using var sgd = new SGD(new[] { w }, lr: 0.1);
            Trainer.Run(module, sgd, Schedules.Constant(), (_, micro) =>
            {
                int size = 8 / accumulation;
                var xs = x.narrow(0, micro * size, size);
                var ys = y.narrow(0, micro * size, size);
                return new MicroBatchLoss(torch.nn.functional.mse_loss(torch.nn.functional.linear(xs, w), ys), size);
            }, new TrainerOptions { MaxSteps = 3, GradientAccumulation = accumulation, ProgressLabel = null });
            return w.sum().ToDouble();
        }
        Assert.Equal(Run(1), Run(2), 6);
    }

    [Fact]
    public void A_sweep_records_the_diverging_run_as_diverged_and_finishes_the_others()
    {
        string folder = TrainingFixtures.NewFolder();
        using var store = new ResultsStore(Path.Combine(folder, "results.db"));
        var runner = new SweepRunner(store, new SweepOptions { Progress = TextWriter.Null });
        var summary = runner.Run("lr-sweep", new[] { 1e-3, 3e-3, 50.0 }, new[] { 0 }, (lr, seed, context) =>
        {
            var result = TrainTinyLm(seed, lr, steps: 40);
            foreach (var (step, value) in result.Series("train_loss")) context.LogMetric(step, "train_loss", value);
            return result.Diverged
                ? RunOutcome.Diverged(result.DivergenceReason!)
                : RunOutcome.Done(new Dictionary<string, double> { ["final_loss"] = result.FinalTrainLoss });
        });
        var runs = store.Runs("lr-sweep");
        Assert.Equal(3, runs.Count);
        Assert.Equal(2, runs.Count(r => r.Status == RunStatus.Done));
        Assert.Single(runs, r => r.Status == RunStatus.Diverged);
        Assert.Equal(1, summary.Diverged);
    }

    // A module for the trainer to put in train and eval mode; the test's parameter lives outside it.
    private sealed class Probe : nn.Module
    {
        public Probe() : base(nameof(Probe)) { }
    }
}
