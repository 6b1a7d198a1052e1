using LoraLab.Data.Results;
using LoraLab.Data.Sweeps;

namespace LoraLab.Experiments;

/// <summary>‖Z_A‖ = mean ‖A z‖ and ‖Z_B‖ = mean ‖B A z‖ of one toy configuration over training, averaged over seeds.</summary>
public sealed record FeatureNormSeries(ToyInitConfig Config, IReadOnlyList<long> Steps, IReadOnlyList<double> NormA, IReadOnlyList<double> NormBA)
{
    /// <summary>The last recorded value of each norm (NaN when nothing was recorded).</summary>
    public double FinalNormA => NormA.Count == 0 ? double.NaN : NormA[^1];
    public double FinalNormBA => NormBA.Count == 0 ? double.NaN : NormBA[^1];
}

/// <summary>
/// Feature dynamics (Hayou et al. §3): how large the LoRA features get while training. Read from the
/// norm_A / norm_BA series that every toy run records, so nothing is trained again here.
/// </summary>
public static class InitFeatureDynamics
{
    /// <summary>Mean over seeds, step by step, of the finished runs that did not diverge; null when there are none.</summary>
    public static FeatureNormSeries? Series(ResultsStore store, ToyInitConfig config, IEnumerable<int> seeds)
    {
        var runs = SweepRunner.Grid(new[] { config }, seeds)
            .Select(job => store.FinishedRun(ToyInitExperiment.Name, job.ConfigHash, job.Seed))
            .Where(r => r is { Status: RunStatus.Done }).Select(r => r!).ToList();
        if (runs.Count == 0) return null;
        var a = runs.Select(r => store.MetricSeries(r.Id, "norm_A")).ToList();
        var ba = runs.Select(r => store.MetricSeries(r.Id, "norm_BA")).ToList();
        int length = a.Concat(ba).Min(s => s.Count);
        var steps = a[0].Take(length).Select(p => p.Step).ToList();
        return new FeatureNormSeries(config, steps,
            Enumerable.Range(0, length).Select(i => a.Average(s => s[i].Value)).ToList(),
            Enumerable.Range(0, length).Select(i => ba.Average(s => s[i].Value)).ToList());
    }

    /// <summary>The config of the grid with this width and init whose learning rate is closest (in log) to η.</summary>
    public static ToyInitConfig NearestConfig(IEnumerable<ToyInitConfig> grid, int width, string init, double learningRate) =>
        grid.Where(c => c.Width == width && c.Init == init)
            .MinBy(c => Math.Abs(Math.Log(c.LearningRate / learningRate)))
            ?? throw new ArgumentException($"the grid has no config with width {width} and init {init}");
}
