namespace LoraLab.Data.Sweeps;

/// <summary>
/// A kind of run that a sweep can train alone, as an ensemble of runs of one shape, and in worker processes: static
/// members of a library type, so that a worker started from the command line (<c>lab sweep-worker</c>) finds them by
/// the type's name. A notebook's own training function can still be swept with <see cref="SweepRunner.Run{TConfig}"/>.
/// </summary>
public interface ISweepTask<TConfig>
{
    /// <summary>Runs whose keys are equal can train together as one ensemble (the same shapes and loop length).</summary>
    static abstract string EnsembleKey(TConfig config);

    /// <summary>How many runs of this configuration's shape one ensemble may hold (memory and speed bound it).</summary>
    static abstract int MaxEnsembleSize(TConfig config);

    /// <summary>One run, recorded in its context.</summary>
    static abstract RunOutcome Train(TConfig config, int seed, RunContext context);

    /// <summary>Runs of one key trained as one ensemble; one outcome per run, in order.</summary>
    static abstract IReadOnlyList<RunOutcome> TrainEnsemble(IReadOnlyList<(TConfig config, int seed, RunContext context)> runs);
}

/// <summary>How a task sweep spreads its runs: up to <see cref="EnsembleSize"/> runs of one shape trained as one
/// (0: the task's maximum), over <see cref="Workers"/> processes (0: one per core, when there is enough to share).</summary>
public sealed record SweepParallelism(int EnsembleSize = 0, int Workers = 0)
{
    public static readonly SweepParallelism Serial = new(1, 1);

    /// <summary>The automatic size of the ensembles of a group of <paramref name="runs"/> runs: at most
    /// <paramref name="largest"/> (the task's maximum), cut into a multiple of <paramref name="workers"/> ensembles of
    /// nearly equal size, so that no worker idles while another trains a last, larger ensemble (20 runs, at most 8 a
    /// piece, over 2 workers: four of 5, not 8 + 8 + 4).</summary>
    public static int BalancedEnsembleSize(int runs, int largest, int workers)
    {
        largest = Math.Max(1, largest);
        workers = Math.Max(1, workers);
        int count = Math.Max(1, (runs + largest - 1) / largest);             // the fewest ensembles the size allows
        if (runs > 1) count = (count + workers - 1) / workers * workers;      // a multiple of the workers
        return Math.Clamp((runs + count - 1) / count, 1, largest);
    }
}

/// <summary>A task whose runs always train one at a time (the config itself is the ensemble key, an ensemble holds one
/// run): it implements <see cref="ISweepTask{TConfig}.Train"/> alone. <typeparamref name="TSelf"/> is the task itself.</summary>
public interface ISoloSweepTask<TSelf, TConfig> : ISweepTask<TConfig> where TSelf : ISoloSweepTask<TSelf, TConfig>
{
    static string ISweepTask<TConfig>.EnsembleKey(TConfig config) => CanonicalJson.Serialize(config);
    static int ISweepTask<TConfig>.MaxEnsembleSize(TConfig config) => 1;
    static IReadOnlyList<RunOutcome> ISweepTask<TConfig>.TrainEnsemble(IReadOnlyList<(TConfig config, int seed, RunContext context)> runs) =>
        runs.Select(x => TSelf.Train(x.config, x.seed, x.context)).ToList();
}
