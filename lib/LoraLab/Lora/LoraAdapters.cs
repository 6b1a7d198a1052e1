using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using LoraLab.Modules;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace LoraLab.Lora;

/// <summary>Trainable versus total parameter counts, printed as PEFT prints them.</summary>
public sealed record ParameterReport(long trainable, long total)
{
    public double fraction => total == 0 ? 0 : (double)trainable / total;

    public static ParameterReport Of(nn.Module model) => new(model.num_parameters(trainableOnly: true), model.num_parameters());

    public override string ToString() => $"trainable params: {trainable:N0} || all params: {total:N0} || trainable%: {100 * fraction:F4}";
}

/// <summary>Putting LoRA layers into any TorchSharp model, and working with them once there.</summary>
public static class LoraAdapters
{
    // LoRA layers attached as forward hooks, by the Linear they are attached to (a LoraLinear carries its own).
    private static readonly ConditionalWeakTable<Linear, LoraLayer> hooked = new();
    // The factors of hooked layers, so an optimizer's first step can find a hooked layer that never ran.
    private static readonly ConditionalWeakTable<Tensor, LoraLayer> hookedFactors = new();

    /// <summary>
    /// Adds a LoRA update to every Linear that config.target_modules names (PEFT's matching: a module's dotted name equals
    /// a target or ends with "." + target; "all-linear" takes every Linear but the output layers), freezes everything else
    /// (except config.modules_to_save), and returns the adapted modules' names.
    ///
    /// Where the model holds the Linear in a field whose type admits another module (Module&lt;Tensor, Tensor&gt;), or in
    /// a Sequential, ModuleList or ModuleDict, a <see cref="LoraLinear"/> takes its place. Where the field is typed Linear
    /// (TorchSharp's Linear is sealed), the update is attached as a forward hook on the Linear, which runs only when the
    /// model calls the layer through call(): LoraLab's optimizers then check at their first step that it ran, and say how
    /// to fix the model if not (<see cref="CheckHookedLayersRan"/>).
    /// Throws ArgumentException naming the field when r exceeds a layer's min(in, out), or when a target matches no Linear;
    /// a bad config leaves the model untouched.
    /// </summary>
    public static List<string> Apply(nn.Module model, LoraConfig config)
    {
        config.Validate();
        if (Layers(model).Any()) throw new InvalidOperationException("the model already has LoRA layers");
        var modules = model.named_modules_and_self().ToList();
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
        var savedModules = LoraConfig.Split(config.modules_to_save)
            .Select(keep => (keep, matched: modules.Where(m => m.name.Length > 0 && LoraConfig.Matches(m.name, keep)).ToList())).ToList();
        foreach (var (keep, matched) in savedModules)
            if (matched.Count == 0) throw new ArgumentException($"modules_to_save: '{keep}' matches no module", nameof(config.modules_to_save));

        model.freeze();
        foreach (var name in targets)
        {
            var linear = (Linear)byName[name];
            LoraLayer Layer(Func<Parameter> weight) => new(name, weight, config.r, config.lora_alpha, config.lora_dropout, config.use_rslora,
                                                           config.init, config.init_variance, config.autocast_adapter_dtype, null);
            int dot = name.LastIndexOf('.');
            var parent = name.Length == 0 ? null : dot < 0 ? model : byName[name[..dot]];
            bool replaced = parent is not null && ModuleSurgery.TryReplace(parent, name[(dot + 1)..], () => new LoraLinear(linear, Layer));
            if (!replaced) Hook(linear, Layer(() => linear.weight), parent, name[(dot + 1)..]);
        }
        foreach (var (_, matched) in savedModules)
            foreach (var (_, m) in matched) m.requires_grad_(true);
        return targets;
    }

    // The update as a forward hook on a Linear that cannot be replaced: its factors become the Linear's children
    // lora_A and lora_B (so names and state dicts are PEFT's), and the hook adds s·B·A·x to the Linear's output.
    private static void Hook(Linear linear, LoraLayer layer, nn.Module? parent, string field)
    {
        layer.attachedAs = parent is null
            ? "a forward hook on the model itself (a Linear)"
            : $"a forward hook on '{layer.name}' ({parent.GetType().Name} holds it in a field typed Linear, which is sealed, or in no field at all)";
        linear.register_module("lora_A", layer.A);
        linear.register_module("lora_B", layer.B);
        linear.register_forward_hook((module, x, y) =>
        {
            if (layer.merged) return null!;
            try { return y + layer.update(x, linear.weight.dtype, module.training); }
            catch (ExternalException e) when (e.Message.Contains("device", StringComparison.OrdinalIgnoreCase))
            {
                throw new InvalidOperationException(
                    $"the LoRA factors of '{layer.name}' are on {layer.lora_A.device} and its input on {x.device}: TorchSharp's Linear.to() " +
                    "does not move the lora_A and lora_B modules hooked under it. Move the model to its device before LoraAdapters.Apply.", e);
            }
        });
        layer.AttachTo(linear);
        hooked.Add(linear, layer);
        hookedFactors.Add(layer.lora_A, layer);
        hookedFactors.Add(layer.lora_B, layer);
    }

    /// <summary>
    /// Throws InvalidOperationException when one of <paramref name="parameters"/> is a factor of a hooked LoRA layer that no
    /// forward pass has gone through: the model calls that Linear with forward(), which runs no hooks, so training would
    /// leave the adapter at its initial value without a word. LoraLab's optimizers call this at their first step.
    /// </summary>
    public static void CheckHookedLayersRan(IEnumerable<Tensor> parameters)
    {
        var dead = parameters.Select(p => hookedFactors.TryGetValue(p, out var layer) ? layer : null)
                             .OfType<LoraLayer>().Where(l => l.calls == 0).Distinct().ToList();
        if (dead.Count == 0) return;
        string names = string.Join(", ", dead.Select(l => $"'{l.name}'"));
        throw new InvalidOperationException(
            $"the LoRA adapter{(dead.Count > 1 ? "s" : "")} on {names} did not run in the forward pass. {dead[0].attachedAs}; TorchSharp " +
            $"runs hooks only when a module is invoked with call(), so the model must call {Last(dead[0].name)}.call(x), not " +
            $"{Last(dead[0].name)}.forward(x). Or type the field as Module<Tensor, Tensor>, so that LoraAdapters.Apply can put a LoraLinear in its place.");
    }

    private static string Last(string name) => name[(name.LastIndexOf('.') + 1)..];

    /// <summary>Every LoRA layer with its dotted name (the adapted module's).</summary>
    public static IEnumerable<(string name, LoraLayer layer)> Layers(nn.Module model)
    {
        foreach (var (name, module) in model.named_modules_and_self())
        {
            if (module is LoraLinear l) yield return (name, l.layer);
            else if (module is Linear linear && hooked.TryGetValue(linear, out var layer)) yield return (name, layer);
        }
    }

    public static void Merge(nn.Module model) { foreach (var (_, l) in Layers(model)) l.Merge(); }

    public static void Unmerge(nn.Module model) { foreach (var (_, l) in Layers(model)) l.Unmerge(); }

    public static void RecordNorms(nn.Module model, bool on = true) { foreach (var (_, l) in Layers(model)) l.RecordNorms = on; }

    /// <summary>The LoRA parameters (A and B of every layer) by dotted name: q_proj.lora_A.weight, q_proj.lora_B.weight.</summary>
    public static IEnumerable<(string name, LoraLayer layer, Parameter parameter)> Factors(nn.Module model) =>
        from l in Layers(model)
        from f in new[] { ("lora_A", l.layer.lora_A), ("lora_B", l.layer.lora_B) }
        select ($"{l.name}.{f.Item1}.weight", l.layer, f.Item2);
}
