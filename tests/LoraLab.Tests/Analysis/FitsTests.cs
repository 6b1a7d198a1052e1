using LoraLab.Analysis;
using LoraLab.Data.Results;

namespace LoraLab.Tests.Analysis;

public class FitsTests
{
    // A loss curve that is an exact parabola in log-log coordinates, log L = (log η − log η₀)² + 0.1, on powers of two.
    private static List<RatePoint> ParabolicCurve(double optimum, int lowExponent, int highExponent, double divergesFrom = double.PositiveInfinity) =>
        Enumerable.Range(lowExponent, highExponent - lowExponent + 1).Select(e => Math.Pow(2, e))
            .Select(lr => new RatePoint(lr, Math.Exp(Math.Pow(Math.Log(lr / optimum), 2) + 0.1), Diverged: lr >= divergesFrom))
            .ToList();

    [Fact]
    public void The_power_law_fit_recovers_a_known_exponent_and_prefactor()
    {
        double[] n = { 64, 128, 256, 512, 1024 };
        var fit = Fits.PowerLaw(n, n.Select(w => 3.0 * Math.Pow(w, -0.5)));
        Assert.Equal(-0.5, fit.Slope, 10);
        Assert.Equal(3.0 * Math.Pow(100, -0.5), fit.Predict(100), 10);
        Assert.Equal(5, fit.Points);
    }

    [Fact]
    public void The_power_law_fit_is_least_squares_in_log_log()
    {
        // log y = 0, 1, 3 at log x = 0, 1, 2 (base e): least squares gives slope 1.5 and intercept −1/6.
        var fit = Fits.PowerLaw(new[] { 1, Math.E, Math.E * Math.E }, new[] { 1, Math.E, Math.Exp(3) });
        Assert.Equal(1.5, fit.Slope, 12);
        Assert.Equal(-1.0 / 6, fit.Intercept, 12);
    }

    [Fact]
    public void The_power_law_fit_leaves_out_missing_values_and_needs_two_distinct_widths()
    {
        var fit = Fits.PowerLaw(new double[] { 10, 100, 1000 }, new[] { 1.0, double.NaN, 1e-2 });
        Assert.Equal(-1.0, fit.Slope, 10);
        Assert.Equal(2, fit.Points);
        Assert.True(double.IsNaN(Fits.PowerLaw(new double[] { 10, 10 }, new[] { 1.0, 2.0 }).Slope));
        Assert.True(double.IsNaN(Fits.PowerLaw(new double[] { 10 }, new[] { 1.0 }).Slope));
    }

    [Fact]
    public void The_parabola_minimum_is_the_vertex_and_stays_within_its_bounds()
    {
        (double, double) Point(double lr) => (lr, Math.Exp(Math.Pow(Math.Log(lr / 0.3), 2)));
        Assert.Equal(0.3, Fits.ParabolaMinimum(Point(0.125), Point(0.25), Point(0.5), 0.125, 0.5)!.Value, 10);
        Assert.Equal(0.25, Fits.ParabolaMinimum(Point(0.125), Point(0.25), Point(0.5), 0.125, 0.25)!.Value, 10);
        // A concave triple has no minimum.
        Assert.Null(Fits.ParabolaMinimum((0.1, 1.0), (0.2, 2.0), (0.4, 1.0), 0.1, 0.4));
    }

    [Fact]
    public void The_optimal_rate_is_refined_between_grid_points()
    {
        double optimum = Math.Pow(2, -6.3);
        var found = Fits.Optimum(ParabolicCurve(optimum, -10, -3))!;
        Assert.Equal(Math.Pow(2, -6), found.GridRate);
        Assert.Equal(optimum, found.Rate, 1e-9);
        Assert.False(found.AtGridEdge);
        Assert.False(found.OneSided);
    }

    [Fact]
    public void Next_to_a_diverged_rate_the_refinement_uses_the_two_lower_neighbours_and_stays_at_or_below_the_best_rate()
    {
        // The true optimum 2^−5.6 lies above the best stable grid rate 2^−6 (2^−5 diverged): η* is capped at 2^−6.
        var capped = Fits.Optimum(ParabolicCurve(Math.Pow(2, -5.6), -10, -3, divergesFrom: Math.Pow(2, -5)))!;
        Assert.True(capped.OneSided);
        Assert.Equal(Math.Pow(2, -6), capped.Rate, 12);
        // The true optimum 2^−6.3 lies below it: the lower parabola finds it exactly (the curve is an exact parabola).
        var inside = Fits.Optimum(ParabolicCurve(Math.Pow(2, -6.3), -10, -3, divergesFrom: Math.Pow(2, -5)))!;
        Assert.True(inside.OneSided);
        Assert.Equal(Math.Pow(2, -6.3), inside.Rate, 1e-9);
    }

    [Fact]
    public void An_optimum_on_the_grids_edge_is_flagged_and_not_refined()
    {
        var low = Fits.Optimum(ParabolicCurve(Math.Pow(2, -12), -10, -3))!;
        Assert.True(low.AtLowEdge);
        Assert.Equal(Math.Pow(2, -10), low.Rate);
        var high = Fits.Optimum(ParabolicCurve(Math.Pow(2, 0), -10, -3))!;
        Assert.True(high.AtHighEdge);
        Assert.Equal(Math.Pow(2, -3), high.Rate);
    }

    [Fact]
    public void The_optimum_ignores_diverged_rates_and_needs_a_stable_one()
    {
        var curve = new List<RatePoint> { new(1e-3, 0.5, false), new(1e-2, 0.01, Diverged: true) };
        Assert.Equal(1e-3, Fits.Optimum(curve)!.Rate);
        Assert.Null(Fits.Optimum(new List<RatePoint> { new(1, double.NaN, true) }));
    }

    [Fact]
    public void The_stability_edge_is_the_largest_rate_below_the_first_divergence()
    {
        // A rate that diverges below a stable one (a noisy seed) still ends the stable range.
        var curve = new List<RatePoint> { new(4, 1, false), new(1, 1, false), new(2, 1, true), new(8, 1, true) };
        Assert.Equal(new StabilityEdge(1, Bracketed: true), Fits.Edge(curve));
        var none = Fits.Edge(new List<RatePoint> { new(1, 1, false), new(2, 1, false) });
        Assert.Equal(new StabilityEdge(2, Bracketed: false), none);
        Assert.True(double.IsNaN(Fits.Edge(new List<RatePoint> { new(1, 1, true) }).Rate));
    }

    [Fact]
    public void A_rate_curve_averages_each_rates_seeds_and_marks_a_rate_unusable_when_any_of_its_runs_diverged_or_has_no_value()
    {
        GridRun<double> Run(double lr, int seed, double loss, RunStatus status = RunStatus.Done) =>
            new(lr, "", seed, status, new Dictionary<string, double> { ["validation_loss"] = loss }, 0);
        var runs = new[]
        {
            Run(0.01, 0, 1.0), Run(0.01, 1, 3.0),
            Run(0.001, 0, 2.0), Run(0.001, 1, 4.0),
            Run(0.1, 0, 0.5), Run(0.1, 1, 9.0, RunStatus.Diverged),
            Run(1.0, 0, 0.5), Run(1.0, 1, double.NaN),
        };
        var curve = Fits.RateCurve(runs, lr => lr, "validation_loss");
        Assert.Equal(new[] { 0.001, 0.01, 0.1, 1.0 }, curve.Select(p => p.LearningRate).ToArray());
        Assert.Equal(new[] { 3.0, 2.0 }, curve.Take(2).Select(p => p.Loss).ToArray());
        Assert.True(curve[0].Usable && curve[1].Usable);
        Assert.True(curve[2].Diverged && !curve[2].Usable);
        Assert.True(curve[3].Diverged && !curve[3].Usable);
        // So the optimum is the usable rate with the lowest mean: neither 0.1's one seed at 0.5 nor 1.0's counts.
        Assert.Equal(0.01, Fits.Optimum(curve)!.GridRate);
    }

    [Fact]
    public void The_edge_refinement_splits_the_octave_between_the_edge_and_the_first_divergence_into_equal_log_steps()
    {
        var curve = new List<RatePoint> { new(0.25, 1, false), new(0.5, 1, false), new(1, double.NaN, true), new(2, double.NaN, true) };
        var rates = Fits.EdgeRefinement(curve, 3);
        Assert.Equal(3, rates.Count);
        for (int k = 0; k < 3; k++) Assert.Equal(Math.Pow(2, -1 + (k + 1) / 4.0), rates[k], 12);
        // Refined, the edge moves up to the largest refined rate that stayed stable.
        var refined = curve.Concat(new RatePoint[] { new(rates[0], 1, false), new(rates[1], 1, false), new(rates[2], double.NaN, true) }).ToList();
        Assert.Equal(rates[1], Fits.Edge(refined).Rate);

        Assert.Empty(Fits.EdgeRefinement(new List<RatePoint> { new(1, 1, false), new(2, 1, false) }, 3));   // nothing diverged
        Assert.Empty(Fits.EdgeRefinement(new List<RatePoint> { new(1, double.NaN, true) }, 3));            // nothing stable
        Assert.Throws<ArgumentOutOfRangeException>(() => Fits.EdgeRefinement(curve, 0));
    }

    [Fact]
    public void An_optimum_is_refined_on_both_sides_of_its_best_rate_and_an_optimum_on_the_grids_edge_is_not()
    {
        // Octave grid 2^-4 … 2^0, loss lowest at 2^-2: one point a side gives the half octaves next to it.
        var curve = Enumerable.Range(-4, 5).Select(e => new RatePoint(Math.Pow(2, e), 1 + Math.Pow(e + 2, 2), false)).ToList();
        var rates = Fits.OptimumRefinement(curve, 1);
        Assert.Equal(2, rates.Count);
        Assert.Equal(Math.Pow(2, -2.5), rates[0], 12);
        Assert.Equal(Math.Pow(2, -1.5), rates[1], 12);
        // Two a side: thirds of an octave; a rate the curve already holds is not asked for again.
        var thirds = Fits.OptimumRefinement(curve, 2).Select(Math.Log2).ToList();
        Assert.Equal(4, thirds.Count);
        foreach (var (expected, actual) in new[] { -8 / 3.0, -7 / 3.0, -5 / 3.0, -4 / 3.0 }.Zip(thirds)) Assert.Equal(expected, actual, 9);
        var refined = curve.Concat(rates.Select(lr => new RatePoint(lr, 1 + Math.Pow(Math.Log2(lr) + 2, 2), false))).ToList();
        Assert.DoesNotContain(Fits.OptimumRefinement(refined, 1), lr => rates.Any(x => Math.Abs(x - lr) < 1e-12));
        // Refined, the optimum is read on the finer points: the parabola goes through the half-octave neighbours.
        Assert.Equal(Math.Pow(2, -2), Fits.Optimum(refined)!.GridRate, 12);

        // Best on an end of the grid: a bound, so nothing to refine; no usable point: nothing either.
        Assert.Empty(Fits.OptimumRefinement(curve.Select(p => p with { Loss = p.LearningRate }).ToList(), 1));
        Assert.Empty(Fits.OptimumRefinement(curve.Select(p => new RatePoint(p.LearningRate, double.NaN, true)).ToList(), 1));
        Assert.Throws<ArgumentOutOfRangeException>(() => Fits.OptimumRefinement(curve, 0));
    }

    [Fact]
    public void A_grid_is_widened_one_step_past_each_edge_that_holds_some_curves_optimum_until_every_optimum_is_inside()
    {
        // A ×3 grid 1e-3 … 1e-1 (as notebook 03's); the loss (log-log parabola) lowest at 2e-4 for one curve, inside for another.
        double[] grid = [1e-3, 3e-3, 1e-2, 3e-2, 1e-1];
        List<RatePoint> Curve(IEnumerable<double> rates, double best) =>
            rates.Select(lr => new RatePoint(lr, Math.Exp(0.1 * Math.Pow(Math.Log(lr / best), 2)), false)).ToList();
        var inside = Curve(grid, 1e-2);
        Assert.Empty(Fits.GridExtension(grid, [inside]));

        // One curve of two on the low edge: one rate below, the grid's own step there (1e-3 / 3).
        var below = Fits.GridExtension(grid, [inside, Curve(grid, 2e-4)]);
        Assert.Equal(new[] { 1e-3 / 3 }, below);
        // With that rate trained, the optimum at 2e-4 is still on the edge (1/3 e-3 is the lowest and best): one more step.
        var once = grid.Append(below[0]).ToArray();
        var again = Fits.GridExtension(once, [Curve(once, 2e-4)]);
        Assert.Single(again);
        Assert.Equal(1e-3 / 9, again[0], 15);
        var twice = once.Append(again[0]).ToArray();
        Assert.Empty(Fits.GridExtension(twice, [Curve(twice, 2e-4)]));

        // The high edge: the step of the grid's top two rates (0.1 / 0.03); a diverged top rate bounds the optimum instead.
        Assert.Equal(new[] { 0.1 * (0.1 / 3e-2) }, Fits.GridExtension(grid, [Curve(grid, 1.0)]));
        var divergedTop = Curve(grid, 1.0).Select(p => p.LearningRate == 1e-1 ? new RatePoint(1e-1, double.NaN, true) : p).ToList();
        Assert.Empty(Fits.GridExtension(grid, [divergedTop]));
        // Both edges at once (two curves), and a curve with nothing usable asks for nothing.
        Assert.Equal(2, Fits.GridExtension(grid, [Curve(grid, 2e-4), Curve(grid, 1.0)]).Count);
        Assert.Empty(Fits.GridExtension(grid, [grid.Select(lr => new RatePoint(lr, double.NaN, true)).ToList()]));
        Assert.Throws<ArgumentException>(() => Fits.GridExtension([1e-3], [inside]));
    }
}
