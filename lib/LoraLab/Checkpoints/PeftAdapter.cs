using System.Text.Json;
using System.Text.Json.Nodes;
using LoraLab.Lora;
using LoraLab.Modules;
using LoraLab.Torch;

namespace LoraLab.Checkpoints;

/// <summary>
/// LoRA adapters in PEFT's on-disk layout, so `PeftModel.from_pretrained(base, dir)` can read them:
/// adapter_config.json (peft_type "LORA", r, lora_alpha, target_modules, …) and
/// adapter_model.safetensors with keys base_model.model.&lt;module&gt;.lora_A.weight / .lora_B.weight
/// (PEFT drops the adapter name "default"), plus base_model.model.&lt;module&gt;.weight for modules_to_save.
/// PiSSA adapters are saved as trained; they only reproduce the model on top of the PiSSA residual base.
/// </summary>
public static class PeftAdapter
{
    public const string Prefix = "base_model.model.";

    public static void Save(string directory, Module model, LoraConfig config)
    {
        Directory.CreateDirectory(directory);
        var layers = LoraAdapters.Layers(model).ToList();
        if (layers.Count == 0) throw new InvalidOperationException("the model has no LoRA layers to save");
        var tensors = new Dictionary<string, Tensor>();
        foreach (var (name, _, p) in LoraAdapters.Factors(model)) tensors[Prefix + name] = p;
        var saved = LoraConfig.Split(config.modules_to_save);
        foreach (var (name, p) in model.named_parameters())
            if (saved.Any(s => name.StartsWith(s + ".") || name.Contains("." + s + "."))) tensors[Prefix + name] = p;

        // PEFT records the resolved target names (the last component of each adapted module).
        var targets = layers.Select(l => l.name[(l.name.LastIndexOf('.') + 1)..]).Distinct().OrderBy(s => s, StringComparer.Ordinal);
        var json = new JsonObject
        {
            ["peft_type"] = "LORA",
            ["task_type"] = config.task_type,
            ["base_model_name_or_path"] = config.base_model_name_or_path,
            ["r"] = config.r,
            ["lora_alpha"] = config.lora_alpha,
            ["lora_dropout"] = config.lora_dropout,
            ["target_modules"] = new JsonArray(targets.Select(t => (JsonNode)t!).ToArray()),
            ["use_rslora"] = config.use_rslora,
            ["init_lora_weights"] = config.init.PeftName() switch { bool b => JsonValue.Create(b), var o => JsonValue.Create((string)o) },
            ["bias"] = "none",
            ["fan_in_fan_out"] = false,
            ["modules_to_save"] = saved.Length == 0 ? null : new JsonArray(saved.Select(s => (JsonNode)s!).ToArray()),
            ["inference_mode"] = true,
            ["use_dora"] = false,
        };
        File.WriteAllText(Path.Combine(directory, "adapter_config.json"), json.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
        Safetensors.Save(Path.Combine(directory, "adapter_model.safetensors"), tensors,
                         new Dictionary<string, string> { ["format"] = "pt", ["loralab_init"] = config.init.ToString() });
    }

    /// <summary>Reads adapter_config.json into a LoraConfig (target_modules joined with commas).</summary>
    public static LoraConfig ReadConfig(string directory)
    {
        var j = JsonNode.Parse(File.ReadAllText(Path.Combine(directory, "adapter_config.json")))!.AsObject();
        if (j["peft_type"]?.GetValue<string>() != "LORA") throw new InvalidDataException($"{directory}: peft_type is not LORA");
        string Targets(JsonNode? n) => n is JsonArray a ? string.Join(",", a.Select(x => x!.GetValue<string>())) : n?.GetValue<string>() ?? "";
        return new LoraConfig(
            r: j["r"]!.GetValue<int>(),
            lora_alpha: j["lora_alpha"]!.GetValue<double>(),
            lora_dropout: j["lora_dropout"]?.GetValue<double>() ?? 0,
            target_modules: Targets(j["target_modules"]),
            use_rslora: j["use_rslora"]?.GetValue<bool>() ?? false,
            modules_to_save: Targets(j["modules_to_save"]),
            task_type: j["task_type"]?.GetValue<string>() ?? "CAUSAL_LM",
            base_model_name_or_path: j["base_model_name_or_path"]?.GetValue<string>() ?? "");
    }

    /// <summary>Applies the saved LoRA config to a base model and loads the adapter weights (every saved
    /// key must land on a parameter, and every LoRA factor must be in the file). Returns the config.</summary>
    public static LoraConfig Load(string directory, Module model)
    {
        var config = ReadConfig(directory);
        LoraAdapters.Apply(model, config);
        var tensors = Safetensors.Load(Path.Combine(directory, "adapter_model.safetensors"));
        try
        {
            var own = model.named_parameters().ToDictionary(p => Prefix + p.name, p => p.parameter);
            var unknown = tensors.Keys.Where(k => !own.ContainsKey(k)).ToList();
            if (unknown.Count > 0) throw new InvalidDataException($"adapter keys match no parameter: {string.Join(", ", unknown)}");
            var missing = LoraAdapters.Factors(model).Select(f => Prefix + f.name).Where(k => !tensors.ContainsKey(k)).ToList();
            if (missing.Count > 0) throw new InvalidDataException($"adapter file lacks: {string.Join(", ", missing)}");
            using var _ = torch.no_grad();
            foreach (var (key, source) in tensors)
            {
                var target = own[key];
                if (!target.shape.SequenceEqual(source.shape))
                    throw new InvalidDataException($"adapter tensor {key} has shape [{string.Join(", ", source.shape)}], the model expects [{string.Join(", ", target.shape)}]");
                using var converted = source.to(target.device, target.dtype);
                target.copy_(converted);
            }
        }
        finally { foreach (var t in tensors.Values) t.Dispose(); }
        return config;
    }
}
