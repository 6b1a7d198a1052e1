using LoraLab.Modules;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace LoraLab.Lora;

/// <summary>Building an ensemble of LoRA runs on one shared frozen model (see <see cref="LoraEnsemble{TModel}"/>).</summary>
public static class LoraEnsemble
{
    /// <summary>
    /// E runs' LoRA layers trained as one model: from E models that were each built exactly as a single run builds its
    /// model (the same seed, the same calls, so that each member's factors and dropout mask streams are that run's), keeps
    /// the first as the host of the ensemble and puts an <see cref="EnsembleLoraLinear"/> in each of its LoRA layers'
    /// places, holding every member's factors, scaling and dropout mask stream; the other models are disposed.
    /// The host then takes the members' batches stacked along the first dimension ([E·b, …]), and its only trainable
    /// parameters are the stacked factors: Aᵀ [E, in, r] and Bᵀ [E, r, out] of every adapted layer.
    ///
    /// Refused (ArgumentException, naming what differs; nothing is changed): models whose frozen weights or buffers are not
    /// equal (an ensemble shares one frozen model), whose LoRA layers differ in names or shapes, with trainable parameters
    /// other than LoRA factors (modules_to_save, a trained head: such runs train alone), with a LoRA layer attached as a
    /// forward hook (only a <see cref="LoraLinear"/> can be replaced), or with merged layers.
    /// </summary>
    public static LoraEnsemble<TModel> FromMembers<TModel>(IReadOnlyList<TModel> models) where TModel : nn.Module
    {
        if (models.Count == 0) throw new ArgumentException("an ensemble needs at least one member", nameof(models));
        if (models.Distinct(ReferenceEqualityComparer.Instance).Count() != models.Count)
            throw new ArgumentException("an ensemble's members must be distinct models", nameof(models));
        var layers = models.Select(Check).ToList();
        var host = models[0];
        for (int e = 1; e < models.Count; e++) CompareWithHost(host, layers[0], models[e], layers[e], e);

        // The ensemble layers, built before anything changes: factors stacked transposed and contiguous.
        var built = new List<(string name, LoraLinear old, EnsembleLoraLinear replacement)>();
        using (var noGrad = torch.no_grad())
            for (int i = 0; i < layers[0].Count; i++)
            {
                var (name, carrier) = layers[0][i];
                var members = layers.Select(l => l[i].carrier.layer).ToList();
                var At = torch.stack(members.Select(l => l.lora_A.detach().t()).ToArray()).contiguous().DetachFromDisposeScope();
                var Bt = torch.stack(members.Select(l => l.lora_B.detach().t()).ToArray()).contiguous().DetachFromDisposeScope();
                built.Add((name, carrier, new EnsembleLoraLinear(name, carrier.weight, carrier.bias, At, Bt,
                    members.Select(l => l.scaling).ToArray(), members.Select(l => l.dropoutMasks).ToArray())));
            }

        var byName = host.named_modules_and_self().ToDictionary(m => m.name, m => m.module);
        foreach (var (name, old, replacement) in built)
        {
            int dot = name.LastIndexOf('.');
            var parent = dot < 0 ? host : byName[name[..dot]];
            if (!ModuleSurgery.TryReplace(parent, name[(dot + 1)..], () => replacement))
                throw new InvalidOperationException($"could not put the ensemble layer in '{name}''s place");
            // The old layer's factors go; its weight and bias live on in the ensemble layer.
            old.layer.A.Dispose();
            old.layer.B.Dispose();
        }
        for (int e = 1; e < models.Count; e++) models[e].Dispose();
        return new LoraEnsemble<TModel>(host, models.Count, built.Select(b => (b.name, b.replacement)).ToList());
    }

    // A member's LoRA layers, each carried by a LoraLinear, after checking what an ensemble cannot hold.
    private static List<(string name, LoraLinear carrier)> Check<TModel>(TModel model, int index) where TModel : nn.Module
    {
        var carriers = model.named_modules_and_self().Where(m => m.module is LoraLinear).Select(m => (m.name, carrier: (LoraLinear)m.module)).ToList();
        var all = LoraAdapters.Layers(model).ToList();
        if (all.Count == 0) throw new ArgumentException($"member {index} has no LoRA layers", nameof(model));
        if (all.Count != carriers.Count)
        {
            var hooked = all.Select(l => l.name).Except(carriers.Select(c => c.name)).First();
            throw new ArgumentException($"member {index}'s LoRA layer '{hooked}' is attached as a forward hook: an ensemble can only " +
                                        "replace LoraLinear layers (type the model's field as Module<Tensor, Tensor>)", nameof(model));
        }
        if (carriers.FirstOrDefault(c => c.carrier.merged) is { carrier: not null } merged)
            throw new ArgumentException($"member {index}'s LoRA layer '{merged.name}' is merged: unmerge it first", nameof(model));
        var factors = LoraAdapters.Factors(model).Select(f => f.parameter).ToHashSet(ReferenceEqualityComparer.Instance);
        var other = model.named_parameters().Where(p => p.parameter.requires_grad && !factors.Contains(p.parameter)).Select(p => p.name).ToList();
        if (other.Count > 0)
            throw new ArgumentException($"member {index} trains parameters other than LoRA factors ({string.Join(", ", other.Take(3))}" +
                                        $"{(other.Count > 3 ? ", …" : "")}): an ensemble shares every other weight, so such runs " +
                                        "(modules_to_save, a trained head) must train alone", nameof(model));
        return carriers;
    }

    private static void CompareWithHost(nn.Module host, List<(string name, LoraLinear carrier)> hostLayers, nn.Module member,
                                        List<(string name, LoraLinear carrier)> memberLayers, int e)
    {
        if (!hostLayers.Select(l => l.name).SequenceEqual(memberLayers.Select(l => l.name)))
            throw new ArgumentException($"member {e}'s LoRA layers ({string.Join(", ", memberLayers.Select(l => l.name))}) are not member 0's " +
                                        $"({string.Join(", ", hostLayers.Select(l => l.name))})", nameof(member));
        for (int i = 0; i < hostLayers.Count; i++)
        {
            var (a, b) = (hostLayers[i].carrier.layer, memberLayers[i].carrier.layer);
            if (a.r != b.r || a.lora_dtype != b.lora_dtype || !a.lora_A.shape.SequenceEqual(b.lora_A.shape) || !a.lora_B.shape.SequenceEqual(b.lora_B.shape))
                throw new ArgumentException($"member {e}'s LoRA layer '{a.name}' (r={b.r}, {b.lora_dtype}) differs in shape from member 0's " +
                                            $"(r={a.r}, {a.lora_dtype})", nameof(member));
        }
        var factors = LoraAdapters.Factors(member).Select(f => f.name).ToHashSet();
        var frozen = member.named_parameters().Where(p => !factors.Contains(p.name)).Select(p => (p.name, tensor: (Tensor)p.parameter))
            .Concat(member.named_buffers().Select(b => (b.name, tensor: b.buffer))).ToList();
        var hostFactors = LoraAdapters.Factors(host).Select(f => f.name).ToHashSet();
        var hostFrozen = host.named_parameters().Where(p => !hostFactors.Contains(p.name)).Select(p => (p.name, tensor: (Tensor)p.parameter))
            .Concat(host.named_buffers().Select(b => (b.name, tensor: b.buffer))).ToDictionary(x => x.name, x => x.tensor);
        if (frozen.Count != hostFrozen.Count || frozen.Any(f => !hostFrozen.ContainsKey(f.name)))
            throw new ArgumentException($"member {e}'s frozen weights are not named as member 0's: an ensemble's members must be one model", nameof(member));
        foreach (var (name, tensor) in frozen)
        {
            var mine = hostFrozen[name];
            if (!mine.shape.SequenceEqual(tensor.shape) || mine.dtype != tensor.dtype || mine.device.ToString() != tensor.device.ToString() || !mine.Equals(tensor))
                throw new ArgumentException($"member {e}'s frozen weight '{name}' differs from member 0's: an ensemble shares one frozen model, " +
                                            "so its members must be built from the same base weights (PiSSA, which changes W, only with equal settings)",
                                            nameof(member));
        }
    }
}

/// <summary>
/// An ensemble of LoRA runs on one shared frozen model (<see cref="LoraEnsemble.FromMembers"/> builds it): the host model,
/// whose adapted layers are <see cref="EnsembleLoraLinear"/>s, takes the members' batches stacked along the first
/// dimension. Disposing it disposes the host.
/// </summary>
public sealed class LoraEnsemble<TModel> : IDisposable where TModel : nn.Module
{
    internal LoraEnsemble(TModel model, int members, IReadOnlyList<(string name, EnsembleLoraLinear layer)> layers)
    {
        this.model = model;
        this.members = members;
        this.layers = layers;
    }

    /// <summary>The host model, with the ensemble layers in its LoRA layers' places.</summary>
    public TModel model { get; }
    public int members { get; }
    public IReadOnlyList<(string name, EnsembleLoraLinear layer)> layers { get; }

    /// <summary>Every layer's Aᵀ [E, in, r] and every layer's Bᵀ [E, r, out]: the trainable parameters, for LoRA+'s two
    /// groups (each with <c>member_lr</c>, one multiplier per member).</summary>
    public IReadOnlyList<Parameter> A => layers.Select(l => l.layer.lora_At).ToList();
    public IReadOnlyList<Parameter> B => layers.Select(l => l.layer.lora_Bt).ToList();

    /// <summary>Each member's length along dimension 1 of its own input, before its batch was padded to the ensemble's
    /// longest: its dropout masks are then drawn at its own shape, as its run alone draws them. null (the default): the
    /// members' inputs all have the stacked input's length.</summary>
    public void SetMemberLengths(long[]? lengths)
    {
        if (lengths is not null && lengths.Length != members)
            throw new ArgumentException($"{lengths.Length} lengths for {members} members", nameof(lengths));
        foreach (var (_, layer) in layers) layer.memberLengths = lengths?.ToArray();
    }

    public void Dispose() => model.Dispose();
}
