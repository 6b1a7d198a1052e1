using LoraLab.BaseModels;

namespace LoraLab.Tests.Training;

public class BaseModelTests
{
    [Fact]
    public void The_tiny_base_model_beats_a_unigram_baseline_on_held_out_text_and_is_cached()
    {
        string cache = TrainingFixtures.NewFolder();
        var log = new List<string>();
        using (var built = PretrainedBase.LoadOrBuild(BaseModelProfile.Tiny, TrainingFixtures.Corpora(), cache, log: log.Add))
        {
            var report = built.Report;
            Assert.True(report.ValidationPerplexity < report.UnigramPerplexity * 0.8,
                $"validation perplexity {report.ValidationPerplexity:F1} should clearly beat the unigram baseline {report.UnigramPerplexity:F1}");
            Assert.True(File.Exists(Path.Combine(built.Directory, "model.safetensors")));
            Assert.True(File.Exists(Path.Combine(built.Directory, "config.json")));
        }

        // A second call loads the cached model: same report, no pretraining.
        log.Clear();
        using (var loaded = PretrainedBase.LoadOrBuild(BaseModelProfile.Tiny, TrainingFixtures.Corpora(), cache, log: log.Add))
        {
            Assert.DoesNotContain(log, line => line.StartsWith("Pretraining"));
            Assert.Equal(loaded.Report.ValidationLoss, PretrainedBase.ValidationLoss(loaded.Model, loaded.Data.Validation, loaded.Profile, TorchSharp.torch.CPU), 4);

            // A corrupted checkpoint is detected, reported, and rebuilt.
            File.WriteAllBytes(Path.Combine(loaded.Directory, "model.safetensors"), new byte[] { 1, 2, 3 });
        }
        log.Clear();
        using var rebuilt = PretrainedBase.LoadOrBuild(BaseModelProfile.Tiny, TrainingFixtures.Corpora(), cache, log: log.Add);
        Assert.Contains(log, line => line.Contains("unusable"));
        Assert.Contains(log, line => line.StartsWith("Pretraining"));
    }

    [Fact]
    public void An_impossible_profile_is_rejected_naming_the_field()
    {
        var bad = BaseModelProfile.Tiny with { LearningRate = -1 };
        var e = Assert.Throws<ArgumentException>(() => bad.Validate());
        Assert.Equal("LearningRate", e.ParamName);
        var wrongVocabulary = BaseModelProfile.Tiny with { VocabularySize = 1000 };
        Assert.Equal("VocabularySize", Assert.Throws<ArgumentException>(() => wrongVocabulary.Validate()).ParamName);
    }
}

public class BaseClassifierTests
{
    [Fact]
    public void The_classifier_starts_from_the_base_backbone_and_right_pads_its_batches()
    {
        string cache = TrainingFixtures.NewFolder();
        using var baseModel = PretrainedBase.LoadOrBuild(BaseModelProfile.Tiny, TrainingFixtures.Corpora(), cache, log: _ => { });
        using var classifier = BaseClassifier.FromBase(baseModel, numLabels: 3);
        var baseState = baseModel.Model.state_dict();
        foreach (var (name, tensor) in classifier.state_dict().Where(kv => kv.Key.StartsWith("model.")))
            Assert.True(tensor.allclose(baseState[name], rtol: 0, atol: 0), $"{name} differs from the base model");
        Assert.Equal(new long[] { 3, baseModel.Profile.Model.hidden_size }, classifier.state_dict()["score.weight"].shape);

        var (ids, labels) = BaseClassifier.Batch(baseModel.Tokenizer, new[] { ("a short one", 0), ("a somewhat longer example sentence here", 2) }, maxLength: 64);
        Assert.Equal(2, ids.size(0));
        Assert.Equal(new long[] { 0, 2 }, labels.data<long>().ToArray());
        var firstRow = ids[0].data<long>().ToArray();
        Assert.Equal(baseModel.Tokenizer.PadId, firstRow[^1]);
        Assert.Equal(new long[] { 2, 3 }, classifier.forward(ids).shape);
    }
}
