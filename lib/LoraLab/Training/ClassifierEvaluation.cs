using LoraLab.Models;
using LoraLab.Modules;
using TorchSharp;
using static TorchSharp.torch;

namespace LoraLab.Training;

/// <summary>How a classifier does on a split: how many examples it answers right (the count, so a caller can put a
/// binomial interval on it: <c>Statistics.Proportion(Correct, Total)</c>) and the summed cross-entropy of the true
/// labels (their negative log-likelihood, in nats), a continuous score that, unlike accuracy, moves with every example.</summary>
public readonly record struct SplitScore(int Correct, int Total, double CrossEntropySum)
{
    public double Accuracy => Total == 0 ? double.NaN : Correct / (double)Total;

    /// <summary>The mean cross-entropy of the true label (nats per example).</summary>
    public double CrossEntropy => Total == 0 ? double.NaN : CrossEntropySum / Total;
}

public static class ClassifierEvaluation
{
    /// <summary>
    /// The argmax accuracy and the label's cross-entropy of a classifier on a split, in eval mode and without gradients.
    /// A model whose loss blew up can output NaN, and neither the argmax nor the softmax of NaNs means anything: such an
    /// example scores as chance does, with the split's majority label as its answer and the uniform distribution's
    /// cross-entropy (log of the number of labels), so a diverged model is never better or worse than chance by accident.
    /// </summary>
    public static SplitScore Of(LlamaForSequenceClassification model, ClassificationData data, EncodedSplit split, int batchSize = 64) =>
        OfMembers(model, 1, data, split, batchSize)[0];

    /// <summary>
    /// The score of each member of an ensemble of classifiers (E runs as one model that takes the members' batches
    /// stacked along the first dimension, see <see cref="Lora.LoraEnsemble"/>), with the rule of <see cref="Of"/>: each batch
    /// of the split is fed once, repeated for every member, and member e's answers are the e-th block of the logits.
    /// </summary>
    public static SplitScore[] OfMembers(LlamaForSequenceClassification model, int members, ClassificationData data, EncodedSplit split, int batchSize = 64)
    {
        if (members < 1) throw new ArgumentOutOfRangeException(nameof(members), members, "at least one member");
        if (split.Count == 0) return Enumerable.Repeat(new SplitScore(0, 0, 0), members).ToArray();
        var device = model.device();
        int majority = split.Labels.GroupBy(l => l).OrderByDescending(g => g.Count()).ThenBy(g => g.Key).First().Key;
        return model.Evaluating(() =>
        {
            var correct = new int[members];
            var crossEntropy = new double[members];
            for (int first = 0; first < split.Count; first += batchSize)
            {
                using var scope = torch.NewDisposeScope();
                var indices = Enumerable.Range(first, Math.Min(batchSize, split.Count - first)).ToList();
                var (ids, _) = data.Batch(split, indices, device);
                if (members > 1) ids = ids.repeat(members, 1);
                var logits = model.forward(ids).to(ScalarType.Float32).cpu().data<float>().ToArray();
                int labels = (int)(logits.Length / (members * indices.Count));
                for (int e = 0; e < members; e++)
                    for (int i = 0; i < indices.Count; i++)
                        Score(new ArraySegment<float>(logits, (e * indices.Count + i) * labels, labels), split.Labels[indices[i]], majority,
                              ref correct[e], ref crossEntropy[e]);
            }
            return correct.Zip(crossEntropy, (c, ce) => new SplitScore(c, split.Count, ce)).ToArray();
        });
    }

    /// <summary>The score of a split's logits [N, labels], row i being example i, with the rule of <see cref="Of"/>:
    /// for a head that reads features computed once (the head-only control).</summary>
    public static SplitScore OfLogits(Tensor logits, EncodedSplit split)
    {
        if (split.Count == 0) return new SplitScore(0, 0, 0);
        if (logits.size(0) != split.Count) throw new ArgumentException($"{logits.size(0)} rows of logits for a split of {split.Count}", nameof(logits));
        int majority = split.Labels.GroupBy(l => l).OrderByDescending(g => g.Count()).ThenBy(g => g.Key).First().Key;
        var values = logits.to(ScalarType.Float32).cpu().data<float>().ToArray();
        int labels = values.Length / split.Count, correct = 0;
        double crossEntropy = 0;
        for (int i = 0; i < split.Count; i++)
            Score(new ArraySegment<float>(values, i * labels, labels), split.Labels[i], majority, ref correct, ref crossEntropy);
        return new SplitScore(correct, split.Count, crossEntropy);
    }

    // One example: right or wrong, and its label's cross-entropy; a non-finite output scores as chance.
    private static void Score(ArraySegment<float> row, int label, int majority, ref int correct, ref double crossEntropy)
    {
        bool finite = row.All(float.IsFinite);
        if ((finite ? ArgMax(row) : majority) == label) correct++;
        crossEntropy += finite ? LogSumExp(row) - row[label] : Math.Log(row.Count);
    }

    private static int ArgMax(IReadOnlyList<float> values)
    {
        int best = 0;
        for (int i = 1; i < values.Count; i++) if (values[i] > values[best]) best = i;
        return best;
    }

    // log Σ exp(x), in double and shifted by the maximum so that large logits do not overflow.
    private static double LogSumExp(IReadOnlyList<float> values)
    {
        double max = values.Max();
        return max + Math.Log(values.Sum(x => Math.Exp(x - max)));
    }
}
