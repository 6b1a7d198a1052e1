using TorchSharp;
using static TorchSharp.torch;

namespace LoraLab.Analysis;

/// <summary>
/// The nuclear norm ||δ||_* = Σ σ_i(δ), the convex surrogate of rank, and its proximal operator, the step that
/// proximal gradient descent takes on λ||δ||_*: prox_t(X) = argmin_Y ½||Y − X||_F² + t||Y||_* = U diag(max(s − t, 0)) Vᵀ,
/// i.e. soft-thresholding of the singular values (Cai, Candès &amp; Shen 2010).
/// </summary>
public static class NuclearNorm
{
    public static double Of(Tensor delta) => Spectra.SingularValues(delta).Sum();

    /// <summary>U diag(max(s − threshold, 0)) Vᵀ for X = U diag(s) Vᵀ; in X's dtype and device.</summary>
    public static Tensor Prox(Tensor x, double threshold)
    {
        if (threshold < 0) throw new ArgumentOutOfRangeException(nameof(threshold), threshold, "the threshold lr·λ must be non-negative");
        if (x.dim() != 2) throw new ArgumentException($"the nuclear-norm prox needs a matrix, got shape [{string.Join(", ", x.shape)}]", nameof(x));
        using var scope = torch.NewDisposeScope();
        using var noGrad = torch.no_grad();
        var (U, S, Vh) = torch.linalg.svd(x, fullMatrices: false);
        var shrunk = (S - threshold).clamp_min(0);
        return (U * shrunk.unsqueeze(0)).mm(Vh).MoveToOuterDisposeScope();
    }
}
