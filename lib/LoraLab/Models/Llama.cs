using LoraLab.Modules;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace LoraLab.Models;

/// <summary>
/// Causal self-attention with rotary positions; q/k/v/o projections without bias (Llama). With grouped-query
/// attention k_proj and v_proj produce key_value_heads heads, and each is shared by key_value_groups
/// consecutive query heads (Hugging Face's repeat_kv). The projections are typed Module&lt;Tensor, Tensor&gt;, so that
/// LoRA can put a LoraLinear in their place.
/// </summary>
public sealed class LlamaAttention : nn.Module<Tensor, Tensor, Tensor, Tensor>
{
    private readonly LlamaConfig config;
    public nn.Module<Tensor, Tensor> q_proj, k_proj, v_proj, o_proj;

    public LlamaAttention(LlamaConfig config, ScalarType? dtype, Device? device) : base(nameof(LlamaAttention))
    {
        this.config = config;
        int h = config.hidden_size, kv = config.key_value_heads * config.head_dim;
        q_proj = nn.Linear(h, h, hasBias: false, device, dtype);
        k_proj = nn.Linear(h, kv, hasBias: false, device, dtype);
        v_proj = nn.Linear(h, kv, hasBias: false, device, dtype);
        o_proj = nn.Linear(h, h, hasBias: false, device, dtype);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x, Tensor cos, Tensor sin)
    {
        long B = x.size(0), T = x.size(1);
        int H = config.num_attention_heads, KV = config.key_value_heads, D = config.head_dim;
        // [B, T, heads·D] -> [B, heads, T, D]
        Tensor Heads(nn.Module<Tensor, Tensor> proj, int heads) => proj.call(x).view(B, T, heads, D).transpose(1, 2);
        var q = Rotary.Apply(Heads(q_proj, H), cos, sin);
        var k = RepeatKeyValues(Rotary.Apply(Heads(k_proj, KV), cos, sin));
        var v = RepeatKeyValues(Heads(v_proj, KV));
        var y = F.scaled_dot_product_attention(q, k, v, is_casual: true);
        return o_proj.call(y.transpose(1, 2).contiguous().view(B, T, H * D));
    }

    /// <summary>The output [B, 1, C] at one position per sequence, <paramref name="positions"/> [B] (int64): forward's
    /// row there, computing the query, the attention and o_proj for that position only (keys and values for every
    /// position up to it). cos, sin: the tables of every position, [T, D].</summary>
    public Tensor ForwardAt(Tensor x, Tensor cos, Tensor sin, Tensor positions)
    {
        long B = x.size(0), T = x.size(1);
        int H = config.num_attention_heads, KV = config.key_value_heads, D = config.head_dim;
        Tensor Heads(nn.Module<Tensor, Tensor> proj, Tensor input, int heads) => proj.call(input).view(B, input.size(1), heads, D).transpose(1, 2);
        Tensor Rotation(Tensor table) => table.index_select(0, positions).view(B, 1, 1, D);    // each sequence's own position
        var q = Rotary.Apply(Heads(q_proj, LlamaModel.RowsAt(x, positions), H), Rotation(cos), Rotation(sin));   // [B, H, 1, D]
        var k = RepeatKeyValues(Rotary.Apply(Heads(k_proj, x, KV), cos, sin));
        var v = RepeatKeyValues(Heads(v_proj, x, KV));
        var attends = torch.arange(T, ScalarType.Int64, x.device).view(1, T).le(positions.view(B, 1)).view(B, 1, 1, T);   // causal: 0..p
        var y = F.scaled_dot_product_attention(q, k, v, attn_mask: attends);
        return o_proj.call(y.transpose(1, 2).contiguous().view(B, 1, H * D));
    }

    /// <summary>Decoding with a cache: x holds only the new positions [B, T_new, C], cos and sin their rotations
    /// [B, 1, T_new, D], and mask [B, 1, T_new, T_all] says which of all the cached and new positions each attends to
    /// (true: attends). The new keys and values join the cache of layer <paramref name="layer"/>.</summary>
    public Tensor ForwardCached(Tensor x, Tensor cos, Tensor sin, Tensor mask, KeyValueCache cache, int layer)
    {
        long B = x.size(0), T = x.size(1);
        int H = config.num_attention_heads, KV = config.key_value_heads, D = config.head_dim;
        Tensor Heads(nn.Module<Tensor, Tensor> proj, int heads) => proj.call(x).view(B, T, heads, D).transpose(1, 2);
        var q = Rotary.Apply(Heads(q_proj, H), cos, sin);
        var (k, v) = cache.Append(layer, Rotary.Apply(Heads(k_proj, KV), cos, sin), Heads(v_proj, KV));
        var y = F.scaled_dot_product_attention(q, RepeatKeyValues(k), RepeatKeyValues(v), attn_mask: mask);
        return o_proj.call(y.transpose(1, 2).contiguous().view(B, T, H * D));
    }

    /// <summary>[B, KV, T, D] -> [B, KV·groups, T, D]: key/value head j serves query heads j·groups … j·groups + groups − 1.</summary>
    private Tensor RepeatKeyValues(Tensor kv)
    {
        int groups = config.key_value_groups;
        if (groups == 1) return kv;
        long B = kv.size(0), KV = kv.size(1), T = kv.size(2), D = kv.size(3);
        return kv.unsqueeze(2).expand(B, KV, groups, T, D).reshape(B, KV * groups, T, D);
    }
}

/// <summary>SwiGLU feed-forward: down(silu(gate(x)) · up(x)).</summary>
public sealed class LlamaMLP : nn.Module<Tensor, Tensor>
{
    public nn.Module<Tensor, Tensor> gate_proj, up_proj, down_proj;

    public LlamaMLP(LlamaConfig config, ScalarType? dtype, Device? device) : base(nameof(LlamaMLP))
    {
        gate_proj = nn.Linear(config.hidden_size, config.intermediate_size, hasBias: false, device, dtype);
        up_proj = nn.Linear(config.hidden_size, config.intermediate_size, hasBias: false, device, dtype);
        down_proj = nn.Linear(config.intermediate_size, config.hidden_size, hasBias: false, device, dtype);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x) => down_proj.call(F.silu(gate_proj.call(x)) * up_proj.call(x));
}

/// <summary>Pre-norm transformer block: x + attn(norm(x)), then + mlp(norm(·)).</summary>
public sealed class LlamaDecoderLayer : nn.Module<Tensor, Tensor, Tensor, Tensor>
{
    public LlamaAttention self_attn;
    public LlamaMLP mlp;
    public RMSNorm input_layernorm, post_attention_layernorm;

    public LlamaDecoderLayer(LlamaConfig config, ScalarType? dtype, Device? device) : base(nameof(LlamaDecoderLayer))
    {
        self_attn = new LlamaAttention(config, dtype, device);
        mlp = new LlamaMLP(config, dtype, device);
        input_layernorm = new RMSNorm(config.hidden_size, config.rms_norm_eps, dtype, device);
        post_attention_layernorm = new RMSNorm(config.hidden_size, config.rms_norm_eps, dtype, device);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x, Tensor cos, Tensor sin)
    {
        var h = x + self_attn.call(input_layernorm.call(x), cos, sin);
        return h + mlp.call(post_attention_layernorm.call(h));
    }

    /// <summary><see cref="forward"/>'s row [B, 1, C] at one position per sequence (<see cref="LlamaAttention.ForwardAt"/>):
    /// the MLP and the norms run on that row only.</summary>
    public Tensor ForwardAt(Tensor x, Tensor cos, Tensor sin, Tensor positions)
    {
        var h = LlamaModel.RowsAt(x, positions) + self_attn.ForwardAt(input_layernorm.call(x), cos, sin, positions);
        return h + mlp.call(post_attention_layernorm.call(h));
    }

    /// <summary><see cref="forward"/> for decoding with a cache (<see cref="LlamaAttention.ForwardCached"/>).</summary>
    public Tensor ForwardCached(Tensor x, Tensor cos, Tensor sin, Tensor mask, KeyValueCache cache, int layer)
    {
        var h = x + self_attn.ForwardCached(input_layernorm.call(x), cos, sin, mask, cache, layer);
        return h + mlp.call(post_attention_layernorm.call(h));
    }
}

/// <summary>The backbone (Hugging Face's LlamaModel): embeddings, blocks, final norm; returns hidden states [B, T, C].</summary>
public sealed class LlamaModel : nn.Module<Tensor, Tensor>
{
    public LlamaConfig config { get; }
    public Embedding embed_tokens;
    public ModuleList<LlamaDecoderLayer> layers;
    public RMSNorm norm;

    public LlamaModel(LlamaConfig config, ScalarType? dtype = null, Device? device = null) : base(nameof(LlamaModel))
    {
        config.Validate();
        this.config = config;
        embed_tokens = nn.Embedding(config.vocab_size, config.hidden_size, device: device, dtype: dtype);
        layers = nn.ModuleList(Enumerable.Range(0, config.num_hidden_layers).Select(_ => new LlamaDecoderLayer(config, dtype, device)).ToArray());
        norm = new RMSNorm(config.hidden_size, config.rms_norm_eps, dtype, device);
        RegisterComponents();
    }

    public override Tensor forward(Tensor input_ids)
    {
        var (x, cos, sin) = Embed(input_ids);
        foreach (var layer in layers) x = layer.call(x, cos, sin);
        return norm.call(x);
    }

    /// <summary>
    /// The final states at one position per sequence [B, C], <paramref name="positions"/> [B] (int64): forward's states
    /// there, up to float rounding, without the work nothing reads. The last block's keys and values need every
    /// position, but its query, attention output, MLP and the final norm only the positions read: a classifier reading
    /// one token per sequence skips about a fifth of a 4-layer model's work, forward and backward.
    /// </summary>
    public Tensor StatesAt(Tensor input_ids, Tensor positions)
    {
        var (x, cos, sin) = Embed(input_ids);
        for (int i = 0; i < layers.Count - 1; i++) x = layers[i].call(x, cos, sin);
        return norm.call(layers[layers.Count - 1].ForwardAt(x, cos, sin, positions)).squeeze(1);
    }

    private (Tensor x, Tensor cos, Tensor sin) Embed(Tensor input_ids)
    {
        if (input_ids.dim() != 2) throw new ArgumentException($"input_ids must be [batch, time], got {input_ids.dim()} dimensions", nameof(input_ids));
        long T = input_ids.size(1);
        if (T > config.max_position_embeddings)
            throw new ArgumentException($"sequence length {T} exceeds max_position_embeddings {config.max_position_embeddings}", nameof(input_ids));
        var x = embed_tokens.call(input_ids);
        var (cos, sin) = Rotary.Tables(T, config.head_dim, config.rope_theta, x.dtype, x.device);
        return (x, cos, sin);
    }

    /// <summary>x [B, T, C] read at one position per sequence: [B, 1, C].</summary>
    internal static Tensor RowsAt(Tensor x, Tensor positions) =>
        x.gather(1, positions.view(x.size(0), 1, 1).expand(x.size(0), 1, x.size(2)));

    /// <summary>
    /// Hidden states [B, T_new, C] of new tokens given the keys and values of the earlier ones in
    /// <paramref name="cache"/> (greedy decoding: GreedyDecoder). <paramref name="positions"/> [B, T_new] (int64): each
    /// token's position in its own row, so rows of different lengths share a batch; <paramref name="mask"/>
    /// [B, 1, T_new, cache length + T_new] (bool): which positions each new token attends to. With an empty cache, the
    /// positions 0..T−1 and a causal mask this equals <see cref="forward"/> up to float rounding.
    /// </summary>
    public Tensor ForwardCached(Tensor input_ids, Tensor positions, Tensor mask, KeyValueCache cache)
    {
        long B = input_ids.size(0), T = input_ids.size(1);
        var x = embed_tokens.call(input_ids);
        // The tables' row p is the rotation of position p, as in forward (the same float32 arithmetic, element by element).
        var (cosTable, sinTable) = Rotary.Tables(config.max_position_embeddings, config.head_dim, config.rope_theta, x.dtype, x.device);
        Tensor At(Tensor table) => table.index_select(0, positions.reshape(-1)).view(B, 1, T, config.head_dim);
        var (cos, sin) = (At(cosTable), At(sinTable));
        for (int i = 0; i < layers.Count; i++) x = layers[i].ForwardCached(x, cos, sin, mask, cache, i);
        return norm.call(x);
    }
}

/// <summary>
/// A Llama causal language model with Hugging Face's parameter names (model.…, lm_head.weight). Linear layers and
/// embeddings start at N(0, initializer_range²) as in transformers. With tied embeddings there is no lm_head
/// parameter: the logits use model.embed_tokens.weight (and the checkpoint, as Hugging Face's, holds no lm_head.weight).
/// </summary>
public sealed class LlamaForCausalLM : nn.Module<Tensor, Tensor>
{
    public LlamaConfig config { get; }
    public LlamaModel model;
    public nn.Module<Tensor, Tensor>? lm_head;

    public LlamaForCausalLM(LlamaConfig config, ScalarType? dtype = null, Device? device = null) : base(nameof(LlamaForCausalLM))
    {
        this.config = config;
        model = new LlamaModel(config, dtype, device);
        if (!config.tie_word_embeddings) lm_head = nn.Linear(config.hidden_size, config.vocab_size, hasBias: false, device, dtype);
        RegisterComponents();
        LlamaInit.Normal(this, config.initializer_range);
    }

    /// <summary>Logits [B, T, vocab] for input_ids [B, T] (int64).</summary>
    public override Tensor forward(Tensor input_ids) => Logits(model.call(input_ids));

    /// <summary>The vocabulary head on final states [..., C] (the model's output, after its norm): lm_head, or with tied
    /// embeddings the embedding matrix.</summary>
    public Tensor Logits(Tensor states) => lm_head is null ? F.linear(states, model.embed_tokens.weight!) : lm_head.call(states);

    /// <summary>Next-token cross entropy: position t predicts labels[t+1]; labels equal to ignore_index are skipped.
    /// On bf16/fp16 logits the loss is computed in float32 (<see cref="CrossEntropyFp32"/>).</summary>
    public static Tensor Loss(Tensor logits, Tensor labels, long ignore_index = -100)
    {
        long T = logits.size(1), V = logits.size(2);
        var predictions = logits.narrow(1, 0, T - 1).reshape(-1, V);
        var targets = labels.narrow(1, 1, T - 1).reshape(-1);
        return CrossEntropyFp32.Loss(predictions, targets, ignore_index);
    }

    /// <summary>forward + Loss with labels = input_ids.</summary>
    public Tensor Loss(Tensor input_ids, long ignore_index = -100) => Loss(forward(input_ids), input_ids, ignore_index);

    /// <summary>
    /// forward + Loss with these labels, up to float rounding, computing logits only where a label is scored: position
    /// t's when labels[t+1] is not ignore_index. In answer-only finetuning the prompt and the padding are scored
    /// nowhere, and their logits (the vocabulary-wide head and its softmax) are a large part of a small model's work.
    /// </summary>
    public Tensor ScoredLoss(Tensor input_ids, Tensor labels, long ignore_index = -100)
    {
        var hidden = model.call(input_ids);                                              // [B, T, C]
        long T = hidden.size(1), C = hidden.size(2);
        var targets = labels.narrow(1, 1, T - 1).reshape(-1);                            // position t predicts labels[t+1]
        var scored = targets.ne(ignore_index).nonzero().view(-1);
        var states = hidden.narrow(1, 0, T - 1).reshape(-1, C).index_select(0, scored);  // [N, C]
        return CrossEntropyFp32.Loss(Logits(states), targets.index_select(0, scored), ignore_index);
    }
}

/// <summary>Hugging Face's LlamaPreTrainedModel initialization: every Linear and Embedding weight ~ N(0, std²), biases 0; norms stay 1.</summary>
internal static class LlamaInit
{
    public static void Normal(nn.Module root, double std)
    {
        using var _ = torch.no_grad();
        foreach (var (_, m) in root.named_modules_and_self())
        {
            if (m is Linear linear) { linear.weight.normal_(0, std); linear.bias?.zero_(); }
            else if (m is Embedding embedding) embedding.weight!.normal_(0, std);
        }
    }
}
