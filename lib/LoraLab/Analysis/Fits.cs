using LoraLab.Data.Results;

namespace LoraLab.Analysis;

/// <summary>A least-squares line log y = Intercept + Slope · log x, fitted on <see cref="Points"/> points.</summary>
public sealed record PowerLawFit(double Slope, double Intercept, int Points)
{
    public double Predict(double x) => Math.Exp(Intercept + Slope * Math.Log(x));
}

/// <summary>
/// One learning rate of a sweep: the loss it reached (summarized over seeds) and whether it diverged
/// (for any seed). A diverged point's loss is ignored.
/// </summary>
public readonly record struct RatePoint(double LearningRate, double Loss, bool Diverged)
{
    public bool Usable => !Diverged && Loss > 0 && double.IsFinite(Loss);
}

/// <summary>The optimal learning rate η* of one loss-against-learning-rate curve.</summary>
/// <param name="Rate">η*: the best grid rate, refined by a parabola in log-log coordinates (see <see cref="Fits.Optimum"/>)</param>
/// <param name="GridRate">the best rate of the grid, unrefined</param>
/// <param name="AtLowEdge">the best rate is the grid's smallest: the true η* may be smaller (widen the grid)</param>
/// <param name="AtHighEdge">the best rate is the grid's largest and it did not diverge: the true η* may be larger</param>
/// <param name="OneSided">the rate above the best one diverged, so the parabola went through the best rate and its two
/// lower neighbours and η* was kept at or below the best grid rate</param>
public sealed record RateOptimum(double Rate, double GridRate, double Loss, bool AtLowEdge, bool AtHighEdge, bool OneSided)
{
    /// <summary>True when η* is only a bound, not an estimate: a fit should leave it out.</summary>
    public bool AtGridEdge => AtLowEdge || AtHighEdge;
}

/// <summary>The largest stable learning rate of a curve.</summary>
/// <param name="Rate">the largest rate below the first diverging one; NaN when the smallest rate already diverged</param>
/// <param name="Bracketed">true when a rate of the grid diverged above <see cref="Rate"/>; false when none diverged (then
/// <see cref="Rate"/> is the grid's largest rate, only a lower bound) or none was stable</param>
public sealed record StabilityEdge(double Rate, bool Bracketed);

/// <summary>
/// The fits behind learning-rate scaling claims (Hayou et al. 2024: η* ∝ n^(−1/2) or n^(−1)): a power law by least
/// squares, the optimum of a loss curve refined between grid points, and the stability edge.
/// </summary>
public static class Fits
{
    /// <summary>Least squares of log y on log x. Pairs with a non-positive or non-finite value are left out; fewer than two
    /// distinct x give NaN slope and intercept.</summary>
    public static PowerLawFit PowerLaw(IEnumerable<double> x, IEnumerable<double> y)
    {
        var pairs = x.Zip(y).Where(p => p.First > 0 && p.Second > 0 && double.IsFinite(p.First) && double.IsFinite(p.Second))
                     .Select(p => (lx: Math.Log(p.First), ly: Math.Log(p.Second))).ToList();
        if (pairs.Count < 2) return new PowerLawFit(double.NaN, double.NaN, pairs.Count);
        double mx = pairs.Average(p => p.lx), my = pairs.Average(p => p.ly);
        double sxx = pairs.Sum(p => (p.lx - mx) * (p.lx - mx));
        double sxy = pairs.Sum(p => (p.lx - mx) * (p.ly - my));
        if (sxx == 0) return new PowerLawFit(double.NaN, double.NaN, pairs.Count);
        double slope = sxy / sxx;
        return new PowerLawFit(slope, my - slope * mx, pairs.Count);
    }

    /// <summary>
    /// The rate at the vertex of the parabola through three (log rate, log loss) points, kept within [low, high]; null when
    /// the three points do not curve upwards (no minimum). Fitting in log-log makes the estimate the same whatever the
    /// grid's base, and loss curves of a learning-rate sweep are close to parabolas there near their minimum.
    /// </summary>
    public static double? ParabolaMinimum((double rate, double loss) a, (double rate, double loss) b, (double rate, double loss) c,
                                          double low, double high)
    {
        double x0 = Math.Log(a.rate), x1 = Math.Log(b.rate), x2 = Math.Log(c.rate);
        double y0 = Math.Log(a.loss), y1 = Math.Log(b.loss), y2 = Math.Log(c.loss);
        double denominator = (x0 - x1) * (x0 - x2) * (x1 - x2);
        if (denominator == 0 || !double.IsFinite(y0 + y1 + y2)) return null;
        // y = p x² + q x + k through the three points.
        double p = (x2 * (y1 - y0) + x1 * (y0 - y2) + x0 * (y2 - y1)) / denominator;
        double q = (x2 * x2 * (y0 - y1) + x1 * x1 * (y2 - y0) + x0 * x0 * (y1 - y2)) / denominator;
        if (!(p > 0)) return null;
        return Math.Exp(Math.Clamp(-q / (2 * p), Math.Log(low), Math.Log(high)));
    }

    /// <summary>
    /// η* of a curve (any order; sorted here): the stable rate with the lowest loss, refined so that fitted slopes are not
    /// quantized to the grid's step. With both neighbours stable, the parabola goes through the best rate and its two
    /// neighbours, and η* stays between them. When the next rate diverged, its loss is not a number: the parabola goes
    /// through the best rate and its two lower neighbours, and η* stays between the lower neighbour and the best rate,
    /// because no rate above the best one is known to train stably. Null when no rate trained stably.
    /// </summary>
    public static RateOptimum? Optimum(IReadOnlyList<RatePoint> curve)
    {
        var points = curve.OrderBy(p => p.LearningRate).ToList();
        int best = -1;
        for (int i = 0; i < points.Count; i++)
            if (points[i].Usable && (best < 0 || points[i].Loss < points[best].Loss)) best = i;
        if (best < 0) return null;

        var b = points[best];
        bool atLow = best == 0, atHigh = best == points.Count - 1;
        bool Stable(int i) => i >= 0 && i < points.Count && points[i].Usable;
        (double, double) At(int i) => (points[i].LearningRate, points[i].Loss);

        double? refined = null;
        bool oneSided = false;
        if (Stable(best - 1) && Stable(best + 1))
            refined = ParabolaMinimum(At(best - 1), At(best), At(best + 1), points[best - 1].LearningRate, points[best + 1].LearningRate);
        else if (best + 1 < points.Count && points[best + 1].Diverged && Stable(best - 1) && Stable(best - 2))
        {
            oneSided = true;
            refined = ParabolaMinimum(At(best - 2), At(best - 1), At(best), points[best - 1].LearningRate, b.LearningRate);
        }
        return new RateOptimum(refined ?? b.LearningRate, b.LearningRate, b.Loss, atLow, atHigh, oneSided);
    }

    /// <summary>
    /// A learning-rate curve read from a sweep's runs: one point per rate (<paramref name="learningRate"/> of each run's
    /// config), the mean of <paramref name="metric"/> over that rate's runs (its seeds). A rate is diverged, and so not
    /// usable, when any of its runs diverged or ended without a finite value of the metric: a mean over the others would
    /// hide an unstable rate.
    /// </summary>
    public static List<RatePoint> RateCurve<TConfig>(IEnumerable<GridRun<TConfig>> runs, Func<TConfig, double> learningRate, string metric) =>
        runs.GroupBy(run => learningRate(run.Config)).OrderBy(rate => rate.Key)
            .Select(rate => new RatePoint(rate.Key, rate.Average(run => run[metric]), rate.Any(run => run.Diverged || !double.IsFinite(run[metric]))))
            .ToList();

    /// <summary>The largest rate below the first one that diverged (see <see cref="StabilityEdge"/>).</summary>
    public static StabilityEdge Edge(IReadOnlyList<RatePoint> curve)
    {
        var points = curve.OrderBy(p => p.LearningRate).ToList();
        int firstDiverged = points.FindIndex(p => p.Diverged);
        if (firstDiverged < 0) return new StabilityEdge(points.Count == 0 ? double.NaN : points[^1].LearningRate, Bracketed: false);
        if (firstDiverged == 0) return new StabilityEdge(double.NaN, Bracketed: false);
        return new StabilityEdge(points[firstDiverged - 1].LearningRate, Bracketed: true);
    }

    /// <summary>
    /// The rates to train next to resolve a curve's stability edge more finely than its grid: <paramref name="points"/>
    /// rates that split the gap between the edge and the first rate that diverged into equal steps in log rate (3 points
    /// in an octave: quarter octaves). Empty when the edge is not bracketed (nothing diverged, or the smallest rate did). A
    /// rate the curve already holds is not returned again. Pass the curve of the coarse grid: called again on a curve that
    /// holds the refined rates, it splits the new, smaller gap.
    /// </summary>
    public static IReadOnlyList<double> EdgeRefinement(IReadOnlyList<RatePoint> curve, int points)
    {
        if (points < 1) throw new ArgumentOutOfRangeException(nameof(points), points, "the edge is refined by at least one rate");
        var edge = Edge(curve);
        if (!edge.Bracketed) return Array.Empty<double>();
        double firstDiverged = curve.Where(p => p.Diverged).Min(p => p.LearningRate);
        return NotHeld(curve, Between(edge.Rate, firstDiverged, points));
    }

    /// <summary>
    /// The rates to train next to read a curve's optimum on a finer grid than its own: <paramref name="points"/> rates on
    /// each side of the best rate (<see cref="Optimum"/>), splitting the gap to each neighbour into equal steps in log
    /// rate (1 point on an octave grid: half octaves). Empty when there is no optimum or it is on the grid's edge (a
    /// bound, not an estimate: the grid must be widened, not refined). A rate the curve already holds is not returned
    /// again; a gap to a diverged neighbour is refined too (where between them the runs stop training is part of the
    /// answer).
    /// </summary>
    public static IReadOnlyList<double> OptimumRefinement(IReadOnlyList<RatePoint> curve, int points)
    {
        if (points < 1) throw new ArgumentOutOfRangeException(nameof(points), points, "the optimum is refined by at least one rate a side");
        if (Optimum(curve) is not { AtGridEdge: false } optimum) return Array.Empty<double>();
        double best = optimum.GridRate;
        double below = curve.Where(p => p.LearningRate < best).Max(p => p.LearningRate);
        double above = curve.Where(p => p.LearningRate > best).Min(p => p.LearningRate);
        return NotHeld(curve, Between(below, best, points).Concat(Between(best, above, points)));
    }

    /// <summary>
    /// The rates to add beyond a grid's ends so that the optima of <paramref name="curves"/> (read on that grid: a method's
    /// mean curve and each seed's, say) lie inside it: one grid step below the lowest rate when some curve's best rate is
    /// its lowest, one step above the highest when some curve's best is its highest (the step of the grid's two rates at
    /// that end). Empty when every optimum is bracketed. An optimum on the edge is a bound, not an estimate; after the
    /// new rates are trained, call again with them in the grid: the optimum may sit on the new edge.
    /// </summary>
    public static IReadOnlyList<double> GridExtension(IReadOnlyList<double> grid, IEnumerable<IReadOnlyList<RatePoint>> curves)
    {
        var rates = grid.Distinct().Order().ToList();
        if (rates.Count < 2) throw new ArgumentException($"a grid to widen needs two rates or more, got {rates.Count}", nameof(grid));
        var optima = curves.Select(Optimum).OfType<RateOptimum>().ToList();
        var extension = new List<double>();
        if (optima.Any(o => o.AtLowEdge)) extension.Add(rates[0] / (rates[1] / rates[0]));
        if (optima.Any(o => o.AtHighEdge)) extension.Add(rates[^1] * (rates[^1] / rates[^2]));
        return extension;
    }

    // The `points` rates that split [low, high] into equal steps in log rate, low and high excluded. The arithmetic is
    // the stored runs' (their configs' rates, so their hashes, come from it): change it and refined runs train again.
    private static IEnumerable<double> Between(double low, double high, int points)
    {
        double step = Math.Log(high / low) / (points + 1);
        return Enumerable.Range(1, points).Select(k => low * Math.Exp(k * step));
    }

    // The rates a curve does not hold yet (to a relative 1e-9).
    private static List<double> NotHeld(IReadOnlyList<RatePoint> curve, IEnumerable<double> rates) =>
        rates.Where(lr => !curve.Any(p => Math.Abs(Math.Log(p.LearningRate / lr)) < 1e-9)).ToList();
}
