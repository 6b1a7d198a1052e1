using LoraLab.Torch;
using F = LoraLab.Torch.torch.nn.functional;

namespace LoraLab.Modules;

/// <summary>Layer normalization over the last dimension, with a learned scale and shift.</summary>
public sealed class LayerNorm : Module
{
    private readonly long size;
    private readonly double eps;

    public LayerNorm(long size, double eps = 1e-5, bool bias = true, ScalarType? dtype = null, Device? device = null)
    {
        this.size = size;
        this.eps = eps;
        RegisterParameter("weight", torch.ones(new[] { size }, dtype, device));
        RegisterParameter("bias", bias ? torch.zeros(new[] { size }, dtype, device) : null);
    }

    public Tensor forward(Tensor x) => F.layer_norm(x, new[] { size }, Param("weight"), OptionalParam("bias"), eps);
}

/// <summary>
/// Root-mean-square normalization (Llama): x / sqrt(mean(x²) + eps) · weight. As in Hugging Face's
/// LlamaRMSNorm the statistics are computed in float32 and the result is cast back to the input
/// dtype before the scale, so bf16 models match the reference.
/// </summary>
public sealed class RMSNorm : Module
{
    public double eps { get; }

    public RMSNorm(long size, double eps = 1e-6, ScalarType? dtype = null, Device? device = null)
    {
        this.eps = eps;
        RegisterParameter("weight", torch.ones(new[] { size }, dtype, device));
    }

    public Tensor weight => Param("weight");

    public Tensor forward(Tensor x)
    {
        using var scope = torch.NewDisposeScope();
        var h = x.to(ScalarType.Float32);
        var normed = (h * (h.pow(2).mean(-1, keepdim: true) + eps).rsqrt()).to(x.dtype);
        return (weight * normed).MoveToOuterDisposeScope();
    }
}

/// <summary>Zeroes activations with probability p in training mode (scaling the rest by 1/(1-p)); identity in eval mode.</summary>
public sealed class Dropout : Module
{
    public double p { get; }

    public Dropout(double p = 0.5)
    {
        if (p < 0 || p >= 1) throw new ArgumentOutOfRangeException(nameof(p), p, "dropout probability must be in [0, 1)");
        this.p = p;
    }

    public Tensor forward(Tensor x) => p == 0 || !training ? x.alias() : F.dropout(x, p, training: true);
}

/// <summary>Children named 0, 1, 2, ... (model.layers.0.…), as torch.nn.ModuleList.</summary>
public sealed class ModuleList<T> : Module where T : Module
{
    public ModuleList(IEnumerable<T> modules)
    {
        int i = 0;
        foreach (var m in modules) RegisterModule((i++).ToString(), m);
        Count = i;
    }

    public int Count { get; }

    public T this[int index] => Child<T>(index.ToString());
}
