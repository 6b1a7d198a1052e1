using LoraLab.Analysis;
using TorchSharp;
using static TorchSharp.torch;
using LoraLab.Modules;

namespace LoraLab.Tests.Analysis;

public class SpectraTests
{
    // U diag(s) Vᵀ with random orthonormal U, V: a matrix whose singular values are exactly s.
    internal static Tensor WithSpectrum(double[] s, int rows, int cols, int seed)
    {
        using var scope = torch.NewDisposeScope();
        torch.manual_seed(seed);
        var (U, _) = torch.linalg.qr(torch.randn(new long[] { rows, s.Length }, ScalarType.Float64));
        var (V, _) = torch.linalg.qr(torch.randn(new long[] { cols, s.Length }, ScalarType.Float64));
        return (U * torch.tensor(s).unsqueeze(0)).mm(V.t()).MoveToOuterDisposeScope();
    }

    [Fact]
    public void Rank90_of_a_matrix_with_a_known_spectrum_is_where_the_squares_first_reach_90_percent()
    {
        // σ² = 40, 20, 15, 10, 5, 4, 3, 2, 1 (sum 100): the first five carry exactly 90%.
        double[] squares = { 40, 20, 15, 10, 5, 4, 3, 2, 1 };
        using var exact = WithSpectrum(squares.Select(Math.Sqrt).ToArray(), 20, 16, seed: 1);
        Assert.Equal(5, Spectra.Rank90(exact));
        // Move 0.2 of the fifth's share to the sixth: 89.8% after five, so six are needed.
        double[] moved = { 40, 20, 15, 10, 4.8, 4.2, 3, 2, 1 };
        using var later = WithSpectrum(moved.Select(Math.Sqrt).ToArray(), 20, 16, seed: 2);
        Assert.Equal(6, Spectra.Rank90(later));
        Assert.Equal(1, Spectra.RankFor(Spectra.SingularValues(later), 0.4));
    }

    [Fact]
    public void The_explained_variance_curve_rises_to_one_and_a_zero_matrix_has_rank_zero()
    {
        torch.manual_seed(0);
        using var m = torch.randn(new long[] { 12, 7 }, ScalarType.Float64);
        var curve = Spectra.ExplainedVariance(Spectra.SingularValues(m));
        Assert.Equal(7, curve.Length);
        Assert.Equal(1.0, curve[^1], 12);
        for (int k = 1; k < curve.Length; k++) Assert.True(curve[k] >= curve[k - 1]);
        using var zero = torch.zeros(new long[] { 5, 5 });
        Assert.Equal(0, Spectra.Rank90(zero));
        Assert.Equal(0, Spectra.NumericalRank(Spectra.SingularValues(zero)));
    }

    [Fact]
    public void Unsorted_singular_values_and_a_fraction_outside_0_1_are_rejected()
    {
        Assert.Throws<ArgumentException>(() => Spectra.RankFor(new double[] { 1, 2 }));
        Assert.Throws<ArgumentOutOfRangeException>(() => Spectra.RankFor(new double[] { 2, 1 }, 1.5));
        using var vector = torch.ones(3);
        Assert.Contains("matrix", Assert.Throws<ArgumentException>(() => Spectra.SingularValues(vector)).Message);
    }

    [Fact]
    public void The_numerical_rank_counts_singular_values_above_the_relative_tolerance()
    {
        using var m = WithSpectrum(new[] { 3.0, 1.0, 1e-9, 1e-12 }, 6, 6, seed: 3);
        Assert.Equal(2, Spectra.NumericalRank(Spectra.SingularValues(m)));
        Assert.Equal(3, Spectra.NumericalRank(Spectra.SingularValues(m), 1e-10));
    }
}
