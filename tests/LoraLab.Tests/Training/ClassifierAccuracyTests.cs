using LoraLab.Models;
using LoraLab.Modules;
using TorchSharp;
using static TorchSharp.torch;
using TorchSharp.Modules;
using LoraLab.Training;

namespace LoraLab.Tests.Training;

public class ClassifierAccuracyTests
{
    private static LlamaForSequenceClassification Classifier(ClassificationData data, int vocabularySize, int padId)
    {
        torch.manual_seed(0);
        return new LlamaForSequenceClassification(new LlamaConfig(hidden_size: 32, num_hidden_layers: 1, num_attention_heads: 4, intermediate_size: 64,
            vocab_size: vocabularySize, max_position_embeddings: 32, num_labels: data.NumLabels, pad_token_id: padId));
    }

    [Fact]
    public void Accuracy_counts_the_argmax_answers_that_match_the_labels_in_any_batch_size()
    {
        var (data, tokenizer) = ClassificationDataTests.BrownFixture();
        using var model = Classifier(data, tokenizer.VocabularySize, tokenizer.PadId);
        var split = data.Test;

        // The reference: each example alone through the model, argmax by hand.
        int expected = 0;
        using (var noGrad = torch.no_grad())
            for (int i = 0; i < split.Count; i++)
            {
                var (ids, _) = data.Batch(split, [i]);
                var logits = model.forward(ids).data<float>().ToArray();
                if (Array.IndexOf(logits, logits.Max()) == split.Labels[i]) expected++;
            }

        foreach (int batchSize in new[] { 1, 7, 64 })
            Assert.Equal(new AccuracyCount(expected, split.Count), ClassifierAccuracy.Of(model, data, split, batchSize));
        Assert.True(model.training);   // evaluation leaves the model in the mode it found it in
    }

    [Fact]
    public void A_model_with_NaN_outputs_scores_exactly_chance()
    {
        var (data, tokenizer) = ClassificationDataTests.BrownFixture();
        using var model = Classifier(data, tokenizer.VocabularySize, tokenizer.PadId);
        using (var noGrad = torch.no_grad()) ((Linear)model.score).weight.fill_(double.NaN);
        var count = ClassifierAccuracy.Of(model, data, data.Test);
        Assert.Equal(ClassificationData.MajorityAccuracy(data.Test), count.Accuracy, 12);
    }
}
