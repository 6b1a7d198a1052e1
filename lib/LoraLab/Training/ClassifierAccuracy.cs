using LoraLab.Models;
using LoraLab.Modules;
using TorchSharp;
using static TorchSharp.torch;

namespace LoraLab.Training;

/// <summary>How many examples of a split a classifier answers right: the count, so a caller can put a binomial
/// interval on it (<c>Statistics.Proportion(Correct, Total)</c>).</summary>
public readonly record struct AccuracyCount(int Correct, int Total)
{
    public double Accuracy => Total == 0 ? double.NaN : Correct / (double)Total;
}

public static class ClassifierAccuracy
{
    /// <summary>
    /// The argmax accuracy of a classifier on a split, in eval mode and without gradients. A model whose loss blew up
    /// can output NaN, and the argmax of NaNs means nothing: such an example gets the split's majority label, so a
    /// diverged model scores at chance, never below it by accident.
    /// </summary>
    public static AccuracyCount Of(LlamaForSequenceClassification model, ClassificationData data, EncodedSplit split, int batchSize = 64) =>
        OfMembers(model, 1, data, split, batchSize)[0];

    /// <summary>
    /// The accuracy of each member of an ensemble of classifiers (E runs as one model that takes the members' batches
    /// stacked along the first dimension, see <see cref="Lora.LoraEnsemble"/>), with the rule of <see cref="Of"/>: each batch
    /// of the split is fed once, repeated for every member, and member e's answers are the e-th block of the logits.
    /// </summary>
    public static AccuracyCount[] OfMembers(LlamaForSequenceClassification model, int members, ClassificationData data, EncodedSplit split, int batchSize = 64)
    {
        if (members < 1) throw new ArgumentOutOfRangeException(nameof(members), members, "at least one member");
        if (split.Count == 0) return Enumerable.Repeat(new AccuracyCount(0, 0), members).ToArray();
        var device = model.device();
        int majority = split.Labels.GroupBy(l => l).OrderByDescending(g => g.Count()).ThenBy(g => g.Key).First().Key;
        return model.Evaluating(() =>
        {
            var correct = new int[members];
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
                    {
                        var row = new ArraySegment<float>(logits, (e * indices.Count + i) * labels, labels);
                        int answer = row.All(float.IsFinite) ? ArgMax(row) : majority;
                        if (answer == split.Labels[indices[i]]) correct[e]++;
                    }
            }
            return correct.Select(c => new AccuracyCount(c, split.Count)).ToArray();
        });
    }

    private static int ArgMax(IReadOnlyList<float> values)
    {
        int best = 0;
        for (int i = 1; i < values.Count; i++) if (values[i] > values[best]) best = i;
        return best;
    }
}
