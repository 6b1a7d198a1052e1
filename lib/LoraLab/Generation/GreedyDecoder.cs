using LoraLab.Models;
using LoraLab.Modules;
using TorchSharp;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace LoraLab.Generation;

/// <summary>Why a sequence stopped growing.</summary>
public enum StopReason { StopToken, StopRule, MaxNewTokens, ContextFull }

/// <summary>The tokens generated after one prompt (the stop token itself left out), and why generation stopped.</summary>
public sealed record Generated(int[] Tokens, StopReason Reason);

/// <summary>
/// Greedy decoding (always the most likely next token, so the output is a function of the model and the
/// prompt alone: no sampling, no temperature), for scoring exact-match answers.
/// Prompts are decoded together in right-padded batches. That is exact for a causal model: the logits at
/// a row's last real position depend only on the tokens before it, never on the padding after it.
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
        var device = model.device();
        var sequences = prompts.Select(p => new List<int>(p)).ToArray();
        var generated = prompts.Select(_ => new List<int>()).ToArray();
        var reasons = new StopReason?[prompts.Count];

        for (int step = 0; step < maxNew && reasons.Any(r => r is null); step++)
        {
            var active = Enumerable.Range(0, prompts.Count).Where(i => reasons[i] is null).ToArray();
            var next = NextTokens(model, active.Select(i => sequences[i]).ToArray(), padId, device);
            for (int k = 0; k < active.Length; k++)
            {
                int i = active[k], token = next[k];
                if (stopTokens.Contains(token)) { reasons[i] = StopReason.StopToken; continue; }
                sequences[i].Add(token);
                generated[i].Add(token);
                if (stopRule?.Invoke(generated[i]) == true) reasons[i] = StopReason.StopRule;
                else if (sequences[i].Count >= context) reasons[i] = StopReason.ContextFull;
            }
        }
        return generated.Select((tokens, i) => new Generated(tokens.ToArray(), reasons[i] ?? StopReason.MaxNewTokens)).ToArray();
    }

    // argmax of the logits at each row's last real position.
    private static int[] NextTokens(LlamaForCausalLM model, List<int>[] rows, int padId, Device device)
    {
        using var scope = torch.NewDisposeScope();
        int T = rows.Max(r => r.Count);
        var ids = new long[rows.Length * T];
        Array.Fill(ids, padId);
        var last = new long[rows.Length];
        for (int b = 0; b < rows.Length; b++)
        {
            for (int t = 0; t < rows[b].Count; t++) ids[b * T + t] = rows[b][t];
            last[b] = b * T + rows[b].Count - 1;
        }
        // Only the last positions need logits: project those hidden states alone (a quarter of a small model's cost).
        var hidden = model.model.forward(torch.tensor(ids, new long[] { rows.Length, T }, device: device));
        var atLast = hidden.reshape(rows.Length * T, -1).index_select(0, torch.tensor(last, device: device));
        var logits = model.lm_head is null ? F.linear(atLast, model.model.embed_tokens.weight!) : model.lm_head.call(atLast);
        return logits.argmax(1).cpu().data<long>().Select(v => (int)v).ToArray();
    }
}
