using LoraLab.Analysis;
using TorchSharp;
using static TorchSharp.torch;
using LoraLab.Modules;

namespace LoraLab.Tests.Analysis;

public class NuclearNormTests
{
    [Fact]
    public void The_prox_step_soft_thresholds_the_singular_values_and_keeps_the_singular_vectors()
    {
        using var x = SpectraTests.WithSpectrum(new[] { 5.0, 3.0, 1.5, 0.5 }, 8, 6, seed: 4);
        using var p = NuclearNorm.Prox(x, 1.0);
        var s = Spectra.SingularValues(p);
        Assert.Equal(new[] { 4.0, 2.0, 0.5 }, s.Take(3).Select(v => Math.Round(v, 9)));
        Assert.True(s.Skip(3).All(v => v < 1e-9));
        // Same singular vectors: Uᵀ P V is diagonal, with the shrunk values on it.
        var (U, _, Vh) = torch.linalg.svd(x, fullMatrices: false);
        using var core = U.t().mm(p).mm(Vh.t());
        var c = core.data<double>();
        int n = (int)core.size(1);
        for (int i = 0; i < core.size(0); i++)
            for (int j = 0; j < n; j++)
                Assert.Equal(i == j ? Math.Max(new[] { 5.0, 3.0, 1.5, 0.5, 0, 0 }[i] - 1, 0) : 0, c[i * n + j], 9);
        U.Dispose(); Vh.Dispose();
    }

    [Fact]
    public void The_prox_step_minimizes_half_the_squared_distance_plus_t_times_the_nuclear_norm()
    {
        torch.manual_seed(5);
        using var x = torch.randn(new long[] { 7, 5 }, ScalarType.Float64);
        const double t = 0.8;
        double Objective(Tensor y)
        {
            using var scope = torch.NewDisposeScope();
            return 0.5 * (y - x).square().sum().ToDouble() + t * NuclearNorm.Of(y);
        }
        using var p = NuclearNorm.Prox(x, t);
        double best = Objective(p);
        for (int trial = 0; trial < 50; trial++)
        {
            using var scope = torch.NewDisposeScope();
            var other = p + torch.randn(new long[] { 7, 5 }, ScalarType.Float64) * (trial < 25 ? 1e-3 : 0.3);
            Assert.True(Objective(other) >= best - 1e-12, $"a perturbation lowered the prox objective: {Objective(other)} < {best}");
        }
    }

    [Fact]
    public void A_negative_threshold_is_rejected()
    {
        using var x = torch.eye(3);
        Assert.Throws<ArgumentOutOfRangeException>(() => NuclearNorm.Prox(x, -1));
    }
}
