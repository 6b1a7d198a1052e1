using LoraLab.Data.Results;
using LoraLab.Data.Sweeps;

namespace LoraLab.Experiments;

/// <summary>One (width, init, learning rate) of the toy sweep, summarized over its seeds.</summary>
/// <param name="TrainLoss">geometric mean of the final train loss over the seeds that did not diverge (NaN if none)</param>
public sealed record ToyInitPoint(int Width, string Init, double LearningRate, int Seeds, int Diverged, double TrainLoss, double TestLoss)
{
    public bool Stable => Seeds > 0 && Diverged == 0;
}

/// <summary>The optimal and largest stable learning rates of one (width, init).</summary>
/// <param name="OptimalRate">η*: the grid minimum of the train loss, refined by a parabola through it and its neighbours (log-log)</param>
/// <param name="GridOptimalRate">η* on the grid, unrefined</param>
/// <param name="StableEdge">the largest learning rate below the first one where a seed diverged</param>
/// <param name="EdgeFound">false when no rate of the grid diverged: the edge is then only a lower bound</param>
public sealed record ToyInitRates(int Width, string Init, double OptimalRate, double GridOptimalRate, double BestTrainLoss, double BestTestLoss,
                                  double StableEdge, bool EdgeFound);

/// <summary>A least-squares line log y = intercept + slope · log x.</summary>
public sealed record PowerLawFit(double Slope, double Intercept, int Points)
{
    public double Predict(double x) => Math.Exp(Intercept + Slope * Math.Log(x));
}

/// <summary>
/// Reads the toy sweep back from the results store and extracts what the paper's scaling claims are
/// about: η*(n), the stability edge, and the exponents of their power laws in n.
/// </summary>
public static class InitScaling
{
    /// <summary>The finished runs of these configs (and seeds), summarized per config, in the configs' order.</summary>
    public static List<ToyInitPoint> Points(ResultsStore store, IEnumerable<ToyInitConfig> configs, IEnumerable<int> seeds)
    {
        var points = new List<ToyInitPoint>();
        foreach (var group in SweepRunner.Grid(configs, seeds).GroupBy(job => job.ConfigHash))
        {
            var config = group.First().Config;
            var runs = group.Select(job => store.FinishedRun(ToyInitExperiment.Name, job.ConfigHash, job.Seed)).OfType<RunRecord>().ToList();
            var stable = runs.Where(r => r.Status == RunStatus.Done).ToList();
            points.Add(new ToyInitPoint(config.Width, config.Init, config.LearningRate, runs.Count,
                runs.Count(r => r.Status == RunStatus.Diverged),
                GeometricMean(stable.Select(r => r.FinalMetrics.GetValueOrDefault("train_loss", double.NaN))),
                GeometricMean(stable.Select(r => r.FinalMetrics.GetValueOrDefault("test_loss", double.NaN)))));
        }
        return points;
    }

    /// <summary>η* and the stability edge of every (width, init) in the points.</summary>
    public static List<ToyInitRates> Rates(IEnumerable<ToyInitPoint> points) =>
        points.GroupBy(p => (p.Width, p.Init))
              .Select(g => RatesOf(g.OrderBy(p => p.LearningRate).ToList()))
              .OfType<ToyInitRates>()
              .OrderBy(r => r.Init, StringComparer.Ordinal).ThenBy(r => r.Width)
              .ToList();

    /// <summary>Null when no learning rate of the curve trained stably.</summary>
    public static ToyInitRates? RatesOf(IReadOnlyList<ToyInitPoint> curve)
    {
        int best = -1;
        for (int i = 0; i < curve.Count; i++)
            if (curve[i].Stable && double.IsFinite(curve[i].TrainLoss) && (best < 0 || curve[i].TrainLoss < curve[best].TrainLoss))
                best = i;
        if (best < 0) return null;

        int firstDiverged = curve.Count;
        for (int i = curve.Count - 1; i >= 0; i--)
            if (curve[i].Diverged > 0) firstDiverged = i;
        double edge = firstDiverged == 0 ? double.NaN : curve[firstDiverged - 1].LearningRate;
        double refined = curve[best].LearningRate;
        if (best > 0 && best < curve.Count - 1 && curve[best - 1].Stable && curve[best + 1].Stable)
            refined = ParabolaMinimum(curve[best - 1], curve[best], curve[best + 1]);
        return new ToyInitRates(curve[best].Width, curve[best].Init, refined, curve[best].LearningRate,
                                curve[best].TrainLoss, curve[best].TestLoss, edge, firstDiverged < curve.Count);
    }

    /// <summary>
    /// The vertex of the parabola through three (log η, log loss) points whose middle one is lowest: a
    /// sub-grid estimate of η*, so that slopes are not quantized to the grid's factor of 2. Kept within the
    /// neighbours' interval.
    /// </summary>
    public static double ParabolaMinimum(ToyInitPoint left, ToyInitPoint middle, ToyInitPoint right)
    {
        double x0 = Math.Log(left.LearningRate), x1 = Math.Log(middle.LearningRate), x2 = Math.Log(right.LearningRate);
        double y0 = Math.Log(left.TrainLoss), y1 = Math.Log(middle.TrainLoss), y2 = Math.Log(right.TrainLoss);
        double denominator = (x0 - x1) * (x0 - x2) * (x1 - x2);
        double a = (x2 * (y1 - y0) + x1 * (y0 - y2) + x0 * (y2 - y1)) / denominator;
        double b = (x2 * x2 * (y0 - y1) + x1 * x1 * (y2 - y0) + x0 * x0 * (y1 - y2)) / denominator;
        if (!(a > 0)) return middle.LearningRate;                // flat or not a minimum: keep the grid point
        return Math.Exp(Math.Clamp(-b / (2 * a), x0, x2));
    }

    /// <summary>Least squares of log y on log x (points with a non-positive or non-finite value are left out).</summary>
    public static PowerLawFit FitPowerLaw(IEnumerable<double> x, IEnumerable<double> y)
    {
        var pairs = x.Zip(y).Where(p => p.First > 0 && p.Second > 0 && double.IsFinite(p.First) && double.IsFinite(p.Second))
                     .Select(p => (lx: Math.Log(p.First), ly: Math.Log(p.Second))).ToList();
        if (pairs.Count < 2) return new PowerLawFit(double.NaN, double.NaN, pairs.Count);
        double mx = pairs.Average(p => p.lx), my = pairs.Average(p => p.ly);
        double sxx = pairs.Sum(p => (p.lx - mx) * (p.lx - mx));
        double sxy = pairs.Sum(p => (p.lx - mx) * (p.ly - my));
        double slope = sxx == 0 ? double.NaN : sxy / sxx;
        return new PowerLawFit(slope, my - slope * mx, pairs.Count);
    }

    private static double GeometricMean(IEnumerable<double> values)
    {
        var list = values.Where(v => v > 0 && double.IsFinite(v)).ToList();
        return list.Count == 0 ? double.NaN : Math.Exp(list.Average(Math.Log));
    }
}
