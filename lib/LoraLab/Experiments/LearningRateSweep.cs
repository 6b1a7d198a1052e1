using System.Globalization;
using LoraLab.Analysis;
using LoraLab.Data.Results;
using LoraLab.Data.Sweeps;

namespace LoraLab.Experiments;

/// <summary>
/// A learning-rate sweep read for its optima. Each curve is a config whose learning rate the sweep sets (a method, an
/// init); <see cref="Run{TTask}"/> trains in three stages, each once the stage before is whole in the store:
/// <list type="number">
/// <item>every curve at every rate of the grid, every seed;</item>
/// <item>where a curve's optimum on <see cref="Metric"/> (its mean curve's or a seed's) is its grid's lowest or highest
/// rate, one rate one grid step past that end, every seed (<see cref="Fits.GridExtension"/>), and again up to
/// <see cref="Extensions"/> times: an optimum on the edge is a bound, not an estimate;</item>
/// <item><see cref="Refinement"/> rates on each side of each curve's best rate (<see cref="Fits.OptimumRefinement"/>),
/// every seed, so that the optimum is read on a finer grid near it.</item>
/// </list>
/// A shard's store holds part of the first stage: the later stages wait for the merged store. Every run is the store's
/// as a sweep of the same configs would store it (the same config, the same hash), so a sweep that grows reuses its runs.
/// </summary>
/// <param name="LearningRate">the learning rate of a config</param>
/// <param name="WithLearningRate">the config with another learning rate (<c>(c, lr) =&gt; c with { learning_rate = lr }</c>)</param>
/// <param name="Metric">the final metric whose mean over seeds is minimized (a validation loss)</param>
public sealed record LearningRateSweep<TConfig>(Func<TConfig, double> LearningRate, Func<TConfig, double, TConfig> WithLearningRate, string Metric)
    where TConfig : notnull
{
    /// <summary>How many times a curve's grid may grow past an end that holds an optimum (0: never).</summary>
    public int Extensions { get; init; }

    /// <summary>Rates added on each side of each curve's best grid rate, in equal log steps (0: the grid alone).</summary>
    public int Refinement { get; init; }

    /// <summary>A curve's name in the lines this sweep prints ("code full").</summary>
    public Func<TConfig, string> Label { get; init; } = c => c.ToString() ?? "";

    /// <summary>
    /// Trains what the store lacks of the three stages (as <typeparamref name="TTask"/> trains, over the options' shard,
    /// workers and ensembles) and reads every run of the sweep back. <paramref name="progress"/> gets a line for each
    /// widening, before it trains.
    /// </summary>
    public LearningRateSweepResult<TConfig> Run<TTask>(ResultsStore store, SweepOptions options, string experiment, IEnumerable<TConfig> curves,
        IEnumerable<double> rates, IEnumerable<int> seeds, SweepParallelism? parallelism = null, TextWriter? progress = null)
        where TTask : ISweepTask<TConfig>
    {
        if (Extensions < 0 || Refinement < 0)
            throw new ArgumentException($"Extensions and Refinement must be 0 or more, got {Extensions} and {Refinement}");
        var rateList = rates.Distinct().Order().ToList();
        if (rateList.Count == 0 || rateList.Any(lr => !(lr > 0) || double.IsInfinity(lr)))
            throw new ArgumentException($"the grid needs positive, finite learning rates, got [{string.Join(", ", rateList)}]", nameof(rates));
        if (Extensions > 0 && rateList.Count < 2)
            throw new ArgumentException("a grid that may widen needs two rates or more (its step)", nameof(rates));
        var seedList = seeds.Distinct().ToList();
        if (seedList.Count == 0) throw new ArgumentException("a sweep needs at least one seed", nameof(seeds));
        var curveList = curves.Select(Curve).Distinct().ToList();

        var runner = new SweepRunner(store, options);
        var grid = curveList.ToDictionary(c => c, _ => new List<double>(rateList));
        List<TConfig> Configs() => grid.SelectMany(g => g.Value.Select(lr => WithLearningRate(g.Key, lr))).ToList();
        bool Whole(IReadOnlyList<GridRun<TConfig>> runs, int configs) => runs.Count == configs * seedList.Count;

        var gridConfigs = Configs();
        runner.Run<TTask, TConfig>(experiment, gridConfigs, seedList, parallelism);
        var gridRuns = store.Grid(experiment, gridConfigs, seedList);
        bool gridComplete = Whole(gridRuns, gridConfigs.Count);

        var widened = new List<TConfig>();
        bool wideningUntrained = false;
        for (int pass = 0; pass < Extensions && gridComplete; pass++)
        {
            var widening = (from c in curveList
                            let seedCurvesAndMean = seedList.Select(s => Points(gridRuns, c, [s])).Append(Points(gridRuns, c, seedList))
                            from lr in Fits.GridExtension(grid[c], seedCurvesAndMean)
                            select WithLearningRate(c, lr)).ToList();
            if (widening.Count == 0) break;
            progress?.WriteLine("widening the grid: " + string.Join("; ", widening.Select(c => $"{Label(c)} {LearningRate(c).ToString("G3", CultureInfo.InvariantCulture)}")));
            runner.Run<TTask, TConfig>(experiment, widening, seedList, parallelism);
            // Not trained (render-only, failed runs): the grid stays as it was, and its optimum on the edge is reported so.
            wideningUntrained = !Whole(store.Grid(experiment, widening, seedList), widening.Count);
            if (wideningUntrained) break;
            foreach (var c in widening) grid[Curve(c)].Add(LearningRate(c));
            foreach (var g in grid.Values) g.Sort();
            widened.AddRange(widening);
            gridRuns = store.Grid(experiment, Configs(), seedList);
        }

        var refinement = !gridComplete || Refinement == 0 ? new List<TConfig>()
            : (from c in curveList from lr in Fits.OptimumRefinement(Points(gridRuns, c, seedList), Refinement) select WithLearningRate(c, lr)).ToList();
        if (refinement.Count > 0) runner.Run<TTask, TConfig>(experiment, refinement, seedList, parallelism);
        var all = Configs().Concat(refinement).ToList();
        var runs = store.Grid(experiment, all, seedList);
        return new LearningRateSweepResult<TConfig>(this, curveList, seedList, grid.ToDictionary(g => g.Key, g => (IReadOnlyList<double>)g.Value.ToArray()),
            widened, refinement, runs, gridComplete, wideningUntrained, gridComplete && Whole(runs, all.Count));
    }

    /// <summary>The curve a config lies on: the config with its learning rate cleared.</summary>
    public TConfig Curve(TConfig config) => WithLearningRate(config, 0);

    /// <summary>A curve's points over the given seeds' runs (<see cref="Fits.RateCurve"/>: a rate with a diverged run is unusable).</summary>
    internal List<RatePoint> Points(IEnumerable<GridRun<TConfig>> runs, TConfig curve, IReadOnlyCollection<int> seeds)
    {
        var key = Curve(curve);
        return Fits.RateCurve(runs.Where(g => seeds.Contains(g.Seed) && EqualityComparer<TConfig>.Default.Equals(Curve(g.Config), key)), LearningRate, Metric);
    }
}

/// <summary>What a <see cref="LearningRateSweep{TConfig}"/> trained and found, read from the store.</summary>
/// <param name="Widened">the configs added past the grid's ends (a curve at an added rate)</param>
/// <param name="Refined">the configs added near each curve's best rate</param>
/// <param name="Runs">every finished run of the sweep in the store: the grid's, the widening's and the refinement's</param>
/// <param name="GridComplete">the grid (and its widening) is whole in the store; false in a shard's store</param>
/// <param name="WideningUntrained">a widening the store lacks (render-only, failed runs): the grid was left as it was</param>
/// <param name="StagesComplete">every stage is whole in the store</param>
public sealed record LearningRateSweepResult<TConfig>(LearningRateSweep<TConfig> Sweep, IReadOnlyList<TConfig> Curves, IReadOnlyList<int> Seeds,
    IReadOnlyDictionary<TConfig, IReadOnlyList<double>> Grids, IReadOnlyList<TConfig> Widened, IReadOnlyList<TConfig> Refined,
    IReadOnlyList<GridRun<TConfig>> Runs, bool GridComplete, bool WideningUntrained, bool StagesComplete) where TConfig : notnull
{
    /// <summary>Every stage is whole in the store and every curve has a best rate: later sweeps can train at them.</summary>
    public bool Complete => StagesComplete && Curves.All(c => BestRate(c) is not null);

    /// <summary>The rates of a curve's grid, widened or not, without the refinement (ascending).</summary>
    public IReadOnlyList<double> GridRates(TConfig curve) => Grids[Sweep.Curve(curve)];

    /// <summary>A curve's points, its metric averaged over <paramref name="seeds"/> (every seed: null); the grid's rates only, or
    /// the refined ones too.</summary>
    public List<RatePoint> Points(TConfig curve, IEnumerable<int>? seeds = null, bool gridOnly = false)
    {
        var rates = GridRates(curve);
        return Sweep.Points(Runs.Where(g => !gridOnly || rates.Contains(Sweep.LearningRate(g.Config))), curve, (seeds ?? Seeds).ToList());
    }

    /// <summary>A curve's optimum over <paramref name="seeds"/> (every seed: null), on the refined curve; null when no rate trained.</summary>
    public RateOptimum? Optimum(TConfig curve, IEnumerable<int>? seeds = null) => Fits.Optimum(Points(curve, seeds));

    /// <summary>The rate of the refined curve with the lowest mean metric over every seed: where later runs of the curve train.</summary>
    public double? BestRate(TConfig curve) => Optimum(curve)?.GridRate;
}
