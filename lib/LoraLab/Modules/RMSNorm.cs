using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace LoraLab.Modules;

/// <summary>
/// Root-mean-square normalization (Llama): x / sqrt(mean(x²) + eps) · weight. As in Hugging Face's LlamaRMSNorm the
/// statistics are computed in float32 and the result is cast back to the input dtype before the scale, so bf16 models
/// match the reference.
/// </summary>
public sealed class RMSNorm : nn.Module<Tensor, Tensor>
{
    public Parameter weight;
    public double eps { get; }

    public RMSNorm(long size, double eps = 1e-6, ScalarType? dtype = null, Device? device = null) : base(nameof(RMSNorm))
    {
        this.eps = eps;
        weight = new Parameter(torch.ones(new[] { size }, dtype, device));
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        var h = x.to(ScalarType.Float32);
        var normed = (h * (h.pow(2).mean(new long[] { -1 }, keepdim: true) + eps).rsqrt()).to(x.dtype);
        return weight * normed;
    }
}
