using LoraLab.Torch;
using F = LoraLab.Torch.torch.nn.functional;

namespace LoraLab.Modules;

/// <summary>y = x Wᵀ + b with W: [out, in], as torch.nn.Linear. Not sealed: LoraLinear extends it,
/// so a LoRA layer sits wherever a Linear did and keeps its parameter names (q_proj.weight).</summary>
public class Linear : Module
{
    public long in_features { get; }
    public long out_features { get; }

    /// <summary>PyTorch's default initialization: W, b ~ U(-1/√in, 1/√in) (kaiming_uniform with a = √5).</summary>
    public Linear(long in_features, long out_features, bool bias = true, ScalarType? dtype = null, Device? device = null)
    {
        this.in_features = in_features;
        this.out_features = out_features;
        double bound = 1 / Math.Sqrt(in_features);
        RegisterParameter("weight", torch.empty(new[] { out_features, in_features }, dtype, device).uniform_(-bound, bound));
        RegisterParameter("bias", bias ? torch.empty(new[] { out_features }, dtype, device).uniform_(-bound, bound) : null);
    }

    /// <summary>A Linear that takes ownership of existing tensors (used by LoraLinear to adopt a base layer).</summary>
    protected Linear(Tensor weight, Tensor? bias)
    {
        out_features = weight.size(0);
        in_features = weight.size(1);
        RegisterParameter("weight", weight, weight.requires_grad);
        RegisterParameter("bias", bias, bias?.requires_grad ?? false);
    }

    public Tensor weight => Param("weight");
    public Tensor? bias => OptionalParam("bias");

    public virtual Tensor forward(Tensor x) => F.linear(x, weight, bias);

    public override string ToString() => $"Linear(in={in_features}, out={out_features}, bias={bias is not null})";
}
