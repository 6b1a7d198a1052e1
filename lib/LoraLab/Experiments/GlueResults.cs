using LoraLab.Data.Results;
using LoraLab.Data.Sweeps;

namespace LoraLab.Experiments;

/// <summary>One finished run of a GLUE-like sweep, read back from the results store.</summary>
public sealed record GlueRun(string Init, double Lr, double LrRatio, int Seed, double TestAccuracy, double ValidationAccuracy,
                             double TrainLoss, bool Diverged, double ChanceAccuracy);

/// <summary>The seeds of one grid cell (init, η, λ) summarized: mean ± sample standard deviation of test accuracy.</summary>
public sealed record GlueCell(string Init, double Lr, double LrRatio, int Seeds, double MeanTestAccuracy, double StdTestAccuracy,
                              double MeanValidationAccuracy, double MeanTrainLoss, int Diverged)
{
    public string InitLabel => GlueInits.Label(Init);
}

/// <summary>
/// Queries of the results store for the plots and tables. Only runs of the grid asked for are
/// read (matched by config hash and seed), so runs of another profile in the same store never
/// mix into this profile's figures.
/// </summary>
public static class GlueResults
{
    /// <summary>The finished (done or diverged) runs of <paramref name="experiment"/> that belong to the grid.</summary>
    public static List<GlueRun> Runs(ResultsStore store, string experiment, IEnumerable<GlueRunConfig> configs, IEnumerable<int> seeds)
    {
        var wanted = SweepRunner.Grid(configs, seeds).Select(job => (job.ConfigHash, job.Seed)).ToHashSet();
        var runs = new List<GlueRun>();
        foreach (var record in store.Runs(experiment))
        {
            if (record.Status is not (RunStatus.Done or RunStatus.Diverged) || !wanted.Contains((record.ConfigHash, record.Seed))) continue;
            var config = System.Text.Json.JsonSerializer.Deserialize<GlueRunConfig>(record.ConfigJson)!;
            double Metric(string name) => record.FinalMetrics.TryGetValue(name, out var v) ? v : double.NaN;
            runs.Add(new GlueRun(config.init, config.lr, config.lr_ratio, record.Seed, Metric("test_accuracy"), Metric("validation_accuracy"),
                                 Metric("train_loss"), record.Status == RunStatus.Diverged, Metric("chance_accuracy")));
        }
        return runs;
    }

    /// <summary>Runs grouped by (init, η, λ), ordered by init, then λ, then η.</summary>
    public static List<GlueCell> Cells(IEnumerable<GlueRun> runs) =>
        runs.GroupBy(r => (r.Init, r.Lr, r.LrRatio))
            .Select(g => new GlueCell(g.Key.Init, g.Key.Lr, g.Key.LrRatio, g.Count(),
                                      g.Average(r => r.TestAccuracy), StandardDeviation(g.Select(r => r.TestAccuracy).ToList()),
                                      g.Average(r => r.ValidationAccuracy), g.Average(r => r.TrainLoss), g.Count(r => r.Diverged)))
            .OrderBy(c => c.Init, StringComparer.Ordinal).ThenBy(c => c.LrRatio).ThenBy(c => c.Lr)
            .ToList();

    /// <summary>Chance level of the runs' test split (the majority-class accuracy, recorded with every run).</summary>
    public static double ChanceAccuracy(IEnumerable<GlueRun> runs) =>
        runs.Select(r => r.ChanceAccuracy).Where(double.IsFinite).DefaultIfEmpty(double.NaN).Max();

    /// <summary>Sample standard deviation (n − 1); 0 for a single value.</summary>
    public static double StandardDeviation(IReadOnlyList<double> values)
    {
        if (values.Count < 2) return 0;
        double mean = values.Average();
        return Math.Sqrt(values.Sum(v => (v - mean) * (v - mean)) / (values.Count - 1));
    }
}
