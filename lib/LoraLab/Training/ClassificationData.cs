using LoraLab.Data;
using LoraLab.Data.Tokenization;
using TorchSharp;
using static TorchSharp.torch;

namespace LoraLab.Training;

/// <summary>One split of a classification task, tokenized once: token ids cut to a maximum length, and labels.</summary>
public sealed record EncodedSplit(int[][] Ids, int[] Labels)
{
    public int Count => Labels.Length;
}

/// <summary>
/// A GLUE-like task ready for finetuning: every split tokenized once (a sweep trains hundreds of
/// models on the same texts, so encoding per run would dominate a CPU run), optionally cut to a
/// subset, with the padding rule of <see cref="BaseModels.BaseClassifier.Batch"/> (right padding,
/// so the classifier reads the last real token).
/// </summary>
public sealed class ClassificationData
{
    private ClassificationData(string name, IReadOnlyList<string> labelNames, EncodedSplit train, EncodedSplit validation, EncodedSplit test, int padId, int maxLength)
    {
        Name = name;
        LabelNames = labelNames;
        Train = train;
        Validation = validation;
        Test = test;
        PadId = padId;
        MaxLength = maxLength;
    }

    public string Name { get; }
    public IReadOnlyList<string> LabelNames { get; }
    public int NumLabels => LabelNames.Count;
    public EncodedSplit Train { get; }
    public EncodedSplit Validation { get; }
    public EncodedSplit Test { get; }
    public int PadId { get; }
    public int MaxLength { get; }

    /// <param name="maxTrain">keep at most this many training examples (a deterministic, label-mixed subset)</param>
    /// <param name="maxEval">keep at most this many validation and test examples each</param>
    public static ClassificationData Encode(ClassificationTask task, BpeTokenizer tokenizer, int maxLength,
                                            int maxTrain = int.MaxValue, int maxEval = int.MaxValue)
    {
        if (maxLength < 1) throw new ArgumentOutOfRangeException(nameof(maxLength), maxLength, "maxLength must be at least 1");
        EncodedSplit Encode(IReadOnlyList<ClassificationExample> examples, int max)
        {
            var kept = Subset(examples, max);
            // A token is rarely shorter than one character, so cutting the text at 8 characters per
            // token keeps every token we will use and saves encoding the rest of long e-mails.
            var texts = kept.Select(e => e.Text.Length > 8 * maxLength ? e.Text[..(8 * maxLength)] : e.Text).ToList();
            var ids = tokenizer.EncodeMany(texts).Select(t => t.Length > maxLength ? t[..maxLength] : t).ToArray();
            for (int i = 0; i < ids.Length; i++)
                if (ids[i].Length == 0) ids[i] = new[] { tokenizer.EndOfTextId };   // an empty text still needs one token to read
            return new EncodedSplit(ids, kept.Select(e => e.Label).ToArray());
        }
        return new ClassificationData(task.Name, task.LabelNames,
            Encode(task.Splits.Train, maxTrain), Encode(task.Splits.Validation, maxEval), Encode(task.Splits.Test, maxEval),
            tokenizer.PadId, maxLength);
    }

    // Splits are ordered by label (stratified), so taking the first n would keep one label only:
    // take every k-th example instead, which keeps the label mix and is the same on every machine.
    private static IReadOnlyList<ClassificationExample> Subset(IReadOnlyList<ClassificationExample> examples, int max)
    {
        if (examples.Count <= max) return examples;
        double stride = (double)examples.Count / max;
        return Enumerable.Range(0, max).Select(i => examples[(int)(i * stride)]).ToList();
    }

    /// <summary>The accuracy of always answering the most frequent label of the split: chance level.</summary>
    public static double MajorityAccuracy(EncodedSplit split) =>
        split.Count == 0 ? 0 : split.Labels.GroupBy(l => l).Max(g => g.Count()) / (double)split.Count;

    /// <summary>Rows <paramref name="indices"/> of a split as (input_ids [N, T] right-padded, labels [N]).</summary>
    public (Tensor inputIds, Tensor labels) Batch(EncodedSplit split, IReadOnlyList<int> indices, Device? device = null) =>
        BaseModels.BaseClassifier.PadRight(indices.Select(i => split.Ids[i]).ToList(), indices.Select(i => split.Labels[i]).ToList(), PadId, device: device);
}
