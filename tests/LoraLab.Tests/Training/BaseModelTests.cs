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

public class CommittedBaseTests
{
    static void Commit(string folder, BaseModelReport report)
    {
        Directory.CreateDirectory(folder);
        File.WriteAllText(Path.Combine(folder, CommittedBases.FileName(report.Profile, report.Key)), System.Text.Json.JsonSerializer.Serialize(report));
    }

    [Fact]
    public void Pretraining_the_same_profile_twice_gives_the_same_weights_checksum()
    {
        // The premise of committing a base's checksum: a seeded pretraining is reproducible (here on the CPU).
        string first = TrainingFixtures.NewFolder(), second = TrainingFixtures.NewFolder(), none = TrainingFixtures.NewFolder();
        using var a = PretrainedBase.LoadOrBuild(BaseModelProfile.Tiny, TrainingFixtures.Corpora(), first, log: _ => { }, renderOnly: false, committedBases: none);
        using var b = PretrainedBase.LoadOrBuild(BaseModelProfile.Tiny, TrainingFixtures.Corpora(), second, log: _ => { }, renderOnly: false, committedBases: none);
        Assert.NotNull(a.Report.WeightsSha256);
        Assert.Equal(64, a.Report.WeightsSha256!.Length);
        Assert.Equal(a.Report.WeightsSha256, b.Report.WeightsSha256);
        Assert.Equal(a.Report.Key, b.Report.Key);
    }

    [Fact]
    public void A_base_whose_weights_differ_from_the_committed_ones_is_refused_and_render_only_goes_on_without_them()
    {
        string cache = TrainingFixtures.NewFolder(), committed = TrainingFixtures.NewFolder();
        BaseModelReport built;
        using (var baseModel = PretrainedBase.LoadOrBuild(BaseModelProfile.Tiny, TrainingFixtures.Corpora(), cache, log: _ => { }, renderOnly: false, committedBases: committed))
            built = baseModel.Report;

        // The committed report of the same weights: loads, with the checksum of what is on disk.
        Commit(committed, built with { Device = "cuda:0 (elsewhere)" });
        using (var same = PretrainedBase.LoadOrBuild(BaseModelProfile.Tiny, TrainingFixtures.Corpora(), cache, log: _ => { }, renderOnly: false, committedBases: committed))
            Assert.Equal(built.WeightsSha256, same.Report.WeightsSha256);

        // Other weights under the same key: refused, naming both checksums.
        string other = new string('0', 64);
        Commit(committed, built with { WeightsSha256 = other });
        var refused = Assert.Throws<InvalidOperationException>(() =>
            PretrainedBase.LoadOrBuild(BaseModelProfile.Tiny, TrainingFixtures.Corpora(), cache, log: _ => { }, renderOnly: false, committedBases: committed));
        Assert.Contains(other, refused.Message);
        Assert.Contains(built.WeightsSha256!, refused.Message);

        // Render-only: no refusal, no weights; what it shows of the base is the committed report.
        var log = new List<string>();
        using var shown = PretrainedBase.LoadOrBuild(BaseModelProfile.Tiny, TrainingFixtures.Corpora(), cache, log: log.Add, renderOnly: true, committedBases: committed);
        Assert.False(shown.HasWeights);
        Assert.Equal(other, shown.Report.WeightsSha256);
        Assert.Contains(log, line => line.Contains("not the committed one"));
    }

    [Fact]
    public void Render_only_never_pretrains_a_missing_base_but_knows_its_key_and_tokenizer()
    {
        string cache = TrainingFixtures.NewFolder(), none = TrainingFixtures.NewFolder();
        var log = new List<string>();
        using var shown = PretrainedBase.LoadOrBuild(BaseModelProfile.Tiny, TrainingFixtures.Corpora(), cache, log: log.Add, renderOnly: true, committedBases: none);
        Assert.DoesNotContain(log, line => line.StartsWith("Pretraining"));
        Assert.False(shown.HasWeights);
        Assert.False(Directory.Exists(shown.Directory));
        Assert.True(double.IsNaN(shown.Report.ValidationPerplexity));
        Assert.True(shown.Report.UnigramPerplexity > 1);
        Assert.True(shown.Tokenizer.Encode("hello world").Length > 0);
        var noWeights = Assert.Throws<InvalidOperationException>(() => shown.Model);
        Assert.Contains("render-only", noWeights.Message);

        // The key is the one the real base gets, so render-only configs hash as the trained runs' did.
        using var built = PretrainedBase.LoadOrBuild(BaseModelProfile.Tiny, TrainingFixtures.Corpora(), cache, log: _ => { }, renderOnly: false, committedBases: none);
        Assert.Equal(built.Report.Key, shown.Report.Key);
    }
}
