using LoraLab.Models;
using LoraLab.Modules;
using TorchSharp;
using static TorchSharp.torch;
using TorchSharp.Modules;
using LoraLab.Training;

namespace LoraLab.Tests.Training;

public class ClassifierEvaluationTests
{
    private static LlamaForSequenceClassification Classifier(ClassificationData data, int vocabularySize, int padId)
    {
        torch.manual_seed(0);
        return new LlamaForSequenceClassification(new LlamaConfig(hidden_size: 32, num_hidden_layers: 1, num_attention_heads: 4, intermediate_size: 64,
            vocab_size: vocabularySize, max_position_embeddings: 32, num_labels: data.NumLabels, pad_token_id: padId));
    }

    [Fact]
    public void The_score_counts_argmax_answers_and_sums_the_labels_cross_entropy_as_torch_does_in_any_batch_size()
    {
        var (data, tokenizer) = ClassificationDataTests.BrownFixture();
        using var model = Classifier(data, tokenizer.VocabularySize, tokenizer.PadId);
        var split = data.Test;

        // The reference: each example alone through the model, argmax by hand, cross-entropy by torch's own function.
        int expected = 0;
        double crossEntropy = 0;
        using (var noGrad = torch.no_grad())
            for (int i = 0; i < split.Count; i++)
            {
                var (ids, labels) = data.Batch(split, [i]);
                var output = model.forward(ids);
                var logits = output.data<float>().ToArray();
                if (Array.IndexOf(logits, logits.Max()) == split.Labels[i]) expected++;
                crossEntropy += nn.functional.cross_entropy(output.to(ScalarType.Float64), labels).item<double>();
            }

        foreach (int batchSize in new[] { 1, 7, 64 })
        {
            var score = ClassifierEvaluation.Of(model, data, split, batchSize);
            Assert.Equal((expected, split.Count), (score.Correct, score.Total));
            Assert.Equal(crossEntropy / split.Count, score.CrossEntropy, 5);
        }
        Assert.True(model.training);   // evaluation leaves the model in the mode it found it in
    }

    [Fact]
    public void A_model_with_NaN_outputs_scores_exactly_chance_the_majority_label_and_the_uniform_cross_entropy()
    {
        var (data, tokenizer) = ClassificationDataTests.BrownFixture();
        using var model = Classifier(data, tokenizer.VocabularySize, tokenizer.PadId);
        using (var noGrad = torch.no_grad()) ((Linear)model.score).weight.fill_(double.NaN);
        var score = ClassifierEvaluation.Of(model, data, data.Test);
        Assert.Equal(ClassificationData.MajorityAccuracy(data.Test), score.Accuracy, 12);
        Assert.Equal(Math.Log(data.NumLabels), score.CrossEntropy, 12);
    }
}
