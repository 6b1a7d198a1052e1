using System.Text.Json;
using LoraLab.Data.Sweeps;

namespace LoraLab.Data.Results;

/// <summary>
/// One finished (done or diverged) run of a sweep, with its configuration read back as the notebook's own type.
/// <c>run["test_accuracy"]</c> is a final metric, NaN when the run did not record it.
/// </summary>
public sealed record GridRun<TConfig>(TConfig Config, string ConfigHash, int Seed, RunStatus Status,
    IReadOnlyDictionary<string, double> Metrics, long RunId)
{
    public bool Diverged => Status == RunStatus.Diverged;

    public double this[string metric] => Metrics.TryGetValue(metric, out double value) ? value : double.NaN;
}

/// <summary>The one read-back query every notebook uses: a grid of runs with their configurations and final metrics.</summary>
public sealed partial class ResultsStore
{
    /// <summary>
    /// The finished runs of exactly this grid (configurations × seeds, hashed as <see cref="SweepRunner"/> hashes them),
    /// in grid order; cells not run yet, or that failed, are left out. Runs of other configurations under the same
    /// experiment name (an older recipe, another profile) are never mixed in.
    /// </summary>
    public IReadOnlyList<GridRun<TConfig>> Grid<TConfig>(string experiment, IEnumerable<TConfig> configs, IEnumerable<int> seeds)
    {
        var finished = FinishedRuns(experiment).ToDictionary(run => (run.ConfigHash, run.Seed));
        var runs = new List<GridRun<TConfig>>();
        foreach (var job in SweepRunner.Grid(configs, seeds))
            if (finished.TryGetValue((job.ConfigHash, job.Seed), out var run))
                runs.Add(new GridRun<TConfig>(job.Config, job.ConfigHash, job.Seed, run.Status, run.FinalMetrics, run.Id));
        return runs;
    }

    /// <summary>Every finished run of an experiment, its configuration deserialized from the stored JSON.</summary>
    public IReadOnlyList<GridRun<TConfig>> Grid<TConfig>(string experiment) =>
        FinishedRuns(experiment)
            .Select(run => new GridRun<TConfig>(CanonicalJson.Deserialize<TConfig>(run.ConfigJson), run.ConfigHash, run.Seed,
                run.Status, run.FinalMetrics, run.Id))
            .ToList();

    private IEnumerable<RunRecord> FinishedRuns(string experiment) =>
        Runs(experiment).Where(run => run.Status is RunStatus.Done or RunStatus.Diverged);
}
