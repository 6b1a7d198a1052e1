namespace LoraLab.Training;

/// <summary>How a training loop ended, with everything it measured.</summary>
public sealed record TrainingResult(
    bool Diverged,
    string? DivergenceReason,
    long Steps,
    double FinalTrainLoss,
    double? FinalEvalLoss,
    IReadOnlyList<(long step, string name, double value)> Metrics,
    TimeSpan Elapsed,
    long Tokens)
{
    /// <summary>The values of one metric in step order.</summary>
    public IReadOnlyList<(long step, double value)> Series(string name) =>
        Metrics.Where(m => m.name == name).Select(m => (m.step, m.value)).ToList();
}
