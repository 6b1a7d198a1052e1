using LoraLab.Data.Results;

namespace LoraLab.Data.Sweeps;

/// <summary>
/// Handed to a training delegate so it can report as it goes. Step metrics are buffered and written in
/// batches (one transaction per <see cref="FlushEvery"/> points) because a transaction per value would
/// make logging the bottleneck; the last batch is written together with the final status.
/// </summary>
public sealed class RunContext
{
    public const int FlushEvery = 256;

    private readonly ResultsStore _store;
    private readonly List<(long Step, string Name, double Value)> _pending = [];
    private readonly Dictionary<string, double> _finalMetrics = new(StringComparer.Ordinal);

    internal RunContext(ResultsStore store, long runId, string experiment, string configHash, int seed)
    {
        _store = store;
        RunId = runId;
        Experiment = experiment;
        ConfigHash = configHash;
        Seed = seed;
    }

    public long RunId { get; }
    public string Experiment { get; }
    public string ConfigHash { get; }
    public int Seed { get; }

    /// <summary>Set by <see cref="MarkDiverged"/>; the run is then recorded as diverged whatever the delegate returns.</summary>
    public string? DivergenceReason { get; private set; }

    public void LogMetric(long step, string name, double value)
    {
        _pending.Add((step, name, value));
        if (_pending.Count >= FlushEvery)
            Flush();
    }

    public void LogMetrics(long step, IReadOnlyDictionary<string, double> values)
    {
        foreach (var (name, value) in values)
            LogMetric(step, name, value);
    }

    /// <summary>A final metric (e.g. test accuracy); merged with the ones in the returned <see cref="RunOutcome"/>.</summary>
    public void SetFinalMetric(string name, double value) => _finalMetrics[name] = value;

    /// <summary>Declares the run diverged (e.g. loss became NaN); training code may then return early.</summary>
    public void MarkDiverged(string reason) => DivergenceReason = reason;

    /// <summary>Writes buffered step metrics now.</summary>
    public void Flush()
    {
        _store.AppendMetrics(RunId, _pending.ToList());
        _pending.Clear();
    }

    internal IReadOnlyCollection<(long Step, string Name, double Value)> TakePending()
    {
        var points = _pending.ToList();
        _pending.Clear();
        return points;
    }

    internal Dictionary<string, double> FinalMetrics => _finalMetrics;
}
