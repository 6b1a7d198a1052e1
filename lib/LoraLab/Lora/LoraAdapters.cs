using LoraLab.Modules;

namespace LoraLab.Lora;

/// <summary>Trainable versus total parameter counts, printed as PEFT prints them.</summary>
public sealed record ParameterReport(long trainable, long total)
{
    public double fraction => total == 0 ? 0 : (double)trainable / total;

    public static ParameterReport Of(Module model) => new(model.num_parameters(trainableOnly: true), model.num_parameters());

    public override string ToString() => $"trainable params: {trainable:N0} || all params: {total:N0} || trainable%: {100 * fraction:F4}";
}

/// <summary>Putting LoRA layers into a model, and working with them once there.</summary>
public static class LoraAdapters
{
    /// <summary>
    /// Replaces every Linear that config.target_modules names with a LoraLinear, freezes everything
    /// else (except config.modules_to_save), and returns the adapted modules' names.
    /// Throws ArgumentException naming the field when r is 0 or exceeds a layer's min(in, out),
    /// or when a target name matches no Linear in the model.
    /// </summary>
    public static List<string> Apply(Module model, LoraConfig config)
    {
        config.Validate();
        if (Layers(model).Any()) throw new InvalidOperationException("the model already has LoRA layers");
        var modules = model.named_modules().ToList();
        var linears = modules.Where(m => m.module is Linear).Select(m => m.name).ToList();

        List<string> targets;
        if (config.target_modules.Trim() == LoraConfig.AllLinear)
            targets = linears.Where(n => !LoraConfig.OutputLayers.Any(o => LoraConfig.Matches(n, o))).ToList();
        else
        {
            var patterns = LoraConfig.Split(config.target_modules);
            foreach (var p in patterns)
                if (!linears.Any(n => LoraConfig.Matches(n, p)))
                    throw new ArgumentException($"target_modules: '{p}' matches no Linear module of {model.GetType().Name} " +
                                                $"(its Linear modules end in: {string.Join(", ", linears.Select(Last).Distinct())})", nameof(config.target_modules));
            targets = linears.Where(n => patterns.Any(p => LoraConfig.Matches(n, p))).ToList();
        }
        if (targets.Count == 0) throw new ArgumentException("target_modules matches no Linear module", nameof(config.target_modules));

        // Check every rank before changing anything, so a bad config leaves the model untouched.
        var byName = modules.ToDictionary(m => m.name, m => m.module);
        foreach (var name in targets)
        {
            var linear = (Linear)byName[name];
            long min = Math.Min(linear.in_features, linear.out_features);
            if (config.r > min) throw new ArgumentException($"r={config.r} exceeds min(in, out) = {min} of '{name}'", nameof(config.r));
        }

        model.freeze();
        foreach (var name in targets)
        {
            var lora = new LoraLinear((Linear)byName[name], config.r, config.lora_alpha, config.lora_dropout,
                                      config.use_rslora, config.init, config.init_variance, config.autocast_adapter_dtype);
            int dot = name.LastIndexOf('.');
            var parent = dot < 0 ? model : byName[name[..dot]];
            parent.ReplaceModule(name[(dot + 1)..], lora);
        }
        foreach (var keep in LoraConfig.Split(config.modules_to_save))
        {
            var matched = model.named_modules().Where(m => LoraConfig.Matches(m.name, keep)).ToList();
            if (matched.Count == 0) throw new ArgumentException($"modules_to_save: '{keep}' matches no module", nameof(config.modules_to_save));
            foreach (var (_, m) in matched) m.requires_grad_(true);
        }
        return targets;
    }

    private static string Last(string name) => name[(name.LastIndexOf('.') + 1)..];

    /// <summary>Every LoRA layer with its dotted name.</summary>
    public static IEnumerable<(string name, LoraLinear layer)> Layers(Module model) =>
        model.named_modules().Where(m => m.module is LoraLinear).Select(m => (m.name, (LoraLinear)m.module));

    public static void Merge(Module model) { foreach (var (_, l) in Layers(model)) l.Merge(); }

    public static void Unmerge(Module model) { foreach (var (_, l) in Layers(model)) l.Unmerge(); }

    public static void RecordNorms(Module model, bool on = true) { foreach (var (_, l) in Layers(model)) l.RecordNorms = on; }

    /// <summary>The LoRA parameters (A and B of every layer) by dotted name.</summary>
    public static IEnumerable<(string name, Modules.Module owner, Torch.Tensor parameter)> Factors(Module model) =>
        from l in Layers(model)
        from f in new[] { ("lora_A", l.layer.lora_A), ("lora_B", l.layer.lora_B) }
        select ($"{l.name}.{f.Item1}.weight", (Module)l.layer, f.Item2);
}
