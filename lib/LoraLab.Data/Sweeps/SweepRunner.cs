using System.Diagnostics;
using System.Globalization;
using LoraLab.Data.Results;

namespace LoraLab.Data.Sweeps;

/// <summary>Which part of a grid this process runs: shard <see cref="Index"/> of <see cref="Count"/> (written "i/n").</summary>
public readonly record struct Shard(int Index, int Count)
{
    public static readonly Shard All = new(0, 1);

    /// <summary>Parses "i/n", e.g. "2/4" (0-based index).</summary>
    public static Shard Parse(string text)
    {
        string[] parts = text.Split('/');
        if (parts.Length != 2 || !int.TryParse(parts[0], out int index) || !int.TryParse(parts[1], out int count) || count < 1 || index < 0 || index >= count)
            throw new FormatException($"Shard must be written i/n with 0 <= i < n, got '{text}'.");
        return new Shard(index, count);
    }

    /// <summary>A notebook's <c>shard</c> knob: "" (the default) trains the whole grid, "i/n" only that shard of it.</summary>
    public static Shard FromKnob(string shard) => shard == "" ? All : Parse(shard);

    /// <summary>
    /// Assignment by hash of (experiment, config hash, seed): every machine computes the same partition
    /// from the grid alone, with no coordination, and adding a configuration does not move the others.
    /// </summary>
    public bool Contains(string experiment, string configHash, int seed) =>
        (int)(StableHash.UInt64($"{experiment}|{configHash}|{seed}") % (ulong)Count) == Index;

    public override string ToString() => $"{Index}/{Count}";
}

/// <summary>One cell of a sweep grid.</summary>
public sealed record SweepJob<TConfig>(TConfig Config, string ConfigJson, string ConfigHash, int Seed);

/// <summary>What a call to <see cref="SweepRunner.Run{TConfig}"/> did. <see cref="Missing"/>: the runs of its shard that it
/// did not train because the sweep was render-only (<see cref="SweepOptions.RenderOnly"/>).</summary>
public sealed record SweepSummary(int GridSize, int InShard, int AlreadyFinished, int Done, int Diverged, int Failed, int ClaimedElsewhere, int Missing = 0);

public sealed class SweepOptions
{
    public Shard Shard { get; init; } = Shard.All;
    /// <summary>The sweep's first and last line (what it will run; what it did) go here; default standard output. TextWriter.Null silences.</summary>
    public TextWriter? Progress { get; init; }
    /// <summary>
    /// One line per run (done, diverged, failed, skipped) goes here. Default: <see cref="Progress"/>. A notebook points
    /// this at a log file so that its report shows the sweep's two summary lines, not hundreds of run lines.
    /// </summary>
    public TextWriter? Log { get; init; }
    /// <summary>
    /// With no <see cref="Log"/>: each sweep appends its run lines to the experiment's own log file (<see cref="SweepLog"/>,
    /// data/logs/{experiment}.log, or in <see cref="LogFolder"/>), opened for that sweep and closed after it, and its last
    /// line says where. What a notebook's sweep cell wants, without opening and closing the log itself.
    /// </summary>
    public bool LogToFile { get; init; }
    /// <summary>Where <see cref="LogToFile"/> writes; default data/logs of the repository.</summary>
    public string? LogFolder { get; init; }
    /// <summary>Recorded with each run, e.g. "cuda:0 (H100)".</summary>
    public string? Device { get; init; }
    /// <summary>Recorded with each run; default: <see cref="GitInfo.CurrentCommit"/>.</summary>
    public string? GitCommit { get; init; }
    /// <summary>Train nothing: count the runs the store lacks, say so, and list them in the log. Default: the process's
    /// render-only mode (<see cref="Sweeps.RenderOnly"/>, set by `lab run --render-only`).</summary>
    public bool RenderOnly { get; init; } = Sweeps.RenderOnly.IsOn;
}

/// <summary>
/// Runs every (configuration, seed) of a grid that the results store does not already have.
/// Done and diverged runs are skipped, so a sweep can be stopped (or killed) and simply started again;
/// runs left "running" by a dead process and runs that failed are tried again. An exception thrown by the
/// training delegate is recorded as a failed run with its message and the sweep moves on to the next cell.
/// </summary>
public sealed partial class SweepRunner(ResultsStore store, SweepOptions? options = null)
{
    private readonly SweepOptions _options = options ?? new SweepOptions();

    /// <summary>The grid in a fixed order: configurations in the given order, seeds inner.</summary>
    public static IReadOnlyList<SweepJob<TConfig>> Grid<TConfig>(IEnumerable<TConfig> configs, IEnumerable<int> seeds)
    {
        var seedList = seeds.ToList();
        var jobs = new List<SweepJob<TConfig>>();
        foreach (var config in configs)
        {
            string json = CanonicalJson.Serialize(config);
            string hash = CanonicalJson.Hash(json);
            jobs.AddRange(seedList.Select(seed => new SweepJob<TConfig>(config, json, hash, seed)));
        }
        return jobs;
    }

    public SweepSummary Run<TConfig>(string experiment, IEnumerable<TConfig> configs, IEnumerable<int> seeds,
        Func<TConfig, int, RunContext, RunOutcome> train)
    {
        using var logFile = LogFile(experiment);
        var progress = _options.Progress ?? Console.Out;
        var log = _options.Log ?? logFile ?? progress;
        string? commit = _options.GitCommit ?? GitInfo.CurrentCommit();
        var grid = Grid(configs, seeds);
        var mine = grid.Where(job => _options.Shard.Contains(experiment, job.ConfigHash, job.Seed)).ToList();
        if (_options.RenderOnly) return Render(experiment, grid, mine, progress, log);
        int alreadyFinished = 0, done = 0, diverged = 0, failed = 0, claimedElsewhere = 0;
        progress.WriteLine($"[{experiment}] shard {_options.Shard}: {mine.Count} of {grid.Count} runs");

        for (int i = 0; i < mine.Count; i++)
        {
            var job = mine[i];
            string label = $"[{experiment}] {i + 1}/{mine.Count} config {job.ConfigHash} seed {job.Seed}";
            if (store.FinishedRun(experiment, job.ConfigHash, job.Seed) is not null)
            {
                alreadyFinished++;
                continue;
            }
            long? runId = store.TryStartRun(experiment, job.ConfigJson, job.ConfigHash, job.Seed, _options.Device, commit);
            if (runId is null)
            {
                // Finished or claimed by another live process between our check and the claim.
                claimedElsewhere++;
                log.WriteLine($"{label}: taken by another process, skipped");
                continue;
            }

            var context = new RunContext(store, runId.Value, experiment, job.ConfigHash, job.Seed);
            var clock = Stopwatch.StartNew();
            try
            {
                RunOutcome outcome = train(job.Config, job.Seed, context);
                var finalMetrics = new Dictionary<string, double>(context.FinalMetrics, StringComparer.Ordinal);
                foreach (var (name, value) in outcome.FinalMetrics)
                    finalMetrics[name] = value;
                bool isDiverged = outcome.Status == RunStatus.Diverged || context.DivergenceReason is not null;
                string? note = context.DivergenceReason ?? outcome.Note;
                store.FinishRun(runId.Value, isDiverged ? RunStatus.Diverged : RunStatus.Done,
                    isDiverged ? note : null, finalMetrics, context.TakePending());
                if (isDiverged) diverged++; else done++;
                log.WriteLine($"{label}: {(isDiverged ? "diverged (" + note + ")" : "done")} in {clock.Elapsed.TotalSeconds:F1}s {Summary(finalMetrics)}");
            }
            catch (Exception e)
            {
                failed++;
                store.FinishRun(runId.Value, RunStatus.Failed, e.ToString(), context.FinalMetrics, context.TakePending());
                log.WriteLine($"{label}: FAILED after {clock.Elapsed.TotalSeconds:F1}s: {e.GetType().Name}: {e.Message}");
            }
        }

        var summary = new SweepSummary(grid.Count, mine.Count, alreadyFinished, done, diverged, failed, claimedElsewhere);
        log.Flush();
        progress.WriteLine($"[{experiment}] finished: {done} done, {diverged} diverged, {failed} failed, {alreadyFinished} already finished, {claimedElsewhere} skipped{LogNote(experiment)}");
        return summary;
    }

    /// <summary>
    /// Like <see cref="Run{TConfig}"/>, but trains the pending runs in ensembles: runs whose <paramref name="ensembleKey"/>
    /// is equal (the same shapes) go to <paramref name="trainEnsemble"/> together, at most <paramref name="ensembleSize"/>
    /// at a time, which returns one outcome per run in order. Each run is claimed, recorded and finished in the store as
    /// <see cref="Run{TConfig}"/> records it, so the store, resume and shards do not know the difference. An ensemble that
    /// throws is recorded as failed, run by run.
    /// </summary>
    public SweepSummary RunEnsembles<TConfig, TKey>(string experiment, IEnumerable<TConfig> configs, IEnumerable<int> seeds,
        Func<TConfig, TKey> ensembleKey, int ensembleSize,
        Func<IReadOnlyList<(TConfig config, int seed, RunContext context)>, IReadOnlyList<RunOutcome>> trainEnsemble) where TKey : notnull
    {
        if (ensembleSize < 1) throw new ArgumentOutOfRangeException(nameof(ensembleSize), ensembleSize, "an ensemble has at least one run");
        using var logFile = LogFile(experiment);
        var progress = _options.Progress ?? Console.Out;
        var log = _options.Log ?? logFile ?? progress;
        string? commit = _options.GitCommit ?? GitInfo.CurrentCommit();
        var grid = Grid(configs, seeds);
        var mine = grid.Where(job => _options.Shard.Contains(experiment, job.ConfigHash, job.Seed)).ToList();
        if (_options.RenderOnly) return Render(experiment, grid, mine, progress, log);
        int alreadyFinished = mine.Count(job => store.FinishedRun(experiment, job.ConfigHash, job.Seed) is not null);
        int done = 0, diverged = 0, failed = 0, claimedElsewhere = 0;
        progress.WriteLine($"[{experiment}] shard {_options.Shard}: {mine.Count} of {grid.Count} runs, in ensembles of up to {ensembleSize}");

        var pending = mine.Where(job => store.FinishedRun(experiment, job.ConfigHash, job.Seed) is null).ToList();
        foreach (var sameShape in pending.GroupBy(job => ensembleKey(job.Config)))
            foreach (var chunk in sameShape.Chunk(ensembleSize))
            {
                var counts = TrainChunk(experiment, chunk, trainEnsemble, commit, log);
                (done, diverged, failed, claimedElsewhere) = (done + counts.done, diverged + counts.diverged, failed + counts.failed, claimedElsewhere + counts.claimedElsewhere);
            }

        var summary = new SweepSummary(grid.Count, mine.Count, alreadyFinished, done, diverged, failed, claimedElsewhere);
        log.Flush();
        progress.WriteLine($"[{experiment}] finished: {done} done, {diverged} diverged, {failed} failed, {alreadyFinished} already finished, {claimedElsewhere} skipped{LogNote(experiment)}");
        return summary;
    }

    /// <summary>Claims the runs of one chunk, trains those it got as one ensemble (or alone), and records each.</summary>
    private (int done, int diverged, int failed, int claimedElsewhere) TrainChunk<TConfig>(string experiment, IReadOnlyList<SweepJob<TConfig>> chunk,
        Func<IReadOnlyList<(TConfig config, int seed, RunContext context)>, IReadOnlyList<RunOutcome>> train, string? commit, TextWriter log)
    {
        int done = 0, diverged = 0, failed = 0, claimedElsewhere = 0;
        var claimed = new List<(SweepJob<TConfig> job, RunContext context)>();
        foreach (var job in chunk)
        {
            long? runId = store.TryStartRun(experiment, job.ConfigJson, job.ConfigHash, job.Seed, _options.Device, commit);
            if (runId is null) { claimedElsewhere++; continue; }
            claimed.Add((job, new RunContext(store, runId.Value, experiment, job.ConfigHash, job.Seed)));
        }
        if (claimed.Count == 0) return (0, 0, 0, claimedElsewhere);
        var clock = Stopwatch.StartNew();
        IReadOnlyList<RunOutcome>? outcomes = null;
        Exception? error = null;
        try
        {
            outcomes = train(claimed.Select(x => (x.job.Config, x.job.Seed, x.context)).ToList());
            if (outcomes.Count != claimed.Count)
                throw new InvalidOperationException($"the ensemble returned {outcomes.Count} outcomes for {claimed.Count} runs");
        }
        catch (Exception e) { error = e; }
        for (int i = 0; i < claimed.Count; i++)
        {
            var (job, context) = claimed[i];
            string label = $"[{experiment}] config {job.ConfigHash} seed {job.Seed}" + (claimed.Count > 1 ? $" (ensemble of {claimed.Count})" : "");
            if (error is not null)
            {
                failed++;
                store.FinishRun(context.RunId, RunStatus.Failed, error.ToString(), context.FinalMetrics, context.TakePending());
                log.WriteLine($"{label}: FAILED after {clock.Elapsed.TotalSeconds:F1}s: {error.GetType().Name}: {error.Message}");
                continue;
            }
            var outcome = outcomes![i];
            var finalMetrics = new Dictionary<string, double>(context.FinalMetrics, StringComparer.Ordinal);
            foreach (var (name, value) in outcome.FinalMetrics) finalMetrics[name] = value;
            bool isDiverged = outcome.Status == RunStatus.Diverged || context.DivergenceReason is not null;
            string? note = context.DivergenceReason ?? outcome.Note;
            store.FinishRun(context.RunId, isDiverged ? RunStatus.Diverged : RunStatus.Done, isDiverged ? note : null, finalMetrics, context.TakePending());
            if (isDiverged) diverged++; else done++;
            log.WriteLine($"{label}: {(isDiverged ? "diverged (" + note + ")" : "done")} in {clock.Elapsed.TotalSeconds:F1}s {Summary(finalMetrics)}");
        }
        return (done, diverged, failed, claimedElsewhere);
    }

    /// <summary>A render-only sweep: trains nothing; says how many of its runs the store has, and lists the others (config
    /// hash, seed and config) in the log, so that what is missing can be read, and trained elsewhere.</summary>
    private SweepSummary Render<TConfig>(string experiment, IReadOnlyList<SweepJob<TConfig>> grid, IReadOnlyList<SweepJob<TConfig>> mine,
                                         TextWriter progress, TextWriter log)
    {
        var missing = mine.Where(job => store.FinishedRun(experiment, job.ConfigHash, job.Seed) is null).ToList();
        foreach (var job in missing)
            log.WriteLine($"[{experiment}] missing (render-only): config {job.ConfigHash} seed {job.Seed} {job.ConfigJson}");
        log.Flush();
        progress.WriteLine($"[{experiment}] render-only: {mine.Count - missing.Count} of {mine.Count} runs in the store" +
                           (missing.Count == 0 ? ", none missing" : $"; {missing.Count} missing, not trained ({RenderOnly.HowToTrain}){LogNote(experiment)}"));
        return new SweepSummary(grid.Count, mine.Count, mine.Count - missing.Count, 0, 0, 0, 0, Missing: missing.Count);
    }

    // Whether the run lines go to the experiment's own log file: LogToFile, and no Log given.
    private bool LogsToFile => _options.Log is null && _options.LogToFile;

    // The experiment's log file, opened for one sweep, when the run lines go there; else null.
    private StreamWriter? LogFile(string experiment) => LogsToFile ? SweepLog.Open(experiment, _options.LogFolder) : null;

    // "; one line per run in data/logs/x.log" when the run lines went to the experiment's log file.
    private string LogNote(string experiment) => LogsToFile ? $"; one line per run in {SweepLog.PathOf(experiment, _options.LogFolder)}" : "";

    private static string Summary(IReadOnlyDictionary<string, double> metrics) =>
        string.Join(" ", metrics.OrderBy(m => m.Key, StringComparer.Ordinal)
            .Select(m => $"{m.Key}={m.Value.ToString("G4", CultureInfo.InvariantCulture)}"));
}
