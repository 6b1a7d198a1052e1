using LoraLab.Modules;
using LoraLab.Torch;
using F = LoraLab.Torch.torch.nn.functional;

namespace LoraLab.Models;

/// <summary>
/// Causal self-attention with rotary positions; q/k/v/o projections without bias (Llama). With grouped-query
/// attention k_proj and v_proj produce key_value_heads heads, and each is shared by key_value_groups
/// consecutive query heads (Hugging Face's repeat_kv).
/// </summary>
public sealed class LlamaAttention : Module
{
    private readonly LlamaConfig config;

    public LlamaAttention(LlamaConfig config, ScalarType? dtype, Device? device)
    {
        this.config = config;
        int h = config.hidden_size, kv = config.key_value_heads * config.head_dim;
        RegisterModule("q_proj", new Linear(h, h, bias: false, dtype, device));
        RegisterModule("k_proj", new Linear(h, kv, bias: false, dtype, device));
        RegisterModule("v_proj", new Linear(h, kv, bias: false, dtype, device));
        RegisterModule("o_proj", new Linear(h, h, bias: false, dtype, device));
    }

    public Tensor forward(Tensor x, Tensor cos, Tensor sin)
    {
        using var scope = torch.NewDisposeScope();
        long B = x.size(0), T = x.size(1);
        int H = config.num_attention_heads, KV = config.key_value_heads, D = config.head_dim;
        // [B, T, heads·D] -> [B, heads, T, D]
        Tensor Heads(string proj, int heads) => Child<Linear>(proj).forward(x).view(B, T, heads, D).transpose(1, 2);
        var q = Rotary.Apply(Heads("q_proj", H), cos, sin);
        var k = RepeatKeyValues(Rotary.Apply(Heads("k_proj", KV), cos, sin));
        var v = RepeatKeyValues(Heads("v_proj", KV));
        var y = F.scaled_dot_product_attention(q, k, v, is_causal: true);
        y = y.transpose(1, 2).contiguous().view(B, T, H * D);
        return Child<Linear>("o_proj").forward(y).MoveToOuterDisposeScope();
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
public sealed class LlamaMLP : Module
{
    public LlamaMLP(LlamaConfig config, ScalarType? dtype, Device? device)
    {
        RegisterModule("gate_proj", new Linear(config.hidden_size, config.intermediate_size, bias: false, dtype, device));
        RegisterModule("up_proj", new Linear(config.hidden_size, config.intermediate_size, bias: false, dtype, device));
        RegisterModule("down_proj", new Linear(config.intermediate_size, config.hidden_size, bias: false, dtype, device));
    }

    public Tensor forward(Tensor x)
    {
        using var scope = torch.NewDisposeScope();
        var gated = Child<Linear>("gate_proj").forward(x).silu() * Child<Linear>("up_proj").forward(x);
        return Child<Linear>("down_proj").forward(gated).MoveToOuterDisposeScope();
    }
}

/// <summary>Pre-norm transformer block: x + attn(norm(x)), then + mlp(norm(·)).</summary>
public sealed class LlamaDecoderLayer : Module
{
    public LlamaDecoderLayer(LlamaConfig config, ScalarType? dtype, Device? device)
    {
        RegisterModule("self_attn", new LlamaAttention(config, dtype, device));
        RegisterModule("mlp", new LlamaMLP(config, dtype, device));
        RegisterModule("input_layernorm", new RMSNorm(config.hidden_size, config.rms_norm_eps, dtype, device));
        RegisterModule("post_attention_layernorm", new RMSNorm(config.hidden_size, config.rms_norm_eps, dtype, device));
    }

    public Tensor forward(Tensor x, Tensor cos, Tensor sin)
    {
        using var scope = torch.NewDisposeScope();
        var h = x + Child<LlamaAttention>("self_attn").forward(Child<RMSNorm>("input_layernorm").forward(x), cos, sin);
        var y = h + Child<LlamaMLP>("mlp").forward(Child<RMSNorm>("post_attention_layernorm").forward(h));
        return y.MoveToOuterDisposeScope();
    }
}

/// <summary>The backbone (Hugging Face's LlamaModel): embeddings, blocks, final norm; returns hidden states [B, T, C].</summary>
public sealed class LlamaModel : Module
{
    public LlamaConfig config { get; }

    public LlamaModel(LlamaConfig config, ScalarType? dtype = null, Device? device = null)
    {
        config.Validate();
        this.config = config;
        RegisterModule("embed_tokens", new Embedding(config.vocab_size, config.hidden_size, config.initializer_range, dtype, device));
        RegisterModule("layers", new ModuleList<LlamaDecoderLayer>(
            Enumerable.Range(0, config.num_hidden_layers).Select(_ => new LlamaDecoderLayer(config, dtype, device))));
        RegisterModule("norm", new RMSNorm(config.hidden_size, config.rms_norm_eps, dtype, device));
    }

    public Embedding embed_tokens => Child<Embedding>("embed_tokens");

    public Tensor forward(Tensor input_ids)
    {
        if (input_ids.dim() != 2) throw new ArgumentException($"input_ids must be [batch, time], got {input_ids.dim()} dimensions", nameof(input_ids));
        long T = input_ids.size(1);
        if (T > config.max_position_embeddings)
            throw new ArgumentException($"sequence length {T} exceeds max_position_embeddings {config.max_position_embeddings}", nameof(input_ids));
        using var scope = torch.NewDisposeScope();
        var x = embed_tokens.forward(input_ids);
        var (cos, sin) = Rotary.Tables(T, config.head_dim, config.rope_theta, x.dtype, x.device);
        var layers = Child<ModuleList<LlamaDecoderLayer>>("layers");
        for (int i = 0; i < layers.Count; i++) x = layers[i].forward(x, cos, sin);
        return Child<RMSNorm>("norm").forward(x).MoveToOuterDisposeScope();
    }
}

/// <summary>
/// A Llama causal language model with Hugging Face's parameter names (model.…, lm_head.weight).
/// Linear layers and embeddings start at N(0, initializer_range²) as in transformers. With tied
/// embeddings there is no lm_head parameter: the logits use model.embed_tokens.weight (and the
/// checkpoint, as Hugging Face's, holds no lm_head.weight).
/// </summary>
public sealed class LlamaForCausalLM : Module
{
    public LlamaConfig config { get; }

    public LlamaForCausalLM(LlamaConfig config, ScalarType? dtype = null, Device? device = null)
    {
        this.config = config;
        RegisterModule("model", new LlamaModel(config, dtype, device));
        if (!config.tie_word_embeddings)
            RegisterModule("lm_head", new Linear(config.hidden_size, config.vocab_size, bias: false, dtype, device));
        LlamaInit.Normal(this, config.initializer_range);
    }

    public LlamaModel model => Child<LlamaModel>("model");

    /// <summary>Logits [B, T, vocab] for input_ids [B, T] (int64).</summary>
    public Tensor forward(Tensor input_ids)
    {
        using var scope = torch.NewDisposeScope();
        var h = model.forward(input_ids);
        var logits = config.tie_word_embeddings
            ? F.linear(h, model.embed_tokens.weight)
            : Child<Linear>("lm_head").forward(h);
        return logits.MoveToOuterDisposeScope();
    }

    /// <summary>Next-token cross entropy: position t predicts labels[t+1]; labels equal to ignore_index are skipped.</summary>
    public static Tensor Loss(Tensor logits, Tensor labels, long ignore_index = -100)
    {
        using var scope = torch.NewDisposeScope();
        long T = logits.size(1), V = logits.size(2);
        var predictions = logits.narrow(1, 0, T - 1).reshape(-1, V);
        var targets = labels.narrow(1, 1, T - 1).reshape(-1);
        return F.cross_entropy(predictions, targets, ignore_index: ignore_index).MoveToOuterDisposeScope();
    }

    /// <summary>forward + Loss with labels = input_ids.</summary>
    public Tensor Loss(Tensor input_ids, long ignore_index = -100)
    {
        using var scope = torch.NewDisposeScope();
        return Loss(forward(input_ids), input_ids, ignore_index).MoveToOuterDisposeScope();
    }
}

/// <summary>Hugging Face's LlamaPreTrainedModel initialization: every Linear and Embedding weight ~ N(0, std²), biases 0; norms stay 1.</summary>
internal static class LlamaInit
{
    public static void Normal(Module root, double std)
    {
        using var _ = torch.no_grad();
        foreach (var (_, m) in root.named_modules())
        {
            if (m is Linear linear) { linear.weight.normal_(0, std); linear.bias?.zero_(); }
            else if (m is Embedding embedding) embedding.weight.normal_(0, std);
        }
    }
}
