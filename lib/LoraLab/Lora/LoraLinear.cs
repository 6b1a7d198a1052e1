using TorchSharp;
using TorchSharp.Modules;
using TorchSharp.Utils;
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
    // The factor modules, registered under PEFT's names (q_proj.lora_A.weight); lora_A and lora_B below are their weights.
    [ComponentName(Name = "lora_A")] private readonly Linear A;
    [ComponentName(Name = "lora_B")] private readonly Linear B;

    /// <summary>The LoRA update: r, scaling, the factors, merge and unmerge.</summary>
    public LoraLayer layer { get; }

    /// <summary>A LoRA layer around <paramref name="baseLayer"/>, which it takes over (its weight and bias are adopted,
    /// frozen). LoraAdapters.Apply builds these for a model; this constructor is for a layer on its own.</summary>
    public LoraLinear(Linear baseLayer, int r, double lora_alpha, double lora_dropout = 0, bool use_rslora = false,
                      LoraInit init = LoraInit.InitA_KaimingUniform, double? init_variance = null,
                      bool autocast_adapter_dtype = true, ScalarType? lora_dtype = null, string name = "")
        : this(baseLayer, weight => new LoraLayer(name, weight, r, lora_alpha, lora_dropout, use_rslora, init, init_variance,
                                                  autocast_adapter_dtype, lora_dtype))
    {
        weight.requires_grad = false;
        if (bias is not null) bias.requires_grad = false;
    }

    internal LoraLinear(Linear baseLayer, Func<Func<Parameter>, LoraLayer> makeLayer) : base(nameof(LoraLinear))
    {
        weight = baseLayer.weight;
        bias = baseLayer.bias;
        layer = makeLayer(() => weight);
        A = layer.A;
        B = layer.B;
        RegisterComponents();
        layer.AttachTo(this);
    }

    public long in_features => weight.size(1);
    public long out_features => weight.size(0);

    // The layer's own, for a LoraLinear used on its own.
    public Parameter lora_A => layer.lora_A;
    public Parameter lora_B => layer.lora_B;
    public int r => layer.r;
    public double scaling => layer.scaling;
    public ScalarType lora_dtype => layer.lora_dtype;
    public bool merged => layer.merged;
    public Tensor Delta() => layer.Delta();
    public void Merge() => layer.Merge();
    public void Unmerge() => layer.Unmerge();
    public bool RecordNorms { get => layer.RecordNorms; set => layer.RecordNorms = value; }
    public double LastNormA => layer.LastNormA;
    public double LastNormBA => layer.LastNormBA;

    public override Tensor forward(Tensor x)
    {
        var y = F.linear(x, weight, bias);
        return layer.merged ? y : y + layer.update(x, weight.dtype, training);
    }

    public override string ToString() => $"LoraLinear(in={in_features}, out={out_features}, {layer})";
}
