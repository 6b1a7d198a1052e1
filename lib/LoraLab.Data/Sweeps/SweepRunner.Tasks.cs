using LoraLab.Data.Results;

namespace LoraLab.Data.Sweeps;

// Sweeps of a library task (ISweepTask): ensembles and worker processes chosen for the caller.
public sealed partial class SweepRunner
{
    /// <summary>
    /// Runs every (configuration, seed) of the grid that the store does not have yet, as <typeparamref name="TTask"/>
    /// trains them: runs of one ensemble key go together, up to the ensemble size, and the ensembles are shared by worker
    /// processes (each with its share of the cores, all writing to this store, each claiming an ensemble's runs before
    /// training them, so none is trained twice). What lands in the store is what <see cref="Run{TConfig}"/> would store.
    /// A single run (an ensemble of one) goes through TTask.Train, exactly as one run alone.
    /// </summary>
    public SweepSummary Run<TTask, TConfig>(string experiment, IEnumerable<TConfig> configs, IEnumerable<int> seeds,
                                           SweepParallelism? parallelism = null) where TTask : ISweepTask<TConfig>
    {
        parallelism ??= new SweepParallelism();
        using var logFile = LogFile(experiment);
        var progress = _options.Progress ?? Console.Out;
        var log = _options.Log ?? logFile ?? progress;
        var seedList = seeds.ToList();
        var configList = configs.ToList();
        var grid = Grid(configList, seedList);
        var mine = grid.Where(job => _options.Shard.Contains(experiment, job.ConfigHash, job.Seed)).ToList();
        if (_options.RenderOnly) return Render(experiment, grid, mine, progress, log);
        var pending = mine.Where(job => store.FinishedRun(experiment, job.ConfigHash, job.Seed) is null).ToList();
        int workers = parallelism.Workers > 0 ? parallelism.Workers : Environment.ProcessorCount;
        string? why = null;
        if (workers > 1 && pending.Count > 1 && !SweepWorkers.CanStart(typeof(TTask), out why)) workers = 1;
        var chunks = Chunks<TTask, TConfig>(pending, parallelism.EnsembleSize, workers);
        workers = Math.Max(1, Math.Min(workers, chunks.Count));
        int largest = chunks.Select(c => c.Length).DefaultIfEmpty(0).Max();
        progress.WriteLine($"[{experiment}] shard {_options.Shard}: {mine.Count} of {grid.Count} runs, {pending.Count} to train " +
                           (largest <= 1 ? "one at a time" : $"in {chunks.Count} ensemble{(chunks.Count == 1 ? "" : "s")} (up to {largest} runs each)") +
                           (workers > 1 ? $" over {workers} worker processes" : why is null ? "" : $"; one process ({why})"));

        var started = workers > 1
            ? SweepWorkers.Start(new SweepWorkers.Job(store.Path, experiment, typeof(TTask).AssemblyQualifiedName!, typeof(TConfig).AssemblyQualifiedName!,
                                                      configList.Select(c => CanonicalJson.Serialize<TConfig>(c)).ToList(), seedList, _options.Shard.ToString(),
                                                      parallelism.EnsembleSize, _options.Device, workers), log)
            : SweepWorkers.None;
        // This process is worker 0; afterwards it takes whatever the others left (a worker that died leaves its runs
        // "running" under a dead process id, which TryStartRun claims again).
        TrainChunks<TTask, TConfig>(experiment, chunks, worker: 0, workers, log);
        started.WaitForAll();
        TrainChunks<TTask, TConfig>(experiment, chunks, worker: 0, workers: 1, log);

        var after = pending.Select(job => store.FinishedRun(experiment, job.ConfigHash, job.Seed)?.Status).ToList();
        int done = after.Count(s => s == RunStatus.Done), diverged = after.Count(s => s == RunStatus.Diverged);
        var summary = new SweepSummary(grid.Count, mine.Count, mine.Count - pending.Count, done, diverged, pending.Count - done - diverged, 0);
        log.Flush();
        progress.WriteLine($"[{experiment}] finished: {done} done, {diverged} diverged, {summary.Failed} failed, {summary.AlreadyFinished} already finished" +
                           (started.Failures > 0 ? $"; {started.Failures} worker process(es) failed (their logs: {string.Join(", ", started.Logs)})" : "") +
                           LogNote(experiment));
        return summary;
    }

    /// <summary>
    /// One run of a task, alone (a notebook's "one run" cell): trained unless the store has it finished, then read back.
    /// Null when there is no finished run to show: render-only and not in the store, or the run failed; either is said
    /// on standard output (the cell's output), whatever <see cref="SweepOptions.Progress"/> is.
    /// </summary>
    public GridRun<TConfig>? One<TTask, TConfig>(string experiment, TConfig config, int seed) where TTask : ISweepTask<TConfig>
    {
        Run<TTask, TConfig>(experiment, [config], [seed], SweepParallelism.Serial);
        var run = store.Grid(experiment, [config], [seed]).SingleOrDefault();
        if (run is null)
            Console.WriteLine(_options.RenderOnly
                ? $"[{experiment}] this run (seed {seed}) is not in the store {store.Path}; render-only: nothing trained, nothing to show"
                : $"[{experiment}] this run (seed {seed}) did not finish: its error is in the store ({store.Path}: lab results list)");
        return run;
    }

    /// <summary>
    /// The pending runs in ensembles: grouped by key, each group cut into ensembles of at most the size. The automatic
    /// size (<paramref name="ensembleSize"/> 0) is the task's maximum, made smaller where that would leave a worker idle:
    /// a group is cut into a multiple of <paramref name="workers"/> ensembles of equal size (20 runs, at most 8 a
    /// piece, over 2 workers: four of 5, not 8 + 8 + 4, which keeps one worker busy for the last 4 while the other waits).
    /// </summary>
    internal static List<SweepJob<TConfig>[]> Chunks<TTask, TConfig>(IEnumerable<SweepJob<TConfig>> pending, int ensembleSize, int workers = 1)
        where TTask : ISweepTask<TConfig> =>
        pending.GroupBy(job => TTask.EnsembleKey(job.Config))
               .SelectMany(group =>
               {
                   var runs = group.ToList();
                   return runs.Chunk(ensembleSize > 0 ? ensembleSize : SweepParallelism.BalancedEnsembleSize(runs.Count, TTask.MaxEnsembleSize(runs[0].Config), workers));
               })
               .ToList();

    /// <summary>Worker <paramref name="worker"/> of <paramref name="workers"/>: every ensemble, starting at its own share
    /// of the list, so that the workers begin on different ensembles and meet only at the end.</summary>
    internal void TrainChunks<TTask, TConfig>(string experiment, List<SweepJob<TConfig>[]> chunks, int worker, int workers, TextWriter log)
        where TTask : ISweepTask<TConfig>
    {
        string? commit = _options.GitCommit ?? GitInfo.CurrentCommit();
        int start = chunks.Count * worker / Math.Max(1, workers);
        for (int i = 0; i < chunks.Count; i++)
        {
            var chunk = chunks[(start + i) % chunks.Count]
                .Where(job => store.FinishedRun(experiment, job.ConfigHash, job.Seed) is null).ToList();
            if (chunk.Count == 0) continue;
            TrainChunk(experiment, chunk, runs => runs.Count == 1
                ? new[] { TTask.Train(runs[0].config, runs[0].seed, runs[0].context) }
                : TTask.TrainEnsemble(runs), commit, log);
        }
    }
}
