using LoraLab.Models;
using LoraLab.Modules;
using TorchSharp;
using static TorchSharp.torch;

namespace LoraLab.Training;

/// <summary>A held-out next-token loss (nats per predicted token) and how many predictions it averages.</summary>
public sealed record HeldOutEvaluation(double Loss, long Predictions)
{
    public double Perplexity => Math.Exp(Loss);
}

/// <summary>
/// Held-out language-model loss over a fixed token stream: the forgetting metric of Biderman et al. 2024 when the
/// stream is source-domain text the base never trained on (and the learning metric for continued pretraining when
/// it is held-out target text). The stream is cut into consecutive, non-overlapping windows of
/// <c>contextLength</c> tokens (the first <c>maxWindows</c> of them), so every model is scored on exactly the same
/// predictions; the result is the mean over all predictions (each window predicts contextLength − 1 tokens).
/// Runs in eval mode without gradients and restores the model's mode.
/// </summary>
public static class HeldOutLoss
{
    public static HeldOutEvaluation Evaluate(LlamaForCausalLM model, int[] tokens, int contextLength, int batchSize = 16, int maxWindows = int.MaxValue)
    {
        if (contextLength < 2 || contextLength > model.config.max_position_embeddings)
            throw new ArgumentOutOfRangeException(nameof(contextLength), contextLength, $"contextLength must be in [2, {model.config.max_position_embeddings}]");
        if (batchSize < 1) throw new ArgumentOutOfRangeException(nameof(batchSize), batchSize, "batchSize must be at least 1");
        if (maxWindows < 1) throw new ArgumentOutOfRangeException(nameof(maxWindows), maxWindows, "maxWindows must be at least 1");
        if (tokens.Length < contextLength)
            throw new ArgumentException($"the held-out stream has {tokens.Length} tokens, fewer than one window of {contextLength}", nameof(tokens));

        int windows = Math.Min(maxWindows, tokens.Length / contextLength);
        var stream = tokens.AsSpan(0, windows * contextLength).ToArray();
        return model.Evaluating(() =>
        {
            var device = model.device();
            double sum = 0;
            long predictions = 0;
            foreach (var batch in TokenWindows.Sequential(stream, contextLength, batchSize))
            {
                using var scope = torch.NewDisposeScope();
                using (batch)
                {
                    long count = batch.size(0) * (contextLength - 1);
                    sum += model.Loss(batch.to(device)).ToDouble() * count;
                    predictions += count;
                }
            }
            return new HeldOutEvaluation(sum / predictions, predictions);
        });
    }
}
