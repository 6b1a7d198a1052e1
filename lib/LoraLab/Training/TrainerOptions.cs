namespace LoraLab.Training;

/// <summary>The knobs of a training loop; each has a sensible default.</summary>
public sealed record TrainerOptions
{
    /// <summary>Optimizer steps to take.</summary>
    public long MaxSteps { get; init; } = 100;

    /// <summary>Micro-batches whose gradients are summed (averaged) into one optimizer step.</summary>
    public int GradientAccumulation { get; init; } = 1;

    /// <summary>Evaluate every this many steps (0: only at the end).</summary>
    public int EvalEvery { get; init; }

    /// <summary>Clip gradients to this global L2 norm before each step (0: no clipping).</summary>
    public double ClipGradNorm { get; init; }

    /// <summary>The run diverges when the loss is NaN or infinite, or exceeds this multiple of the
    /// first step's loss (averaged over <see cref="DivergenceWindow"/> steps to ignore one spike).</summary>
    public double DivergenceFactor { get; init; } = 10;

    public int DivergenceWindow { get; init; } = 5;

    /// <summary>Record the training loss every this many steps.</summary>
    public int LogEvery { get; init; } = 1;

    /// <summary>The label of the progress display (null: no progress display).</summary>
    public string? ProgressLabel { get; init; } = "training";

    public void Validate()
    {
        if (MaxSteps < 1) throw new ArgumentOutOfRangeException(nameof(MaxSteps), MaxSteps, "MaxSteps must be at least 1");
        if (GradientAccumulation < 1) throw new ArgumentOutOfRangeException(nameof(GradientAccumulation), GradientAccumulation, "GradientAccumulation must be at least 1");
        if (EvalEvery < 0) throw new ArgumentOutOfRangeException(nameof(EvalEvery), EvalEvery, "EvalEvery must be 0 or positive");
        if (ClipGradNorm < 0) throw new ArgumentOutOfRangeException(nameof(ClipGradNorm), ClipGradNorm, "ClipGradNorm must be 0 (off) or positive");
        if (DivergenceFactor <= 1) throw new ArgumentOutOfRangeException(nameof(DivergenceFactor), DivergenceFactor, "DivergenceFactor must exceed 1");
        if (LogEvery < 1) throw new ArgumentOutOfRangeException(nameof(LogEvery), LogEvery, "LogEvery must be at least 1");
    }
}
