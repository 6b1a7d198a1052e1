using LoraLab.Experiments;

namespace LoraLab.Tests.Experiments;

public class InitScalingTests
{
    [Fact]
    public void The_power_law_fit_recovers_a_known_exponent()
    {
        double[] n = { 64, 128, 256, 512, 1024 };
        var eta = n.Select(w => 3.0 * Math.Pow(w, -0.5)).ToList();
        var fit = InitScaling.FitPowerLaw(n, eta);
        Assert.Equal(-0.5, fit.Slope, 10);
        Assert.Equal(3.0 * Math.Pow(100, -0.5), fit.Predict(100), 10);
        Assert.Equal(5, fit.Points);
    }

    [Fact]
    public void The_power_law_fit_ignores_missing_values()
    {
        var fit = InitScaling.FitPowerLaw(new double[] { 10, 100, 1000 }, new[] { 1.0, double.NaN, 1e-2 });
        Assert.Equal(-1.0, fit.Slope, 10);
        Assert.Equal(2, fit.Points);
    }

    // A loss curve log L = (log η − log η₀)² + c on a grid of powers of two: η* is found between grid points.
    [Fact]
    public void The_optimal_rate_is_refined_between_grid_points_and_the_edge_is_found()
    {
        double best = Math.Pow(2, -6.3);
        var curve = Enumerable.Range(-10, 8).Select(e => Math.Pow(2, e))
            .Select(lr => new ToyInitPoint(64, "InitA_Gaussian", lr, Seeds: 2, Diverged: lr >= Math.Pow(2, -4) ? 1 : 0,
                                           TrainLoss: Math.Exp(Math.Pow(Math.Log(lr / best), 2) + 0.1), TestLoss: 1))
            .ToList();
        var rates = InitScaling.RatesOf(curve)!;
        Assert.Equal(Math.Pow(2, -6), rates.GridOptimalRate);
        Assert.Equal(best, rates.OptimalRate, 1e-9);
        Assert.Equal(Math.Pow(2, -5), rates.StableEdge);
        Assert.True(rates.EdgeFound);
    }

    [Fact]
    public void Without_any_stable_rate_there_are_no_rates()
    {
        var curve = new[] { new ToyInitPoint(8, "InitB_Gaussian", 1, 2, 2, double.NaN, double.NaN) };
        Assert.Null(InitScaling.RatesOf(curve));
    }
}
