using System.Text.Json;
using System.Text.Json.Nodes;
using LoraLab.Torch;

namespace LoraLab.Models;

/// <summary>
/// The shape of a Llama-style decoder, in Hugging Face's LlamaConfig field names (so config.json
/// round-trips with transformers). Every attention head has its own keys and values
/// (num_key_value_heads = num_attention_heads).
/// </summary>
public sealed record LlamaConfig(
    int hidden_size = 64,
    int num_hidden_layers = 2,
    int num_attention_heads = 4,
    int intermediate_size = 172,
    int vocab_size = 256,
    int max_position_embeddings = 256,
    double rms_norm_eps = 1e-6,
    double rope_theta = 10000.0,
    bool tie_word_embeddings = false,
    double initializer_range = 0.02,
    int num_labels = 2,
    long? pad_token_id = null)
{
    public int head_dim => hidden_size / num_attention_heads;

    /// <summary>Throws an ArgumentException naming the first field that makes no sense.</summary>
    public void Validate()
    {
        if (hidden_size <= 0) throw new ArgumentException("must be positive", nameof(hidden_size));
        if (num_attention_heads <= 0 || hidden_size % num_attention_heads != 0)
            throw new ArgumentException($"hidden_size {hidden_size} is not divisible by num_attention_heads {num_attention_heads}", nameof(num_attention_heads));
        if (head_dim % 2 != 0) throw new ArgumentException($"rotary embeddings need an even head_dim, got {head_dim}", nameof(num_attention_heads));
        if (num_hidden_layers < 0) throw new ArgumentException("must be non-negative", nameof(num_hidden_layers));
        if (intermediate_size <= 0) throw new ArgumentException("must be positive", nameof(intermediate_size));
        if (vocab_size <= 0) throw new ArgumentException("must be positive", nameof(vocab_size));
        if (max_position_embeddings <= 0) throw new ArgumentException("must be positive", nameof(max_position_embeddings));
    }

    /// <summary>config.json as transformers writes it for LlamaForCausalLM (or another architecture).</summary>
    public string ToJson(ScalarType dtype = ScalarType.Float32, string architecture = "LlamaForCausalLM")
    {
        var json = new JsonObject
        {
            ["architectures"] = new JsonArray(architecture),
            ["model_type"] = "llama",
            ["hidden_size"] = hidden_size,
            ["num_hidden_layers"] = num_hidden_layers,
            ["num_attention_heads"] = num_attention_heads,
            ["num_key_value_heads"] = num_attention_heads,
            ["head_dim"] = head_dim,
            ["intermediate_size"] = intermediate_size,
            ["vocab_size"] = vocab_size,
            ["max_position_embeddings"] = max_position_embeddings,
            ["rms_norm_eps"] = rms_norm_eps,
            ["rope_theta"] = rope_theta,
            ["rope_scaling"] = null,
            ["tie_word_embeddings"] = tie_word_embeddings,
            ["hidden_act"] = "silu",
            ["attention_bias"] = false,
            ["attention_dropout"] = 0.0,
            ["mlp_bias"] = false,
            ["initializer_range"] = initializer_range,
            ["pretraining_tp"] = 1,
            ["use_cache"] = false,
            ["torch_dtype"] = dtype switch
            {
                ScalarType.Float32 => "float32",
                ScalarType.BFloat16 => "bfloat16",
                ScalarType.Float16 => "float16",
                ScalarType.Float64 => "float64",
                _ => throw new ArgumentException($"no torch_dtype for {dtype}", nameof(dtype)),
            },
        };
        if (pad_token_id is { } pad) json["pad_token_id"] = pad;
        if (architecture == "LlamaForSequenceClassification")
        {
            json["num_labels"] = num_labels;
            var labels = new JsonObject();
            for (int i = 0; i < num_labels; i++) labels[i.ToString()] = $"LABEL_{i}";
            json["id2label"] = labels;
        }
        return json.ToJsonString(new JsonSerializerOptions { WriteIndented = true });
    }

    /// <summary>Reads the fields this library uses from a Hugging Face config.json.</summary>
    public static LlamaConfig FromJson(string text)
    {
        var j = JsonNode.Parse(text)!.AsObject();
        int Int(string name, int fallback) => j[name] is { } v ? v.GetValue<int>() : fallback;
        double Dbl(string name, double fallback) => j[name] is { } v ? v.GetValue<double>() : fallback;
        var d = new LlamaConfig();
        int heads = Int("num_attention_heads", d.num_attention_heads);
        if (j["num_key_value_heads"] is { } kv && kv.GetValue<int>() != heads)
            throw new NotSupportedException("grouped-query attention (num_key_value_heads != num_attention_heads) is not supported");
        return new LlamaConfig(
            Int("hidden_size", d.hidden_size), Int("num_hidden_layers", d.num_hidden_layers), heads,
            Int("intermediate_size", d.intermediate_size), Int("vocab_size", d.vocab_size),
            Int("max_position_embeddings", d.max_position_embeddings), Dbl("rms_norm_eps", d.rms_norm_eps),
            Dbl("rope_theta", d.rope_theta), j["tie_word_embeddings"]?.GetValue<bool>() ?? d.tie_word_embeddings,
            Dbl("initializer_range", d.initializer_range), Int("num_labels", d.num_labels),
            j["pad_token_id"] is { } p && p.GetValueKind() == JsonValueKind.Number ? p.GetValue<long>() : null);
    }
}
