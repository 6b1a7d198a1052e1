namespace LoraLab.Optim;

/// <summary>A learning-rate multiplier as a pure function of the step (0-based): lr(t) = base_lr · factor(t).</summary>
public delegate double Schedule(long step);

/// <summary>
/// Learning-rate schedules. Warmup is linear from 0: factor(t) = t / warmup for t &lt; warmup, where
/// warmup = ⌈warmup_ratio · total_steps⌉ when given as a ratio (transformers' get_warmup_steps rounds up:
/// 150 steps at ratio 0.03 warm up for 5 steps, not 4).
/// </summary>
public static class Schedules
{
    public static Schedule Constant() => _ => 1.0;

    /// <summary>Linear warmup over <paramref name="warmup_steps"/>, then a constant rate: Hugging Face's
    /// get_constant_schedule_with_warmup. A run of any length is a prefix of a longer one with the same warmup, so one run
    /// checkpointed at several lengths stands for runs of each length.</summary>
    public static Schedule ConstantWithWarmup(long warmup_steps)
    {
        if (warmup_steps < 0) throw new ArgumentException($"warmup_steps must be 0 or positive, got {warmup_steps}", nameof(warmup_steps));
        return t => t < warmup_steps ? (double)t / warmup_steps : 1.0;
    }

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
    /// The continued-pretraining schedule of Biderman et al. 2024: LLM Foundry's
    /// InverseSquareRootWithWarmupScheduler. With w = warmup_steps, τ = timescale, c = cooldown_steps,
    /// T = total_steps, s = max(w, T − c) the start of the cooldown:
    /// <code>
    /// factor(t) = t / w                                                    t &lt; w
    ///           = d(t) = alpha_f_decay + (1 − alpha_f_decay) / √((t − w + τ) / τ)    w ≤ t &lt; s
    ///           = d(s) + min(1, (t − s) / c) · (alpha_f_cooldown − d(s))        s ≤ t   (linear cooldown)
    /// </code>
    /// alpha_f_decay is where the inverse square root would level off at infinite time: the paper used
    /// alpha_f_decay = 1, a flat rate after warmup (a trapezoid), then a linear cooldown to alpha_f_cooldown = 0.
    /// </summary>
    public static Schedule InverseSqrt(long warmup_steps, double timescale, long cooldown_steps, long total_steps,
                                       double alpha_f_decay = 0, double alpha_f_cooldown = 0)
    {
        if (!(timescale > 0)) throw new ArgumentException($"timescale must be positive, got {timescale}", nameof(timescale));
        if (warmup_steps < 0) throw new ArgumentException($"warmup_steps must be 0 or positive, got {warmup_steps}", nameof(warmup_steps));
        if (cooldown_steps < 0) throw new ArgumentException($"cooldown_steps must be 0 or positive, got {cooldown_steps}", nameof(cooldown_steps));
        if (total_steps <= 0) throw new ArgumentException($"total_steps must be positive, got {total_steps}", nameof(total_steps));
        // LLM Foundry's condition: otherwise the rate would rise again during the cooldown.
        if (alpha_f_decay < alpha_f_cooldown)
            throw new ArgumentException($"alpha_f_decay ({alpha_f_decay}) must be at least alpha_f_cooldown ({alpha_f_cooldown})", nameof(alpha_f_decay));
        double Decay(long t) => alpha_f_decay + (1 - alpha_f_decay) / Math.Sqrt((t - warmup_steps + timescale) / timescale);
        long cooldownStart = Math.Max(warmup_steps, total_steps - cooldown_steps);
        return t =>
        {
            if (t < warmup_steps) return (double)t / warmup_steps;
            if (t < cooldownStart) return Decay(t);
            double start = Decay(cooldownStart);
            if (cooldown_steps == 0) return start;
            double fraction = Math.Min(1.0, (double)(t - cooldownStart) / cooldown_steps);
            return start + fraction * (alpha_f_cooldown - start);
        };
    }

    /// <summary>Warmup steps for a ratio of the run, rounded up as transformers' TrainingArguments.get_warmup_steps does.</summary>
    public static long WarmupSteps(long total_steps, double warmup_ratio)
    {
        if (total_steps <= 0) throw new ArgumentException("total_steps must be positive", nameof(total_steps));
        if (warmup_ratio < 0 || warmup_ratio > 1) throw new ArgumentException($"warmup_ratio must be in [0, 1], got {warmup_ratio}", nameof(warmup_ratio));
        return (long)Math.Ceiling(warmup_ratio * total_steps);
    }
}
