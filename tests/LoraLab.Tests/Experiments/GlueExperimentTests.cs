using LoraLab.Data;
using LoraLab.Data.Results;
using LoraLab.Data.Sweeps;
using LoraLab.Data.Tokenization;
using LoraLab.Experiments;
using LoraLab.Lora;
using LoraLab.Models;
using LoraLab.Tests.Training;

namespace LoraLab.Tests.Experiments;

/// <summary>
/// Notebook 02's experiment code on the committed fixture corpora, with a small random classifier
/// instead of the pretrained base (pretraining would cost more than the tests themselves).
/// </summary>
public class GlueExperimentTests
{
    private static readonly GlueProfile Tiny = GlueProfile.Ci with
    {
        Name = "test", Steps = 6, BatchSize = 4, MaxLength = 24, MaxTrain = 40, MaxEval = 20,
        LrBase = 1e-3, LrCount = 2, LrStride = 3, Seeds = new[] { 0 },
    };

    // The fixture's 12 Brown samples cut into 20-word passages and split 40/30/30 by document: the
    // task's own 80/10/10 split leaves no fixture document for validation or test.
    private static (ClassificationData data, Func<int, LlamaForSequenceClassification> newClassifier) BrownFixture()
    {
        var brown = ClassificationTask.BrownGenre(TrainingFixtures.Corpora(), coarse: true, passageWords: 20);
        var all = brown.Splits.Train.Concat(brown.Splits.Validation).Concat(brown.Splits.Test).ToList();
        var task = brown with { Splits = DatasetSplit.ByGroup(all, e => e.DocumentId, e => brown.LabelNames[e.Label], 0, validationFraction: 0.3, testFraction: 0.3) };
        var tokenizer = BpeTrainer.Train(task.Splits.Train.Select(e => e.Text).Take(50).ToList(), 300);
        var data = ClassificationData.Encode(task, tokenizer, Tiny.MaxLength, Tiny.MaxTrain, Tiny.MaxEval);
        var config = new LlamaConfig(hidden_size: 32, num_hidden_layers: 1, num_attention_heads: 4, intermediate_size: 64,
                                     vocab_size: tokenizer.VocabularySize, max_position_embeddings: 32,
                                     num_labels: data.NumLabels, pad_token_id: tokenizer.PadId);
        return (data, seed => { LoraLab.Torch.torch.manual_seed(seed); return new LlamaForSequenceClassification(config); });
    }

    [Fact]
    public void A_sweep_records_accuracies_in_the_store_and_a_rerun_skips_finished_runs()
    {
        var (data, newClassifier) = BrownFixture();
        Assert.True(data.Train.Count > 0 && data.Validation.Count > 0 && data.Test.Count > 0, $"splits {data.Train.Count}/{data.Validation.Count}/{data.Test.Count}");
        using var store = new ResultsStore(Path.Combine(TestSupport.TempDir("glue"), "results.db"));
        var configs = GlueSweep.LrSweepConfigs(Tiny, data.Name, "test-base");
        Assert.Equal(4, configs.Count);   // 2 inits × 2 learning rates
        string experiment = GlueSweep.LrSweepExperiment(data.Name);
        var quiet = new SweepOptions { Progress = TextWriter.Null, GitCommit = "test" };

        var first = GlueSweep.Run(store, experiment, configs, Tiny.Seeds, newClassifier, data, quiet);
        Assert.Equal(4, first.Done + first.Diverged);
        Assert.Equal(0, first.Failed);

        var runs = GlueResults.Runs(store, experiment, configs, Tiny.Seeds);
        Assert.Equal(4, runs.Count);
        Assert.All(runs, r =>
        {
            Assert.InRange(r.TestAccuracy, 0, 1);
            Assert.InRange(r.ValidationAccuracy, 0, 1);
            Assert.Equal(ClassificationData.MajorityAccuracy(data.Test), r.ChanceAccuracy);
        });
        Assert.All(store.Runs(experiment), r => Assert.NotEmpty(store.MetricSeries(r.Id, "train_loss")));

        // Running again trains nothing: every cell is already in the store.
        int trained = 0;
        var again = GlueSweep.Run(store, experiment, configs, Tiny.Seeds,
                                  seed => { trained++; return newClassifier(seed); }, data, quiet);
        Assert.Equal(4, again.AlreadyFinished);
        Assert.Equal(0, trained);

        // Another grid's runs in the same experiment never leak into this grid's query.
        var other = GlueSweep.LrSweepConfigs(Tiny with { Steps = 3, LrCount = 1 }, data.Name, "test-base");
        GlueSweep.Run(store, experiment, other, Tiny.Seeds, newClassifier, data, quiet);
        Assert.Equal(4, GlueResults.Runs(store, experiment, configs, Tiny.Seeds).Count);
        Assert.Equal(2, GlueResults.Cells(GlueResults.Runs(store, experiment, other, Tiny.Seeds)).Count);
    }

    [Fact]
    public void LoraPlus_groups_reach_the_optimizer_with_the_right_rates()
    {
        var (data, newClassifier) = BrownFixture();
        using var model = newClassifier(0);
        var config = Tiny.Config(data.Name, "test-base", GlueInits.InitA, lr: 2e-4, lrRatio: 16);
        LoraAdapters.Apply(model, ClassificationFinetune.LoraConfigOf(config));
        using var optimizer = ClassificationFinetune.NewOptimizer(model, config);
        var groups = optimizer.param_groups.ToDictionary(g => g.name);

        Assert.Equal(2e-4, groups["lora_A"].lr, 12);
        Assert.Equal(16 * 2e-4, groups["lora_B"].lr, 12);
        Assert.Equal(2e-4, groups["other"].lr, 12);              // the score head (modules_to_save) at η
        Assert.Equal(2, groups["lora_A"].parameters.Count);        // q_proj and v_proj of the one layer
        Assert.Equal(2, groups["lora_B"].parameters.Count);
        var score = model.named_parameters().Single(p => p.name == "score.weight").parameter;
        Assert.Contains(score, groups["other"].parameters);
        Assert.True(score.requires_grad);

        // The schedule scales every group alike, so the ratio λ holds at every step.
        optimizer.SetLrFactor(0.5);
        Assert.Equal(16.0, groups["lora_B"].lr / groups["lora_A"].lr, 9);
    }

    [Fact]
    public void The_stability_edge_is_the_first_learning_rate_past_the_best_at_chance()
    {
        double chance = 0.5;
        var curve = new[] { (1e-4, 0.70), (2e-4, 0.85), (4e-4, 0.90), (8e-4, 0.80), (1.6e-3, 0.515), (3.2e-3, 0.60), (6.4e-3, 0.50) };
        var edge = GlueStability.Find(curve.Reverse(), chance);   // order of the points does not matter
        Assert.True(edge.LearnedAnything);
        Assert.Equal(4e-4, edge.BestLr);
        Assert.Equal(0.90, edge.BestAccuracy);
        Assert.Equal(1.6e-3, edge.EdgeLr);                         // within the 2-point margin of chance
        Assert.Equal(8e-4, edge.LastStableLr);

        var stable = GlueStability.Find(new[] { (1e-4, 0.6), (1e-3, 0.8) }, chance);
        Assert.Null(stable.EdgeLr);
        Assert.Equal(1e-3, stable.LastStableLr);

        var nothing = GlueStability.Find(new[] { (1e-4, 0.51), (1e-3, 0.49) }, chance);
        Assert.False(nothing.LearnedAnything);
        Assert.Null(nothing.EdgeLr);
    }

    [Fact]
    public void The_LoraPlus_winner_is_judged_at_each_ratios_own_best_learning_rate()
    {
        GlueCell Cell(double lr, double ratio, double accuracy) => new(GlueInits.InitA, lr, ratio, 2, accuracy, 0.01, accuracy, 0.3, 0);
        var cells = new[]
        {
            Cell(1e-4, 1, 0.70), Cell(1e-3, 1, 0.80),
            Cell(1e-4, 16, 0.84), Cell(1e-3, 16, 0.60),   // λ = 16 is best at the smaller η_A
            Cell(1e-4, 4, 0.75), Cell(1e-3, 4, 0.82),
        };
        var result = LoraPlusResults.Winner(cells);
        Assert.Equal(16, result.Winner.Ratio);
        Assert.Equal(1e-4, result.Winner.BestLr);
        Assert.Equal(0.04, result.Gain, 9);
        Assert.Equal(new[] { 1.0, 4, 16 }, result.PerRatio.Select(p => p.Ratio));
    }

    [Fact]
    public void Subsets_keep_every_label_and_chance_is_the_majority_share()
    {
        var split = new EncodedSplit(new[] { new[] { 1 }, new[] { 2 }, new[] { 3 }, new[] { 4 } }, new[] { 0, 1, 1, 1 });
        Assert.Equal(0.75, ClassificationData.MajorityAccuracy(split));
        var (data, _) = BrownFixture();
        Assert.Equal(data.NumLabels, data.Train.Labels.Distinct().Count());
        Assert.All(data.Train.Ids, ids => Assert.InRange(ids.Length, 1, Tiny.MaxLength));
    }
}
