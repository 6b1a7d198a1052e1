using LoraLab.Modules;
using LoraLab.Torch;
using F = LoraLab.Torch.torch.nn.functional;

namespace LoraLab.Lora;

/// <summary>
/// A frozen Linear plus a trainable low-rank update: y = W x + b + s · B A dropout(x)
/// (Hu et al. 2021), with A: [r, in] and B: [out, r] as PEFT names and shapes them
/// (parameters q_proj.weight, q_proj.lora_A.weight, q_proj.lora_B.weight).
/// It extends Linear and adopts the base layer's tensors, so it drops in wherever the Linear was
/// and the base weight keeps its checkpoint name.
///
/// Mixed precision, as PEFT does it: on a bf16/fp16 base the factors are float32 by default
/// (PEFT's autocast_adapter_dtype=True), so they and their optimizer state keep full precision,
/// while every matmul runs in the base's dtype (the factors are cast for the matmul, as autocast
/// would; autograd casts their gradients back to float32). lora_dtype overrides the factors' dtype.
/// </summary>
public sealed class LoraLinear : Linear
{
    public int r { get; }
    public double scaling { get; }
    public double dropout { get; }
    public LoraInit init { get; }
    public bool merged { get; private set; }

    /// <summary>The factors' dtype (their storage and optimizer state); the matmuls run in weight.dtype.</summary>
    public ScalarType lora_dtype { get; }

    /// <summary>When set, each forward records the batch mean of ‖A x‖ and ‖B A x‖ (Z_A and Z_B of
    /// Hayou et al.) in LastNormA / LastNormBA. Off by default: reading them synchronizes the device.</summary>
    public bool RecordNorms { get; set; }
    public double LastNormA { get; private set; } = double.NaN;
    public double LastNormBA { get; private set; } = double.NaN;

    public LoraLinear(Linear baseLayer, int r, double lora_alpha, double lora_dropout = 0, bool use_rslora = false,
                      LoraInit init = LoraInit.InitA_KaimingUniform, double? init_variance = null,
                      bool autocast_adapter_dtype = true, ScalarType? lora_dtype = null)
        : base(baseLayer.weight, baseLayer.bias)
    {
        long min = Math.Min(in_features, out_features);
        if (r <= 0 || r > min)
            throw new ArgumentException($"LoRA rank r={r} must be in [1, min(in, out) = {min}] for a {in_features}→{out_features} layer", nameof(r));
        this.r = r;
        this.init = init;
        dropout = lora_dropout;
        scaling = use_rslora ? lora_alpha / Math.Sqrt(r) : lora_alpha / r;
        weight.requires_grad = false;
        if (bias is { } b) b.requires_grad = false;

        var dtype = this.lora_dtype = lora_dtype ?? AdapterDtype(weight.dtype, autocast_adapter_dtype);
        var device = weight.device;
        var A = RegisterModule("lora_A", new Linear(in_features, r, bias: false, dtype, device));
        var B = RegisterModule("lora_B", new Linear(r, out_features, bias: false, dtype, device));
        if (init == LoraInit.PiSSA) InitPiSSA(A.weight, B.weight);
        else init.Fill(A.weight, B.weight, init_variance);
    }

    /// <summary>PEFT's rule: with autocast_adapter_dtype, bf16 and fp16 bases get float32 factors; otherwise the base's dtype.</summary>
    public static ScalarType AdapterDtype(ScalarType baseDtype, bool autocast_adapter_dtype = true) =>
        autocast_adapter_dtype && (baseDtype is ScalarType.BFloat16 or ScalarType.Float16) ? ScalarType.Float32 : baseDtype;

    public Tensor lora_A => Child<Linear>("lora_A").weight;
    public Tensor lora_B => Child<Linear>("lora_B").weight;

    public override Tensor forward(Tensor x)
    {
        using var scope = torch.NewDisposeScope();
        var y = F.linear(x, weight, bias);
        if (merged) return y.MoveToOuterDisposeScope();
        var h = dropout > 0 && training ? F.dropout(x, dropout, training: true) : x;
        var za = F.linear(h, Compute(lora_A));   // Z_A = A x      [.., r]
        var zb = F.linear(za, Compute(lora_B));  // Z_B = B A x    [.., out]
        if (RecordNorms)
            using (torch.no_grad())
            {
                LastNormA = za.norm(2, -1).mean().ToDouble();
                LastNormBA = zb.norm(2, -1).mean().ToDouble();
            }
        return (y + zb * scaling).MoveToOuterDisposeScope();
    }

    // A factor in the dtype the matmuls run in (the base weight's): a differentiable cast, so the
    // float32 factor receives its gradient in float32.
    private Tensor Compute(Tensor factor) => factor.dtype == weight.dtype ? factor : factor.to(weight.dtype);

    /// <summary>s · B A, the current update to W, computed in float32 (or float64) whatever the weight dtype.</summary>
    public Tensor Delta()
    {
        using var scope = torch.NewDisposeScope();
        var work = weight.dtype == ScalarType.Float64 ? ScalarType.Float64 : ScalarType.Float32;
        using var _ = torch.no_grad();
        return (lora_B.to(work).matmul(lora_A.to(work)) * scaling).MoveToOuterDisposeScope();
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
        using var _ = torch.no_grad();
        var delta = Delta();
        var updated = weight.to(delta.dtype).add_(delta, sign).to(weight.dtype);
        weight.copy_(updated);
    }

    // s·B·A = U_r S_r V_rᵀ needs A = √(S_r/s) V_rᵀ and B = U_r √(S_r/s); W keeps the rest.
    private void InitPiSSA(Tensor A, Tensor B)
    {
        using var scope = torch.NewDisposeScope();
        using var _ = torch.no_grad();
        var work = weight.dtype == ScalarType.Float64 ? ScalarType.Float64 : ScalarType.Float32;
        var (U, S, Vh) = torch.linalg.svd(weight.to(work));
        var root = (S.narrow(0, 0, r) / scaling).sqrt();                          // [r]
        var a = Vh.narrow(0, 0, r) * root.unsqueeze(1);                            // [r, in]
        var b = U.narrow(1, 0, r) * root.unsqueeze(0);                             // [out, r]
        A.copy_(a.to(A.dtype));
        B.copy_(b.to(B.dtype));
        var residual = weight.to(work) - b.matmul(a) * scaling;
        weight.copy_(residual.to(weight.dtype));
    }

    public override string ToString() => $"LoraLinear(in={in_features}, out={out_features}, r={r}, scaling={scaling}, init={init}{(lora_dtype != weight.dtype ? $", lora_dtype={lora_dtype}" : "")}{(merged ? ", merged" : "")})";
}
