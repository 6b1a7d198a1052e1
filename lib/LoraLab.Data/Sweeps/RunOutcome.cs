using LoraLab.Data.Results;

namespace LoraLab.Data.Sweeps;

/// <summary>
/// What a training delegate returns: it finished (Done) or its loss blew up (Diverged), with its final
/// metrics. A crash is not an outcome — throw, and the sweep records the run as failed.
/// </summary>
public sealed record RunOutcome(RunStatus Status, IReadOnlyDictionary<string, double> FinalMetrics, string? Note = null)
{
    public static RunOutcome Done(IReadOnlyDictionary<string, double>? finalMetrics = null) =>
        new(RunStatus.Done, finalMetrics ?? new Dictionary<string, double>());

    public static RunOutcome Diverged(string reason, IReadOnlyDictionary<string, double>? finalMetrics = null) =>
        new(RunStatus.Diverged, finalMetrics ?? new Dictionary<string, double>(), reason);
}
