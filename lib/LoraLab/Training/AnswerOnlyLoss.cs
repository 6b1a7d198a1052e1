using LoraLab.Models;
using LoraLab.Modules;
using TorchSharp;
using static TorchSharp.torch;

namespace LoraLab.Training;

/// <summary>An instruction-tuning example as token ids: what the model is given, and what it should answer.</summary>
public sealed record PromptCompletion(int[] Prompt, int[] Completion)
{
    public int Length => Prompt.Length + Completion.Length;
}

/// <summary>A right-padded batch: input_ids [B, T], and labels [B, T] with every position outside the answers set to -100.</summary>
public sealed record MaskedBatch(Tensor InputIds, Tensor Labels, long AnswerTokens) : IDisposable
{
    public void Dispose()
    {
        InputIds.Dispose();
        Labels.Dispose();
    }
}

/// <summary>
/// Answer-only loss for instruction finetuning (IFT), as in Biderman et al. 2024 and TRL's completion-only
/// collator: the prompt is part of the input, but only the completion's tokens are scored. Labels are the input
/// ids with the prompt and the padding replaced by <see cref="IgnoreIndex"/>, which cross_entropy skips; so the
/// loss is the mean over answer tokens only, and a prompt token never receives gradient as a target.
/// </summary>
public static class AnswerOnlyLoss
{
    public const long IgnoreIndex = -100;

    /// <summary>Pads every example on the right with <paramref name="padId"/> to the longest one.</summary>
    public static MaskedBatch Batch(IReadOnlyList<PromptCompletion> examples, int padId, Device? device = null)
    {
        if (examples.Count == 0) throw new ArgumentException("a batch needs at least one example", nameof(examples));
        for (int i = 0; i < examples.Count; i++)
            if (examples[i].Prompt.Length == 0 || examples[i].Completion.Length == 0)
                throw new ArgumentException($"example {i} has an empty prompt or completion ({examples[i].Prompt.Length} + {examples[i].Completion.Length} tokens)", nameof(examples));
        int T = examples.Max(e => e.Length);
        var ids = new long[examples.Count * T];
        var labels = new long[examples.Count * T];
        Array.Fill(ids, padId);
        Array.Fill(labels, IgnoreIndex);
        long answerTokens = 0;
        for (int b = 0; b < examples.Count; b++)
        {
            var (prompt, completion) = (examples[b].Prompt, examples[b].Completion);
            for (int t = 0; t < prompt.Length; t++) ids[b * T + t] = prompt[t];
            for (int t = 0; t < completion.Length; t++)
                ids[b * T + prompt.Length + t] = labels[b * T + prompt.Length + t] = completion[t];
            answerTokens += completion.Length;
        }
        var shape = new long[] { examples.Count, T };
        return new MaskedBatch(torch.tensor(ids, shape, device: device), torch.tensor(labels, shape, device: device), answerTokens);
    }

    /// <summary>Mean next-token loss over the answer tokens of the batch (a scalar with a graph, for training); the
    /// logits are computed at the positions that predict an answer token only (<see cref="LlamaForCausalLM.ScoredLoss"/>).</summary>
    public static Tensor Loss(LlamaForCausalLM model, MaskedBatch batch) => model.ScoredLoss(batch.InputIds, batch.Labels, IgnoreIndex);

    /// <summary>
    /// The answer loss of held-out examples: mean loss per answer token over all of them (each batch weighted by its
    /// answer tokens), in eval mode and without gradients. The model's train/eval mode is restored afterwards.
    /// </summary>
    public static double Evaluate(LlamaForCausalLM model, IReadOnlyList<PromptCompletion> examples, int padId, int batchSize = 32)
    {
        if (examples.Count == 0) throw new ArgumentException("no examples to evaluate", nameof(examples));
        if (batchSize < 1) throw new ArgumentOutOfRangeException(nameof(batchSize), batchSize, "batchSize must be at least 1");
        return model.Evaluating(() =>
        {
            var device = model.device();
            double sum = 0;
            long tokens = 0;
            for (int first = 0; first < examples.Count; first += batchSize)
            {
                using var scope = torch.NewDisposeScope();
                using var batch = Batch(examples.Skip(first).Take(batchSize).ToList(), padId, device);
                sum += Loss(model, batch).ToDouble() * batch.AnswerTokens;
                tokens += batch.AnswerTokens;
            }
            return sum / tokens;
        });
    }
}
