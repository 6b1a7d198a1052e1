using LoraLab.Models;
using LoraLab.Modules;
using TorchSharp;
using static TorchSharp.torch;

namespace LoraLab.Generation;

/// <summary>Why a sequence stopped growing.</summary>
public enum StopReason { StopToken, StopRule, MaxNewTokens, ContextFull }

/// <summary>The tokens generated after one prompt (the stop token itself left out), and why generation stopped.</summary>
public sealed record Generated(int[] Tokens, StopReason Reason);

/// <summary>
/// Greedy decoding (always the most likely next token, so the output is a function of the model and the
/// prompt alone: no sampling, no temperature), for scoring exact-match answers.
/// Prompts are decoded together in batches, over a key/value cache (<see cref="KeyValueCache"/>): the prompts
/// run once, then each step runs one new token per row against the cached keys and values of the earlier ones,
/// instead of the whole sequence again. Rows are padded on the left and masked, each token at its position within its
/// own row, so a row's tokens are those it gets alone (up to float rounding: the tests compare against the model's
/// full forward pass).
/// A row stops at the first of: a stop token (e.g. &lt;|endoftext|&gt;), the stop rule returning true for the
/// tokens generated so far, max_new_tokens, or the model's max_position_embeddings.
/// </summary>
public static class GreedyDecoder
{
    public static IReadOnlyList<Generated> Generate(LlamaForCausalLM model, IReadOnlyList<int[]> prompts, int max_new_tokens,
        IReadOnlyCollection<int> stopTokens, Func<IReadOnlyList<int>, bool>? stopRule = null, int batchSize = 32, int padId = 0)
    {
        if (max_new_tokens < 1) throw new ArgumentOutOfRangeException(nameof(max_new_tokens), max_new_tokens, "max_new_tokens must be at least 1");
        if (batchSize < 1) throw new ArgumentOutOfRangeException(nameof(batchSize), batchSize, "batchSize must be at least 1");
        int context = model.config.max_position_embeddings;
        for (int i = 0; i < prompts.Count; i++)
            if (prompts[i].Length == 0 || prompts[i].Length >= context)
                throw new ArgumentException($"prompt {i} has {prompts[i].Length} tokens; it needs 1 to {context - 1} (max_position_embeddings {context})", nameof(prompts));

        return model.Evaluating(() =>
        {
            var results = new List<Generated>(prompts.Count);
            for (int first = 0; first < prompts.Count; first += batchSize)
                results.AddRange(DecodeBatch(model, prompts.Skip(first).Take(batchSize).ToList(), max_new_tokens, stopTokens, stopRule, padId, context));
            return results;
        });
    }

    private static Generated[] DecodeBatch(LlamaForCausalLM model, List<int[]> prompts, int maxNew, IReadOnlyCollection<int> stopTokens,
                                           Func<IReadOnlyList<int>, bool>? stopRule, int padId, int context)
    {
        var sequences = prompts.Select(p => new List<int>(p)).ToArray();
        var generated = prompts.Select(_ => new List<int>()).ToArray();
        var reasons = new StopReason?[prompts.Count];
        using var decoding = new CachedDecoding(model, prompts, padId);

        var next = decoding.Prefill();
        for (int step = 0; step < maxNew && reasons.Any(r => r is null); step++)
        {
            if (step > 0) next = decoding.Step(sequences.Select(s => s[^1]).ToArray(), sequences.Select(s => Math.Min(s.Count - 1, context - 1)).ToArray());
            for (int i = 0; i < prompts.Count; i++)
            {
                if (reasons[i] is not null) continue;
                int token = next[i];
                if (stopTokens.Contains(token)) { reasons[i] = StopReason.StopToken; continue; }
                sequences[i].Add(token);
                generated[i].Add(token);
                if (stopRule?.Invoke(generated[i]) == true) reasons[i] = StopReason.StopRule;
                else if (sequences[i].Count >= context) reasons[i] = StopReason.ContextFull;
            }
        }
        return generated.Select((tokens, i) => new Generated(tokens.ToArray(), reasons[i] ?? StopReason.MaxNewTokens)).ToArray();
    }

    /// <summary>
    /// One batch's decoding over a <see cref="KeyValueCache"/>. The prompts are padded on the left, so that every row's
    /// next token sits in the same column; each token gets its position within its own row (a padded row's positions
    /// start at 0 after its padding, as without padding) and attends to its row's real tokens before it, never to
    /// padding. A padding position attends to itself alone, which keeps its (unused) values finite.
    /// </summary>
    private sealed class CachedDecoding : IDisposable
    {
        private readonly LlamaForCausalLM model;
        private readonly List<int[]> prompts;
        private readonly int padId;
        private readonly Device device;
        private readonly KeyValueCache cache;
        private Tensor keyIsReal;     // [B, positions so far] (bool): false at padding

        public CachedDecoding(LlamaForCausalLM model, List<int[]> prompts, int padId)
        {
            (this.model, this.prompts, this.padId, device) = (model, prompts, padId, model.device());
            cache = new KeyValueCache(model.config.num_hidden_layers);
            keyIsReal = torch.zeros(0, dtype: ScalarType.Bool);
        }

        /// <summary>Runs the prompts; returns each row's most likely next token.</summary>
        public int[] Prefill()
        {
            using var scope = torch.NewDisposeScope();
            int B = prompts.Count, P = prompts.Max(p => p.Length);
            var ids = new long[B * P];
            var positions = new long[B * P];
            var real = new bool[B * P];
            Array.Fill(ids, padId);
            for (int b = 0; b < B; b++)
            {
                int pad = P - prompts[b].Length;
                for (int t = pad; t < P; t++) (ids[b * P + t], positions[b * P + t], real[b * P + t]) = (prompts[b][t - pad], t - pad, true);
            }
            SetKeyIsReal(torch.tensor(real, new long[] { B, P }, device: device));
            var causal = torch.ones(P, P, dtype: ScalarType.Bool, device: device).tril();
            var mask = (causal.unsqueeze(0) & keyIsReal.unsqueeze(1)) | torch.eye(P, dtype: ScalarType.Bool, device: device).unsqueeze(0);
            return Next(torch.tensor(ids, new long[] { B, P }, device: device), torch.tensor(positions, new long[] { B, P }, device: device), mask.unsqueeze(1));
        }

        /// <summary>Feeds each row's latest token at its position; returns each row's most likely next token.</summary>
        public int[] Step(int[] tokens, int[] positions)
        {
            using var scope = torch.NewDisposeScope();
            int B = tokens.Length;
            SetKeyIsReal(torch.cat(new[] { keyIsReal, torch.ones(B, 1, dtype: ScalarType.Bool, device: device) }, 1));
            var ids = torch.tensor(tokens.Select(t => (long)t).ToArray(), new long[] { B, 1 }, device: device);
            var at = torch.tensor(positions.Select(p => (long)p).ToArray(), new long[] { B, 1 }, device: device);
            return Next(ids, at, keyIsReal.view(B, 1, 1, -1));
        }

        // argmax of the logits at the last column (every row's latest token, thanks to the left padding).
        private int[] Next(Tensor ids, Tensor positions, Tensor mask)
        {
            var hidden = model.model.ForwardCached(ids, positions, mask, cache);
            var last = hidden.select(1, hidden.size(1) - 1);
            return model.Logits(last).argmax(1).cpu().data<long>().Select(v => (int)v).ToArray();
        }

        private void SetKeyIsReal(Tensor value)
        {
            keyIsReal.Dispose();
            keyIsReal = value.DetachFromDisposeScope();
        }

        public void Dispose()
        {
            cache.Dispose();
            keyIsReal.Dispose();
        }
    }
}
