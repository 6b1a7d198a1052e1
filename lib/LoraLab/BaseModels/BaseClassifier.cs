using LoraLab.Data.Tokenization;
using LoraLab.Models;
using LoraLab.Modules;
using TorchSharp;
using static TorchSharp.torch;

namespace LoraLab.BaseModels;

/// <summary>
/// The classifier of the GLUE-like tasks: the pretrained backbone with a fresh `score` head
/// (LlamaForSequenceClassification), and the batching that pads sequences on the right so the
/// head reads the last real token.
/// </summary>
public static class BaseClassifier
{
    /// <summary>A classifier whose backbone is a copy of the base model's; only `score` starts fresh.</summary>
    public static LlamaForSequenceClassification FromBase(PretrainedBase baseModel, int numLabels, int seed = 0, Device? device = null)
    {
        if (numLabels < 2) throw new ArgumentOutOfRangeException(nameof(numLabels), numLabels, "a classifier needs at least 2 labels");
        var config = baseModel.Profile.Model with { num_labels = numLabels, pad_token_id = baseModel.Tokenizer.PadId };
        torch.manual_seed(seed);
        var classifier = new LlamaForSequenceClassification(config, device: device ?? baseModel.Model.device());
        using var scope = torch.NewDisposeScope();
        var backbone = baseModel.Model.state_dict()
            .Where(kv => kv.Key.StartsWith("model."))
            .ToDictionary(kv => kv.Key, kv => kv.Value);
        var score = classifier.state_dict().Where(kv => kv.Key.StartsWith("score.")).ToDictionary(kv => kv.Key, kv => kv.Value);
        classifier.load_state_dict_checked(backbone.Concat(score).ToDictionary(kv => kv.Key, kv => kv.Value));
        return classifier;
    }

    /// <summary>Token ids [N, T] (right-padded with the pad token, cut to maxLength) and labels [N].</summary>
    public static (Tensor inputIds, Tensor labels) Batch(BpeTokenizer tokenizer, IReadOnlyList<(string text, int label)> examples, int maxLength, Device? device = null)
    {
        var encoded = tokenizer.EncodeMany(examples.Select(e => e.text).ToList());
        return PadRight(encoded, examples.Select(e => e.label).ToList(), tokenizer.PadId, maxLength, device);
    }

    /// <summary>Token sequences as ids [N, T], right-padded with padId to the longest (at most maxLength,
    /// longer ones cut), and their labels [N]: the layout the `score` head reads its last real token from.</summary>
    public static (Tensor inputIds, Tensor labels) PadRight(IReadOnlyList<int[]> sequences, IReadOnlyList<int> labels, int padId,
                                                            int maxLength = int.MaxValue, Device? device = null)
    {
        int length = Math.Max(1, Math.Min(maxLength, sequences.Max(s => s.Length)));
        var ids = new long[sequences.Count * length];
        Array.Fill(ids, padId);
        for (int i = 0; i < sequences.Count; i++)
            for (int t = 0; t < Math.Min(length, sequences[i].Length); t++) ids[i * length + t] = sequences[i][t];
        var inputIds = torch.tensor(ids, new long[] { sequences.Count, length });
        var labelTensor = torch.tensor(labels.Select(l => (long)l).ToArray());
        if (device is not { type: DeviceType.CUDA } d) return (inputIds, labelTensor);
        using (inputIds) using (labelTensor) return (inputIds.to(d), labelTensor.to(d));
    }
}
