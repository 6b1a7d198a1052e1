using TorchSharp;
using static TorchSharp.torch;

namespace LoraLab.Analysis;

/// <summary>
/// How many directions a matrix uses: its singular values, the cumulative fraction of its squared Frobenius norm
/// ("explained variance") that the first k of them carry, and the rank needed to reach a fraction of it
/// (Biderman et al. 2024, Sec. 4.6: rank90 = the smallest k with Σ_{i≤k} σ_i² / Σ_i σ_i² ≥ 0.9).
/// </summary>
public static class Spectra
{
    /// <summary>The singular values of a 2-D tensor, largest first, computed in float64 on the CPU.</summary>
    public static double[] SingularValues(Tensor matrix)
    {
        if (matrix.dim() != 2) throw new ArgumentException($"a spectrum needs a matrix, got shape [{string.Join(", ", matrix.shape)}]", nameof(matrix));
        using var scope = torch.NewDisposeScope();
        using var noGrad = torch.no_grad();
        return torch.linalg.svdvals(matrix.detach().to(ScalarType.Float64).cpu()).data<double>().ToArray();
    }

    /// <summary>c_k = Σ_{i≤k} σ_i² / Σ_i σ_i² for k = 1..n; all zeros for a zero matrix.</summary>
    public static double[] ExplainedVariance(IReadOnlyList<double> singularValues)
    {
        double total = singularValues.Sum(s => s * s);
        var curve = new double[singularValues.Count];
        double running = 0;
        for (int k = 0; k < curve.Length; k++)
        {
            running += singularValues[k] * singularValues[k];
            curve[k] = total > 0 ? running / total : 0;
        }
        return curve;
    }

    /// <summary>
    /// The smallest k whose first k singular values explain at least <paramref name="fraction"/> of the squared
    /// Frobenius norm (0 for a zero matrix). Singular values must be sorted, largest first, as svdvals returns them.
    /// </summary>
    public static int RankFor(IReadOnlyList<double> singularValues, double fraction = 0.9)
    {
        if (fraction is <= 0 or > 1) throw new ArgumentOutOfRangeException(nameof(fraction), fraction, "the explained fraction must be in (0, 1]");
        for (int i = 1; i < singularValues.Count; i++)
            if (singularValues[i] > singularValues[i - 1] * (1 + 1e-12) + 1e-300)
                throw new ArgumentException("singular values must be sorted largest first", nameof(singularValues));
        var curve = ExplainedVariance(singularValues);
        if (curve.Length == 0 || curve[^1] == 0) return 0;
        // A relative slack of 1e-12 so that a spectrum built to reach exactly 90% at k is not pushed to k + 1 by rounding.
        for (int k = 0; k < curve.Length; k++)
            if (curve[k] >= fraction - 1e-12) return k + 1;
        return curve.Length;
    }

    /// <summary>rank90 of a matrix: <see cref="RankFor"/> of its singular values at 0.9.</summary>
    public static int Rank90(Tensor matrix) => RankFor(SingularValues(matrix), 0.9);

    /// <summary>
    /// The numerical rank of a spectrum: how many singular values exceed <paramref name="relativeTolerance"/> times
    /// the largest (a proximal step leaves exact zeros, but a product U S Vᵀ brings them back at rounding level).
    /// </summary>
    public static int NumericalRank(IReadOnlyList<double> singularValues, double relativeTolerance = 1e-6)
    {
        if (singularValues.Count == 0 || singularValues[0] <= 0) return 0;
        return singularValues.Count(s => s > relativeTolerance * singularValues[0]);
    }
}
