using TorchSharp;
using static TorchSharp.torch;

namespace LoraLab.Analysis;

/// <summary>
/// The Gaussian control of Biderman et al. 2024 (Fig. S8): how much noise of relative size c changes a matrix's spectrum,
/// mean_i |σ_i(A + cB) − σ_i(A)| / mean_i σ_i(A), with B Gaussian of A's root-mean-square entry, so that c is
/// ||cB||_F / ||A||_F. It needs only A's singular values and shape: a Gaussian B is unchanged in distribution by
/// rotations, so A + cB = U (Σ + c UᵀBV) Vᵀ has the singular values of Σ + cB' with B' Gaussian too. A notebook can
/// therefore draw it from the spectrum of W_pre that a run stored, without the base's weights.
/// </summary>
public sealed record GaussianControl(IReadOnlyList<double> Log10Scales, IReadOnlyList<double> SpectrumChanges, int NoiseRank90)
{
    /// <summary>The control for a rows × columns matrix with these singular values (largest first), at c = 10^x for each
    /// x of <paramref name="log10Scales"/>, with one draw of B from <paramref name="seed"/>.</summary>
    public static GaussianControl Of(IReadOnlyList<double> singularValues, long rows, long columns, IReadOnlyList<double> log10Scales, ulong seed = 0)
    {
        if (singularValues.Count != Math.Min(rows, columns))
            throw new ArgumentException($"a {rows} × {columns} matrix has {Math.Min(rows, columns)} singular values, got {singularValues.Count}", nameof(singularValues));
        using var scope = torch.NewDisposeScope();
        var sigma = singularValues.ToArray();
        var a = torch.zeros(rows, columns, dtype: ScalarType.Float64);
        a.diagonal().copy_(torch.tensor(sigma, ScalarType.Float64));
        double rms = Math.Sqrt(sigma.Sum(s => s * s) / (rows * (double)columns));
        var noise = torch.randn(new[] { rows, columns }, ScalarType.Float64, generator: new Generator(seed)) * rms;
        var changes = log10Scales.Select(x => SpectrumChange(sigma, Spectra.SingularValues(a + noise * Math.Pow(10, x)))).ToArray();
        return new GaussianControl(log10Scales.ToArray(), changes, Spectra.Rank90(noise));
    }

    /// <summary>mean_i |σ_i(after) − σ_i(before)| / mean_i σ_i(before).</summary>
    public static double SpectrumChange(IReadOnlyList<double> before, IReadOnlyList<double> after) =>
        before.Zip(after, (x, y) => Math.Abs(x - y)).Average() / before.Average();
}
