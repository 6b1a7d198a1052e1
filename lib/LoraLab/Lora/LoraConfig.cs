namespace LoraLab.Lora;

/// <summary>
/// A LoRA setup, in PEFT's LoraConfig field names.
/// target_modules: comma-separated module names matched against the end of each module's dotted
/// name ("q_proj,v_proj" adapts every …self_attn.q_proj and …v_proj), or "all-linear" (every Linear
/// but the output layers lm_head and score). scaling s = lora_alpha / r, or lora_alpha / √r with use_rslora.
/// modules_to_save: modules kept fully trainable (e.g. "score", the classification head).
/// autocast_adapter_dtype: float32 LoRA factors (and optimizer state) on a bf16/fp16 base, PEFT's default
/// (get_peft_model's argument of that name); false keeps them in the base's dtype.
/// </summary>
public sealed record LoraConfig(
    int r = 8,
    double lora_alpha = 16,
    double lora_dropout = 0.0,
    string target_modules = "q_proj,v_proj",
    bool use_rslora = false,
    LoraInit init = LoraInit.InitA_KaimingUniform,
    double? init_variance = null,
    string modules_to_save = "",
    string task_type = "CAUSAL_LM",
    string base_model_name_or_path = "",
    bool autocast_adapter_dtype = true)
{
    public const string AllLinear = "all-linear";

    /// <summary>Output layers that "all-linear" leaves alone (as PEFT does).</summary>
    public static readonly string[] OutputLayers = { "lm_head", "score" };

    internal static string[] Split(string list) =>
        list.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

    /// <summary>PEFT's rule: a module matches a target when its name equals it or ends with "." + target.</summary>
    internal static bool Matches(string moduleName, string target) =>
        moduleName == target || moduleName.EndsWith("." + target, StringComparison.Ordinal);

    public void Validate()
    {
        if (r <= 0) throw new ArgumentException($"LoRA rank must be at least 1, got {r}", nameof(r));
        if (!(lora_alpha > 0)) throw new ArgumentException($"lora_alpha must be positive, got {lora_alpha}", nameof(lora_alpha));
        if (lora_dropout < 0 || lora_dropout >= 1) throw new ArgumentException($"lora_dropout must be in [0, 1), got {lora_dropout}", nameof(lora_dropout));
        if (Split(target_modules).Length == 0) throw new ArgumentException("no target modules given", nameof(target_modules));
        if (init_variance is { } v && !(v > 0)) throw new ArgumentException($"init_variance must be positive, got {v}", nameof(init_variance));
    }
}
