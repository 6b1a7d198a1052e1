using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using LoraLab.Checkpoints;
using TorchSharp;
using static TorchSharp.torch;

namespace LoraLab.Models;

/// <summary>
/// The shape of a Llama-style decoder, in Hugging Face's LlamaConfig field names (so config.json
/// round-trips with transformers). Grouped-query attention (Llama 3, TinyLlama, Mistral, Qwen):
/// num_key_value_heads (null: one per attention head) key/value heads, each shared by a group of
/// num_attention_heads / num_key_value_heads query heads, so k_proj and v_proj map hidden_size to
/// num_key_value_heads · head_dim.
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
    long? pad_token_id = null,
    // Omitted from JSON when null, so configs without it serialize (and hash into cache keys) as before.
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] int? num_key_value_heads = null)
{
    public int head_dim => hidden_size / num_attention_heads;

    /// <summary>The number of key/value heads: num_key_value_heads, or num_attention_heads when that is null.</summary>
    [JsonIgnore] public int key_value_heads => num_key_value_heads ?? num_attention_heads;

    /// <summary>Query heads per key/value head (1 without grouped-query attention).</summary>
    [JsonIgnore] public int key_value_groups => key_value_heads > 0 ? num_attention_heads / key_value_heads : 0;

    /// <summary>Throws an ArgumentException naming the first field that makes no sense.</summary>
    public void Validate()
    {
        if (hidden_size <= 0) throw new ArgumentException("must be positive", nameof(hidden_size));
        if (num_attention_heads <= 0 || hidden_size % num_attention_heads != 0)
            throw new ArgumentException($"hidden_size {hidden_size} is not divisible by num_attention_heads {num_attention_heads}", nameof(num_attention_heads));
        if (key_value_heads <= 0 || num_attention_heads % key_value_heads != 0)
            throw new ArgumentException($"num_key_value_heads {key_value_heads} must be positive and divide num_attention_heads {num_attention_heads}", nameof(num_key_value_heads));
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
            ["num_key_value_heads"] = key_value_heads,
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

    /// <summary>Reads the fields this library uses from a Hugging Face config.json. A mistyped or unsupported
    /// field is an InvalidDataException naming `source` (the file) and the field.</summary>
    public static LlamaConfig FromJson(string text, string source = "config.json")
    {
        var f = ConfigFields.Parse(text, source);
        var d = new LlamaConfig();
        int hidden = f.Int("hidden_size", d.hidden_size), heads = f.Int("num_attention_heads", d.num_attention_heads);
        if (f.Has("model_type") && f.String("model_type", "llama") != "llama")
            throw f.Error("model_type", $"is \"{f.String("model_type", "")}\": only llama checkpoints load here");
        // Llama variants this model does not compute: refuse them rather than load weights into the wrong formula.
        if (f.Has("head_dim") && heads > 0 && f.Int("head_dim") != hidden / heads)
            throw f.Error("head_dim", $"is {f.Int("head_dim")}, but only hidden_size / num_attention_heads = {hidden / Math.Max(heads, 1)} is supported");
        if (f.Node("rope_scaling") is { } scaling)
            throw f.Error("rope_scaling", $"is {scaling.ToJsonString()}: scaled rotary embeddings are not supported");
        if (f.Bool("attention_bias", false)) throw f.Error("attention_bias", "is true: attention biases are not supported");
        if (f.Bool("mlp_bias", false)) throw f.Error("mlp_bias", "is true: MLP biases are not supported");
        if (f.String("hidden_act", "silu") != "silu") throw f.Error("hidden_act", $"is \"{f.String("hidden_act", "")}\": only silu is supported");
        int? kvHeads = f.Has("num_key_value_heads") ? f.Int("num_key_value_heads") : null;
        var config = new LlamaConfig(
            hidden, f.Int("num_hidden_layers", d.num_hidden_layers), heads,
            f.Int("intermediate_size", d.intermediate_size), f.Int("vocab_size", d.vocab_size),
            f.Int("max_position_embeddings", d.max_position_embeddings), f.Double("rms_norm_eps", d.rms_norm_eps),
            f.Double("rope_theta", d.rope_theta), f.Bool("tie_word_embeddings", d.tie_word_embeddings),
            f.Double("initializer_range", d.initializer_range), f.Int("num_labels", d.num_labels),
            f.OptionalLong("pad_token_id"),
            kvHeads == heads ? null : kvHeads);
        try { config.Validate(); }
        catch (ArgumentException e) { throw f.Error(e.ParamName ?? "?", $"is invalid: {e.Message.Split(" (Parameter")[0]}"); }
        return config;
    }
}
