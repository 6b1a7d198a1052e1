using LoraLab.BaseModels;
using LoraLab.Models;
using TorchSharp;
using static TorchSharp.torch;
using LoraLab.Modules;

namespace LoraLab.Tests.Training;

public class VerbalizerHeadTests
{
    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void The_classifiers_logits_are_the_language_models_logits_of_the_label_tokens(bool tied)
    {
        torch.manual_seed(1);
        var config = TestSupport.TinyLlama(tie: tied);
        using var lm = new LlamaForCausalLM(config);
        using var classifier = new LlamaForSequenceClassification(config with { num_labels = 3, pad_token_id = null });
        classifier.load_state_dict(lm.state_dict().Where(kv => kv.Key.StartsWith("model.")).Concat(
            classifier.state_dict().Where(kv => kv.Key.StartsWith("score."))).ToDictionary(kv => kv.Key, kv => kv.Value));
        int[] tokens = [5, 17, 2];
        VerbalizerHead.Apply(classifier, lm, tokens);

        using var scope = torch.NewDisposeScope();
        using var noGrad = torch.no_grad();
        var ids = torch.randint(0, config.vocab_size, [2, 9]);
        var expected = lm.forward(ids).select(1, 8).index_select(1, torch.tensor(tokens.Select(t => (long)t).ToArray()));
        Assert.True(TestSupport.MaxAbsDiff(expected, classifier.forward(ids)) < 1e-5);
    }

    [Fact]
    public void Label_words_that_start_with_one_token_are_rejected_naming_both()
    {
        var tokenizer = LoraLab.Data.Tokenization.BpeTrainer.Train(["ham spam ham spam hamster"], 270);
        var e = Assert.Throws<ArgumentException>(() => VerbalizerHead.Tokens(tokenizer, ["x", "x"]));
        Assert.Contains("'x' and 'x'", e.Message);
        Assert.Equal(2, VerbalizerHead.Tokens(tokenizer, ["ham", "spam"]).Distinct().Count());
    }
}
