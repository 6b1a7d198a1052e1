using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace LoraLab.Lora;

/// <summary>
/// The LoRA update of one linear layer (Hu et al. 2021): update(x) = s · B A dropout(x), with A: [r, in] and B: [out, r]
/// held by the modules lora_A and lora_B, as PEFT names and shapes them (parameters q_proj.lora_A.weight,
/// q_proj.lora_B.weight), and s = lora_alpha / r (or / √r with rsLoRA). It also merges s·B·A into the frozen base weight
/// and back.
///
/// A LoraLayer reaches the model in one of two ways (LoraAdapters.Apply chooses): inside a <see cref="LoraLinear"/>
/// that takes the Linear's place, or as a forward hook on the Linear itself, where the model's field is typed Linear
/// (TorchSharp's Linear is sealed) and the model calls it through call().
///
/// Mixed precision, as PEFT does it: on a bf16/fp16 base the factors are float32 by default (PEFT's
/// autocast_adapter_dtype=True), so they and their optimizer state keep full precision, while the matmuls run in the
/// base's dtype (the factors are cast for the matmul, as autocast would; autograd returns float32 gradients).
///
/// Dropout draws its masks from the layer's own generator (seeded, when the layer is built, by one draw of libtorch's
/// global generator), not from the global one: a seeded run stays deterministic, and an ensemble that carries this layer's
/// generator (<see cref="EnsembleLoraLinear"/>) draws the same masks as the run alone.
/// </summary>
public sealed class LoraLayer
{
    private readonly Func<Parameter> baseWeight;

    internal LoraLayer(string name, Func<Parameter> baseWeight, int r, double lora_alpha, double lora_dropout, bool use_rslora,
                       LoraInit init, double? init_variance, bool autocast_adapter_dtype, ScalarType? lora_dtype)
    {
        this.name = name;
        this.baseWeight = baseWeight;
        var weight = baseWeight();
        long outFeatures = weight.size(0), inFeatures = weight.size(1), min = Math.Min(inFeatures, outFeatures);
        if (r <= 0 || r > min)
            throw new ArgumentException($"LoRA rank r={r} must be in [1, min(in, out) = {min}] for the {inFeatures}→{outFeatures} layer '{name}'", nameof(r));
        if (lora_dropout < 0 || lora_dropout >= 1) throw new ArgumentException($"lora_dropout must be in [0, 1), got {lora_dropout}", nameof(lora_dropout));
        this.r = r;
        this.init = init;
        dropout = lora_dropout;
        scaling = use_rslora ? lora_alpha / Math.Sqrt(r) : lora_alpha / r;
        this.lora_dtype = lora_dtype ?? AdapterDtype(weight.dtype, autocast_adapter_dtype);

        using var noGrad = torch.no_grad();
        var a = torch.empty(new[] { (long)r, inFeatures }, this.lora_dtype, weight.device);
        var b = torch.empty(new[] { outFeatures, (long)r }, this.lora_dtype, weight.device);
        A = nn.Linear(new Parameter(a), null);
        B = nn.Linear(new Parameter(b), null);
        if (init == LoraInit.PiSSA) InitPiSSA();
        else init.Fill(lora_A, lora_B, init_variance);
        if (dropout > 0) dropoutMasks = new DropoutMasks(dropout, (ulong)torch.randint_long(long.MaxValue), weight.device);
    }

    /// <summary>The adapted module's dotted name in the model (model.layers.0.self_attn.q_proj).</summary>
    public string name { get; }
    public int r { get; }
    public double scaling { get; }
    public double dropout { get; }
    public LoraInit init { get; }
    public bool merged { get; private set; }

    /// <summary>The factors' dtype (their storage and optimizer state); the matmuls run in the base weight's dtype.</summary>
    public ScalarType lora_dtype { get; }

    /// <summary>The modules lora_A ([r, in]) and lora_B ([out, r]), registered in the model under the adapted layer.</summary>
    public Linear A { get; }
    public Linear B { get; }
    public Parameter lora_A => A.weight;
    public Parameter lora_B => B.weight;

    /// <summary>The frozen base weight [out, in] (read from the model each time, so it follows a module's to()).</summary>
    public Parameter weight => baseWeight();

    /// <summary>How the update reaches the model's forward: in a LoraLinear, or as a forward hook (and why).</summary>
    public string attachedAs { get; internal set; } = "a LoraLinear in place of the Linear";

    /// <summary>How many forward passes have gone through this update (a hooked layer that never runs is a dead adapter).</summary>
    public long calls { get; private set; }

    /// <summary>PEFT's rule: with autocast_adapter_dtype, bf16 and fp16 bases get float32 factors; otherwise the base's dtype.</summary>
    public static ScalarType AdapterDtype(ScalarType baseDtype, bool autocast_adapter_dtype = true) =>
        autocast_adapter_dtype && (baseDtype is ScalarType.BFloat16 or ScalarType.Float16) ? ScalarType.Float32 : baseDtype;

    /// <summary>s · B A dropout(x), in the dtype the base layer computes in (<paramref name="computeDtype"/>).</summary>
    public Tensor update(Tensor x, ScalarType computeDtype, bool training)
    {
        calls++;
        var h = dropoutMasks is not null && training ? x * dropoutMasks.Next(x.shape, x.dtype, x.device) : x;
        return F.linear(F.linear(h, Compute(lora_A, computeDtype)), Compute(lora_B, computeDtype)) * scaling;
    }

    /// <summary>The stream of this layer's dropout masks (null without dropout): an ensemble takes it over.</summary>
    internal DropoutMasks? dropoutMasks { get; }

    // A factor in the dtype the matmuls run in: a differentiable cast, so a float32 factor gets its gradient in float32.
    private static Tensor Compute(Tensor factor, ScalarType dtype) => factor.dtype == dtype ? factor : factor.to(dtype);

    /// <summary>s · B A, the current update to W, computed in float32 (or float64) whatever the weight dtype.</summary>
    public Tensor Delta()
    {
        using var scope = torch.NewDisposeScope();
        using var noGrad = torch.no_grad();
        var work = WorkDtype(weight.dtype);
        return (lora_B.to(work).mm(lora_A.to(work)) * scaling).MoveToOuterDisposeScope();
    }

    /// <summary>Folds s·B·A into W, so forward costs one matmul (inference); the factors stay for Unmerge.</summary>
    public void Merge()
    {
        if (merged) return;
        AddToWeight(+1);
        merged = true;
    }

    public void Unmerge()
    {
        if (!merged) return;
        AddToWeight(-1);
        merged = false;
    }

    private void AddToWeight(double sign)
    {
        using var scope = torch.NewDisposeScope();
        using var noGrad = torch.no_grad();
        var delta = Delta();
        var w = weight;
        w.copy_(w.to(delta.dtype).add_(delta, sign).to(w.dtype));
    }

    private static ScalarType WorkDtype(ScalarType weightDtype) => weightDtype == ScalarType.Float64 ? ScalarType.Float64 : ScalarType.Float32;

    // PiSSA: s·B·A = U_r S_r V_rᵀ needs A = √(S_r/s) V_rᵀ and B = U_r √(S_r/s); W keeps the rest.
    private void InitPiSSA()
    {
        using var scope = torch.NewDisposeScope();
        using var noGrad = torch.no_grad();
        var w = weight;
        var work = WorkDtype(w.dtype);
        var (U, S, Vh) = torch.linalg.svd(w.to(work), fullMatrices: false);
        var root = (S.narrow(0, 0, r) / scaling).sqrt();                          // [r]
        var a = Vh.narrow(0, 0, r) * root.unsqueeze(1);                            // [r, in]
        var b = U.narrow(1, 0, r) * root.unsqueeze(0);                             // [out, r]
        lora_A.copy_(a.to(lora_A.dtype));
        lora_B.copy_(b.to(lora_B.dtype));
        w.copy_((w.to(work) - b.mm(a) * scaling).to(w.dtype));
    }

    // ---- feature norms (Hayou et al.'s Z_A and Z_B), recorded by a forward hook, not in the hot path ----

    /// <summary>When set, each forward records the batch mean of ‖A x‖ and ‖B A x‖ (Z_A and Z_B of Hayou et al.) in
    /// LastNormA / LastNormBA, from the layer's input (without dropout). Off by default: reading them synchronizes the device.</summary>
    public bool RecordNorms
    {
        get => removeNormHook is not null;
        set
        {
            if (value == RecordNorms) return;
            if (value)
            {
                var carrier = this.carrier ?? throw new InvalidOperationException($"the LoRA layer '{name}' is not attached to a model");
                removeNormHook = carrier.register_forward_hook(RecordNormsHook).remove;
            }
            else { removeNormHook!(); removeNormHook = null; }
        }
    }

    public double LastNormA { get; private set; } = double.NaN;
    public double LastNormBA { get; private set; } = double.NaN;

    private nn.Module<Tensor, Tensor>? carrier;
    private Action? removeNormHook;

    /// <summary>The module whose forward the update runs in (a LoraLinear, or the hooked Linear): norm hooks go there.</summary>
    internal void AttachTo(nn.Module<Tensor, Tensor> module) => carrier = module;

    private Tensor RecordNormsHook(nn.Module<Tensor, Tensor> module, Tensor x, Tensor y)
    {
        using var scope = torch.NewDisposeScope();
        using var noGrad = torch.no_grad();
        var za = F.linear(x.to(lora_dtype), lora_A);    // Z_A = A x      [.., r]
        var zb = F.linear(za, lora_B);                   // Z_B = B A x    [.., out]
        LastNormA = za.norm(-1).mean().ToDouble();
        LastNormBA = zb.norm(-1).mean().ToDouble();
        return null!;   // the output stays as it is
    }

    public override string ToString() =>
        $"LoRA(r={r}, scaling={scaling}, init={init}{(lora_dtype != weight.dtype ? $", lora_dtype={lora_dtype}" : "")}{(merged ? ", merged" : "")})";
}
