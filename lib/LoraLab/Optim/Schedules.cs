namespace LoraLab.Optim;

/// <summary>A learning-rate multiplier as a pure function of the step (0-based): lr(t) = base_lr · factor(t).</summary>
public delegate double Schedule(long step);

/// <summary>
/// Learning-rate schedules. Warmup is linear from 0: factor(t) = t / warmup for t &lt; warmup, where
/// warmup = round(warmup_ratio · total_steps) when given as a ratio.
/// </summary>
public static class Schedules
{
    public static Schedule Constant() => _ => 1.0;

    /// <summary>Linear warmup, then linear decay to 0 at total_steps: (total − t) / (total − warmup).
    /// Hugging Face's get_linear_schedule_with_warmup.</summary>
    public static Schedule Linear(long total_steps, double warmup_ratio = 0)
    {
        long warmup = WarmupSteps(total_steps, warmup_ratio);
        return t => t < warmup ? (double)t / warmup : Math.Max(0.0, (double)(total_steps - t) / Math.Max(1, total_steps - warmup));
    }

    /// <summary>Linear warmup, then half a cosine from 1 down to min_ratio at total_steps:
    /// min + (1 − min) · ½ (1 + cos(π · (t − warmup) / (total − warmup))).</summary>
    public static Schedule Cosine(long total_steps, double warmup_ratio = 0, double min_ratio = 0)
    {
        long warmup = WarmupSteps(total_steps, warmup_ratio);
        return t =>
        {
            if (t < warmup) return (double)t / warmup;
            double progress = Math.Min(1.0, (double)(t - warmup) / Math.Max(1, total_steps - warmup));
            return min_ratio + (1 - min_ratio) * 0.5 * (1 + Math.Cos(Math.PI * progress));
        };
    }

    /// <summary>
    /// The continued-pretraining schedule of Biderman et al. 2024 (LLM Foundry's inverse square root
    /// with warmup and cooldown). With w = warmup_steps, τ = timescale, c = cooldown_steps, T = total_steps:
    /// <code>
    /// factor(t) = t / w                                           t &lt; w
    ///           = f(t) = 1 / √(1 + (t − w) / τ)                    w ≤ t &lt; T − c
    ///           = alpha_f + (f(T − c) − alpha_f) · (T − t) / c     T − c ≤ t ≤ T   (linear cooldown)
    /// </code>
    /// </summary>
    public static Schedule InverseSqrt(long warmup_steps, double timescale, long cooldown_steps, long total_steps, double alpha_f = 0)
    {
        if (!(timescale > 0)) throw new ArgumentException("timescale must be positive", nameof(timescale));
        if (warmup_steps + cooldown_steps > total_steps) throw new ArgumentException("warmup + cooldown exceed total_steps", nameof(cooldown_steps));
        double Decay(long t) => 1.0 / Math.Sqrt(1.0 + (t - warmup_steps) / timescale);
        long cooldownStart = total_steps - cooldown_steps;
        return t =>
        {
            if (t < warmup_steps) return (double)t / warmup_steps;
            if (t < cooldownStart || cooldown_steps == 0) return Decay(t);
            double fraction = Math.Clamp((double)(total_steps - t) / cooldown_steps, 0, 1);
            return alpha_f + (Decay(cooldownStart) - alpha_f) * fraction;
        };
    }

    private static long WarmupSteps(long total_steps, double warmup_ratio)
    {
        if (total_steps <= 0) throw new ArgumentException("total_steps must be positive", nameof(total_steps));
        if (warmup_ratio < 0 || warmup_ratio > 1) throw new ArgumentException($"warmup_ratio must be in [0, 1], got {warmup_ratio}", nameof(warmup_ratio));
        return (long)Math.Round(warmup_ratio * total_steps);
    }
}
