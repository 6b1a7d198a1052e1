using LoraLab.Generation;
using LoraLab.Lora;
using LoraLab.Models;
using TorchSharp;
using static TorchSharp.torch;
using LoraLab.Modules;

namespace LoraLab.Tests.Generation;

public class GreedyDecoderTests
{
    private static readonly int[][] Prompts = [[1, 2, 3], [4, 5], [6, 7, 8, 9, 10, 11], [12]];
    private static readonly int[] NoStop = [];

    private static LlamaForCausalLM Model(int seed)
    {
        torch.manual_seed(seed);
        // A larger init spreads the logits, so argmax ties (which would make the test fragile) do not occur.
        return new LlamaForCausalLM(TestSupport.TinyLlama(init: 0.2));
    }

    [Fact]
    public void Greedy_decoding_is_deterministic_and_batching_does_not_change_it()
    {
        using var model = Model(1);
        var batched = GreedyDecoder.Generate(model, Prompts, max_new_tokens: 8, NoStop, batchSize: 4);
        var again = GreedyDecoder.Generate(model, Prompts, max_new_tokens: 8, NoStop, batchSize: 4);
        var oneByOne = GreedyDecoder.Generate(model, Prompts, max_new_tokens: 8, NoStop, batchSize: 1);
        for (int i = 0; i < Prompts.Length; i++)
        {
            Assert.Equal(8, batched[i].Tokens.Length);
            Assert.Equal(StopReason.MaxNewTokens, batched[i].Reason);
            Assert.Equal(batched[i].Tokens, again[i].Tokens);
            Assert.Equal(batched[i].Tokens, oneByOne[i].Tokens);
        }
        Assert.True(model.training);
    }

    [Fact]
    public void Each_token_is_the_argmax_of_the_logits_after_the_sequence_so_far()
    {
        using var model = Model(2);
        var generated = GreedyDecoder.Generate(model, [Prompts[2]], max_new_tokens: 5, NoStop)[0].Tokens;
        AssertEachTokenIsTheArgmaxOfTheFullForwardPass(model, Prompts[2], generated);
    }

    // Each generated token is the argmax of the model's ordinary forward pass over the prompt and the tokens before it.
    private static void AssertEachTokenIsTheArgmaxOfTheFullForwardPass(LlamaForCausalLM model, int[] prompt, int[] generated)
    {
        var sequence = prompt.ToList();
        model.eval();
        using var _ = torch.no_grad();
        foreach (int token in generated)
        {
            using var scope = torch.NewDisposeScope();
            var logits = model.forward(torch.tensor(sequence.Select(t => (long)t).ToArray(), new long[] { 1, sequence.Count }));
            var last = logits.narrow(1, sequence.Count - 1, 1).reshape(-1).data<float>().ToArray();
            Assert.Equal(Array.IndexOf(last, last.Max()), token);
            sequence.Add(token);
        }
    }

    [Fact]
    public void Every_row_of_a_padded_batch_gets_the_argmax_of_the_full_forward_pass_over_its_own_sequence()
    {
        // Prompts of four lengths in one batch (so three are padded), through LoRA adapters with B ≠ 0: the cached
        // path must give each row what the model's ordinary forward pass gives that row alone.
        using var model = Model(6);
        LoraAdapters.Apply(model, new LoraConfig(r: 2, lora_alpha: 4, target_modules: "q_proj,v_proj,down_proj"));
        using (torch.no_grad())
            foreach (var (name, p) in model.named_parameters()) if (name.Contains("lora_B")) p.normal_(0, 0.3);
        var generated = GreedyDecoder.Generate(model, Prompts, max_new_tokens: 6, NoStop, batchSize: 4);
        for (int i = 0; i < Prompts.Length; i++)
        {
            Assert.Equal(6, generated[i].Tokens.Length);
            AssertEachTokenIsTheArgmaxOfTheFullForwardPass(model, Prompts[i], generated[i].Tokens);
        }
    }

    [Fact]
    public void The_cached_forward_pass_one_token_at_a_time_equals_the_full_forward_pass()
    {
        // Grouped-query attention (2 key/value heads for 4 query heads), so the cache holds fewer heads than attend.
        torch.manual_seed(7);
        using var model = new LlamaForCausalLM(TestSupport.TinyLlama(init: 0.2) with { num_key_value_heads = 2 });
        model.eval();
        using var _ = torch.no_grad();
        long[] tokens = [3, 1, 4, 1, 5, 9, 2, 6, 5, 3];
        var full = model.model.forward(torch.tensor(tokens, new long[] { 1, tokens.Length }));
        using var cache = new KeyValueCache(model.config.num_hidden_layers);
        const int prompt = 4;
        var causal = torch.ones(prompt, prompt, dtype: ScalarType.Bool).tril().view(1, 1, prompt, prompt);
        var parts = new List<Tensor> { model.model.ForwardCached(torch.tensor(tokens[..prompt], new long[] { 1, prompt }), torch.arange(prompt).view(1, prompt), causal, cache) };
        for (int t = prompt; t < tokens.Length; t++)
            parts.Add(model.model.ForwardCached(torch.tensor(new[] { tokens[t] }, new long[] { 1, 1 }), torch.tensor(new long[] { t }).view(1, 1),
                                                torch.ones(1, 1, 1, t + 1, dtype: ScalarType.Bool), cache));
        Assert.Equal(tokens.Length, cache.Length);
        Assert.True(TestSupport.MaxAbsDiff(torch.cat(parts, 1), full) < 1e-5);
    }

    [Fact]
    public void Decoding_stops_at_a_stop_token_which_is_left_out()
    {
        using var model = Model(3);
        var free = GreedyDecoder.Generate(model, [Prompts[0]], max_new_tokens: 10, NoStop)[0].Tokens;
        int stop = free[3];
        int firstAt = Array.IndexOf(free, stop);
        var stopped = GreedyDecoder.Generate(model, [Prompts[0]], max_new_tokens: 10, [stop])[0];
        Assert.Equal(StopReason.StopToken, stopped.Reason);
        Assert.Equal(free[..firstAt], stopped.Tokens);
    }

    [Fact]
    public void Decoding_stops_when_the_stop_rule_fires_or_the_context_is_full()
    {
        using var model = Model(4);
        var ruled = GreedyDecoder.Generate(model, Prompts, max_new_tokens: 10, NoStop, stopRule: tokens => tokens.Count == 3);
        Assert.All(ruled, g => Assert.Equal((3, StopReason.StopRule), (g.Tokens.Length, g.Reason)));

        int context = model.config.max_position_embeddings;
        var longPrompt = Enumerable.Range(0, context - 2).Select(i => 1 + i % 40).ToArray();
        var full = GreedyDecoder.Generate(model, [longPrompt], max_new_tokens: 10, NoStop)[0];
        Assert.Equal((2, StopReason.ContextFull), (full.Tokens.Length, full.Reason));
    }

    [Fact]
    public void A_prompt_that_fills_the_context_is_rejected_with_its_index()
    {
        using var model = Model(5);
        var tooLong = new int[model.config.max_position_embeddings];
        var error = Assert.Throws<ArgumentException>(() => GreedyDecoder.Generate(model, [Prompts[0], tooLong], 4, NoStop));
        Assert.Contains("prompt 1", error.Message);
    }
}
