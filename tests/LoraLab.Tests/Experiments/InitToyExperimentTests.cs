using LoraLab.Data.Results;
using LoraLab.Experiments;
using LoraLab.Lora;
using LoraLab.Modules;
using LoraLab.Torch;

namespace LoraLab.Tests.Experiments;

public class InitToyExperimentTests
{
    private static ResultsStore TempStore() => new(Path.Combine(TestSupport.TempDir("init-toy"), "results.db"));

    [Fact]
    public void A_tiny_toy_run_records_its_losses_and_feature_norms()
    {
        using var store = TempStore();
        var config = new ToyInitConfig(Width: 16, Init: nameof(LoraInit.InitA_Gaussian), LearningRate: 1e-2, Steps: 20, TrainPoints: 64, TestPoints: 16);
        var summary = ToyInitExperiment.Sweep(store, new[] { config }, new[] { 0 });

        Assert.Equal(1, summary.Done);
        var run = Assert.Single(store.Runs(ToyInitExperiment.Name));
        Assert.Equal(RunStatus.Done, run.Status);
        Assert.True(run.FinalMetrics["train_loss"] > 0);
        Assert.True(run.FinalMetrics["test_loss"] > 0);
        var series = store.MetricSeries(run.Id);
        Assert.Equal(4, series["train_loss"].Count);                           // steps 5, 10, 15, 20
        Assert.True(series["train_loss"][^1].Value < series["train_loss"][0].Value, "the loss should fall at a moderate rate");
        // Init[A]: B = 0 at the start, so Z_B = B A z starts at zero and Z_A does not.
        var norms = InitFeatureDynamics.Series(store, config, new[] { 0 })!;
        Assert.True(norms.NormA[0] > 0);
        Assert.True(norms.NormBA[^1] > 0);
    }

    [Fact]
    public void The_cached_adapted_layer_equals_the_LoRA_layer_and_Init_B_starts_with_zero_features()
    {
        using var scope = torch.NewDisposeScope();
        torch.manual_seed(0);
        var lora = new LoraLinear(new Linear(16, 16, bias: false), r: 4, lora_alpha: 4, init: LoraInit.InitB_Gaussian);
        var z = torch.randn(8, 16);
        Assert.Equal((0.0, 0.0), ToyInitExperiment.FeatureNorms(lora, z));      // A = 0: Z_A = Z_B = 0
        using (torch.no_grad()) lora.lora_A.normal_(0, 1);                      // as after some training
        var wz = torch.nn.functional.linear(z, lora.weight);
        Assert.True(TestSupport.MaxAbsDiff(ToyInitExperiment.AdaptedLayer(lora, z, wz), lora.forward(z)) < 1e-5);
        Assert.True(ToyInitExperiment.FeatureNorms(lora, z).normBA > 0);
    }

    [Fact]
    public void A_rerun_skips_finished_runs()
    {
        using var store = TempStore();
        var configs = ToyInitExperiment.Grid(new[] { 8 }, new[] { LoraInit.InitA_Gaussian, LoraInit.InitB_Gaussian }, new[] { 1e-3 }, steps: 5)
            .Select(c => c with { TrainPoints = 32, TestPoints = 8 }).ToList();
        var first = ToyInitExperiment.Sweep(store, configs, new[] { 0, 1 });
        var second = ToyInitExperiment.Sweep(store, configs, new[] { 0, 1 });

        Assert.Equal(4, first.Done);
        Assert.Equal(0, second.Done);
        Assert.Equal(4, second.AlreadyFinished);
        Assert.Equal(4, store.Runs(ToyInitExperiment.Name).Count);
    }

    [Fact]
    public void A_huge_learning_rate_is_recorded_as_diverged()
    {
        using var store = TempStore();
        var configs = new[] { 1e-3, 1e4 }.Select(lr => new ToyInitConfig(16, nameof(LoraInit.InitA_Gaussian), lr, Steps: 30, TrainPoints: 64, TestPoints: 16)).ToList();
        var summary = ToyInitExperiment.Sweep(store, configs, new[] { 0 });

        Assert.Equal(1, summary.Diverged);
        var points = InitScaling.Points(store, configs, new[] { 0 });
        Assert.True(points[0].Stable);
        Assert.Equal(1, points[1].Diverged);
        var rates = Assert.Single(InitScaling.Rates(points));
        Assert.Equal(1e-3, rates.StableEdge);
        Assert.True(rates.EdgeFound);
        Assert.Equal(1e-3, rates.OptimalRate);
    }
}
