using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace LoraLab.Lora;

/// <summary>
/// A frozen Linear plus a trainable low-rank update, in the Linear's place: y = W x + b + s · B A dropout(x).
/// It adopts the base layer's weight and bias, so the base weight keeps its checkpoint name (q_proj.weight) next to
/// q_proj.lora_A.weight and q_proj.lora_B.weight. The update itself, and merging, are the <see cref="LoraLayer"/>'s.
/// </summary>
public sealed class LoraLinear : nn.Module<Tensor, Tensor>
{
    public Parameter weight;
    public Parameter? bias;
    public Linear lora_A;
    public Linear lora_B;

    /// <summary>The LoRA update: r, scaling, the factors, merge and unmerge.</summary>
    public LoraLayer layer { get; }

    internal LoraLinear(Linear baseLayer, Func<Func<Parameter>, LoraLayer> makeLayer) : base(nameof(LoraLinear))
    {
        weight = baseLayer.weight;
        bias = baseLayer.bias;
        layer = makeLayer(() => weight);
        lora_A = layer.A;
        lora_B = layer.B;
        RegisterComponents();
        layer.AttachTo(this);
    }

    public long in_features => weight.size(1);
    public long out_features => weight.size(0);

    public override Tensor forward(Tensor x)
    {
        var y = F.linear(x, weight, bias);
        return layer.merged ? y : y + layer.update(x, weight.dtype, training);
    }

    public override string ToString() => $"LoraLinear(in={in_features}, out={out_features}, {layer})";
}
