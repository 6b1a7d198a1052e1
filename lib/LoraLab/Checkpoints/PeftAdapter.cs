using System.Text.Json;
using System.Text.Json.Nodes;
using LoraLab.Lora;
using LoraLab.Modules;
using TorchSharp;
using static TorchSharp.torch;

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

    /// <summary>The adapter_config.json key that records an init PEFT cannot name.</summary>
    public const string InitRecordKey = "loralab_init";

    public static void Save(string directory, nn.Module model, LoraConfig config)
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
            ["init_lora_weights"] = InitLoraWeights(config),
            ["bias"] = "none",
            ["fan_in_fan_out"] = false,
            ["modules_to_save"] = saved.Length == 0 ? null : new JsonArray(saved.Select(s => (JsonNode)s!).ToArray()),
            ["inference_mode"] = true,
            ["use_dora"] = false,
        };
        // Where PEFT has no init_lora_weights value for our init, say exactly what the init was (PEFT ignores
        // keys it does not know, with a warning).
        if (config.init.PeftEquivalent(config.r, config.init_variance) is null) json[InitRecordKey] = InitRecord(config);
        File.WriteAllText(Path.Combine(directory, "adapter_config.json"), json.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
        Safetensors.Save(Path.Combine(directory, "adapter_model.safetensors"), tensors,
                         new Dictionary<string, string> { ["format"] = "pt", ["loralab_init"] = config.init.ToString() });
    }

    // PEFT's value when it reproduces our init; otherwise false ("PEFT does not initialize these factors"):
    // the one value that claims no PEFT scheme. The exact init then goes under InitRecordKey.
    private static JsonNode InitLoraWeights(LoraConfig config) => config.init.PeftEquivalent(config.r, config.init_variance) switch
    {
        bool b => JsonValue.Create(b),
        string name => JsonValue.Create(name),
        _ => JsonValue.Create(false),
    };

    private static JsonObject InitRecord(LoraConfig config) => new()
    {
        ["scheme"] = config.init.ToString(),
        ["init_variance"] = config.init_variance,
        ["factors"] = config.init.Describe(config.init_variance),
        ["zero_at_start"] = config.init.ZeroesA() ? "lora_A" : config.init.ZeroesB() ? "lora_B" : null,
    };

    /// <summary>Reads adapter_config.json into a LoraConfig (target_modules joined with commas). A missing,
    /// mistyped or unsupported field is an InvalidDataException naming the file and the field.</summary>
    public static LoraConfig ReadConfig(string directory)
    {
        var f = ConfigFields.Read(Path.Combine(directory, "adapter_config.json"));
        string peftType = f.String("peft_type", "");
        if (peftType != "LORA") throw f.Error("peft_type", peftType == "" ? "is missing (expected \"LORA\")" : $"is \"{peftType}\": only LORA adapters load here");
        RejectUnsupported(f);
        int r = f.Int("r");
        var (init, variance) = ReadInit(f, r);
        var config = new LoraConfig(
            r: r,
            lora_alpha: f.Double("lora_alpha"),
            lora_dropout: f.Double("lora_dropout", 0),
            target_modules: f.NameList("target_modules"),
            use_rslora: f.Bool("use_rslora", false),
            init: init,
            init_variance: variance,
            modules_to_save: f.NameList("modules_to_save"),
            task_type: f.String("task_type", "CAUSAL_LM"),
            base_model_name_or_path: f.String("base_model_name_or_path", ""));
        try { config.Validate(); }
        catch (ArgumentException e) { throw new InvalidDataException($"{f.Source}: field '{e.ParamName}': {e.Message.Split(" (Parameter")[0]}"); }
        return config;
    }

    // PEFT features that change the adapter's shapes or formula: loading them as plain LoRA would be silently wrong.
    private static void RejectUnsupported(ConfigFields f)
    {
        if (f.Bool("use_dora", false)) throw f.Error("use_dora", "is true: DoRA adapters are not supported");
        if (f.Bool("fan_in_fan_out", false)) throw f.Error("fan_in_fan_out", "is true: only nn.Linear layout (fan_in_fan_out = false) is supported");
        if (f.String("bias", "none") != "none") throw f.Error("bias", $"is \"{f.String("bias", "none")}\": only \"none\" is supported");
        foreach (var pattern in new[] { "rank_pattern", "alpha_pattern" })
            if (f.Node(pattern) is JsonObject { Count: > 0 }) throw f.Error(pattern, "sets per-module ranks or alphas, which are not supported");
    }

    // Our own record wins; otherwise PEFT's init_lora_weights, mapped back. false (PEFT: no init) has no
    // counterpart: the factors come from the file anyway, so it reads as the default InitA_KaimingUniform.
    private static (LoraInit, double?) ReadInit(ConfigFields f, int r)
    {
        if (f.Node(InitRecordKey) is JsonObject record)
        {
            var inner = ConfigFields.Parse(record.ToJsonString(), $"{f.Source} ({InitRecordKey})");
            string scheme = inner.String("scheme", "");
            if (!Enum.TryParse<LoraInit>(scheme, out var init) || !Enum.IsDefined(init))
                throw inner.Error("scheme", $"is \"{scheme}\", not one of {string.Join(", ", Enum.GetNames<LoraInit>())}");
            return (init, inner.Has("init_variance") ? inner.Double("init_variance") : null);
        }
        if (!f.Has("init_lora_weights")) return (LoraInit.InitA_KaimingUniform, null);
        var node = f.Node("init_lora_weights")!;
        if (node.GetValueKind() is JsonValueKind.True or JsonValueKind.False)
            return (LoraInit.InitA_KaimingUniform, null);
        string name = f.String("init_lora_weights", "");
        if (name.Equals("gaussian", StringComparison.OrdinalIgnoreCase)) return (LoraInit.InitA_Gaussian, 1.0 / ((double)r * r));
        if (name == "pissa" || name.StartsWith("pissa_niter_", StringComparison.Ordinal)) return (LoraInit.PiSSA, null);
        throw f.Error("init_lora_weights", $"is \"{name}\": supported are true, false, \"gaussian\", \"pissa\" and \"pissa_niter_N\"");
    }

    /// <summary>Applies the saved LoRA config to a base model and loads the adapter weights (every saved
    /// key must land on a parameter, and every LoRA factor must be in the file). Returns the config.</summary>
    public static LoraConfig Load(string directory, nn.Module model)
    {
        var config = ReadConfig(directory);
        // The factors are overwritten below, so the init only matters where it changes the base: PiSSA would
        // replace W by a residual, but a saved PiSSA adapter goes on the base it was saved against, untouched.
        try { LoraAdapters.Apply(model, config.init == LoraInit.PiSSA ? config with { init = LoraInit.InitA_KaimingUniform } : config); }
        catch (ArgumentException e) { throw new InvalidDataException($"{Path.Combine(directory, "adapter_config.json")} does not fit the model: {e.Message}", e); }
        string weights = Path.Combine(directory, "adapter_model.safetensors");
        var tensors = Safetensors.Load(weights);
        try
        {
            var own = model.named_parameters().ToDictionary(p => Prefix + p.name, p => p.parameter);
            var unknown = tensors.Keys.Where(k => !own.ContainsKey(k)).ToList();
            if (unknown.Count > 0) throw new InvalidDataException($"{weights}: adapter keys match no parameter: {string.Join(", ", unknown)}");
            var missing = LoraAdapters.Factors(model).Select(f => Prefix + f.name).Where(k => !tensors.ContainsKey(k)).ToList();
            if (missing.Count > 0) throw new InvalidDataException($"{weights} lacks: {string.Join(", ", missing)}");
            using var _ = torch.no_grad();
            foreach (var (key, source) in tensors)
            {
                var target = own[key];
                if (!target.shape.SequenceEqual(source.shape))
                    throw new InvalidDataException($"{weights}: adapter tensor {key} has shape [{string.Join(", ", source.shape)}], the model expects [{string.Join(", ", target.shape)}]");
                using var converted = source.to(target.dtype, target.device);
                target.copy_(converted);
            }
        }
        finally { foreach (var t in tensors.Values) t.Dispose(); }
        return config;
    }
}
