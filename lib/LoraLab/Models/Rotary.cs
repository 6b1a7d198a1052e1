using TorchSharp;
using static TorchSharp.torch;

namespace LoraLab.Models;

/// <summary>
/// Rotary position embeddings in Hugging Face's "rotate_half" convention: the head dimension is
/// split into halves (not interleaved pairs), frequency i = θ^(-2i/d) applies to both x[i] and
/// x[i + d/2], and q' = q·cos + rotate_half(q)·sin with rotate_half(x) = cat(-x2, x1).
/// </summary>
public static class Rotary
{
    /// <summary>cos and sin tables, [T, head_dim], for positions 0..T-1 (computed in float32, cast to dtype).</summary>
    public static (Tensor cos, Tensor sin) Tables(long length, int headDim, double theta, ScalarType dtype, Device device)
    {
        using var scope = torch.NewDisposeScope();
        // inv_freq = 1 / θ^(2i/d), with θ and the power in float32, exactly as Hugging Face builds it (the same value
        // through exp(2i/d · ln θ) drifts by up to 1.5e-5 at head_dim 128, and the drift grows with the position).
        var exponents = torch.arange(0, headDim, 2, ScalarType.Float32, device) / headDim;
        var invFreq = 1.0 / torch.tensor((float)theta, ScalarType.Float32, device).pow(exponents);
        var positions = torch.arange(0, length, 1, ScalarType.Float32, device);
        var freqs = positions.outer(invFreq);                                             // [T, d/2]
        var angles = torch.cat(new[] { freqs, freqs }, -1);                               // [T, d]
        return (angles.cos().to(dtype).MoveToOuterDisposeScope(), angles.sin().to(dtype).MoveToOuterDisposeScope());
    }

    public static Tensor RotateHalf(Tensor x)
    {
        long half = x.size(-1) / 2;
        return torch.cat(new[] { x.narrow(-1, half, half).neg(), x.narrow(-1, 0, half) }, -1);
    }

    /// <summary>x: [B, H, T, d]; cos, sin: [T, d].</summary>
    public static Tensor Apply(Tensor x, Tensor cos, Tensor sin) => x * cos + RotateHalf(x) * sin;
}
