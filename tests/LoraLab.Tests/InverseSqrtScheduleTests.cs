using LoraLab.Optim;

namespace LoraLab.Tests;

/// <summary>Schedules.InverseSqrt against LLM Foundry's InverseSquareRootWithWarmupScheduler, and warmup steps from a ratio.</summary>
public class InverseSqrtScheduleTests
{
    // LLM Foundry's own test cases (tests/optim/test_scheduler.py), max_duration 100 batches.
    [Theory]
    [InlineData(10, 10, 0, 0.0, 0.0, new long[] { 0, 5, 10, 40, 90, 100 }, new[] { 0.0, 0.5, 1.0, 0.5, 0.33333, 0.31623 })]
    [InlineData(20, 2, 10, 0.4, 0.1, new long[] { 0, 10, 20, 36, 90, 95, 100 }, new[] { 0.0, 0.5, 1.0, 0.6, 0.5, 0.3, 0.1 })]
    public void InverseSqrt_matches_llm_foundrys_test_values(long warmup, double scale, long cooldown, double decay, double cool, long[] steps, double[] expected)
    {
        var schedule = Schedules.InverseSqrt(warmup, scale, cooldown, total_steps: 100, alpha_f_decay: decay, alpha_f_cooldown: cool);
        for (int i = 0; i < steps.Length; i++) Assert.Equal(expected[i], schedule(steps[i]), 5);
    }

    [Fact]
    public void InverseSqrt_matches_llm_foundrys_formula_at_chosen_steps()
    {
        // α(t) = t/w; α_d + (1 − α_d)/√((t − w + τ)/τ); then linear from α(s) to α_c over the cooldown, s = max(w, T − c).
        const long w = 15, c = 40, T = 200;
        const double tau = 25, decay = 0.2, cool = 0.05;
        var schedule = Schedules.InverseSqrt(w, tau, c, T, decay, cool);
        double Decay(long t) => decay + (1 - decay) / Math.Sqrt((t - w + tau) / tau);
        foreach (long t in new long[] { 0, 7, 14 }) Assert.Equal((double)t / w, schedule(t), 12);
        foreach (long t in new long[] { 15, 16, 60, 159 }) Assert.Equal(Decay(t), schedule(t), 12);
        foreach (long t in new long[] { 160, 170, 199, 200, 250 })
            Assert.Equal(Decay(160) + Math.Min(1.0, (t - 160) / 40.0) * (cool - Decay(160)), schedule(t), 12);
    }

    [Fact]
    public void Alpha_f_decay_1_is_flat_after_warmup_then_a_linear_cooldown_to_0()
    {
        // The paper's setting: inv_sqrt_with_warmup(alpha_f_decay=1, alpha_f_cooldown=0), "very much like a trapezoid".
        var schedule = Schedules.InverseSqrt(warmup_steps: 10, timescale: 5, cooldown_steps: 20, total_steps: 100, alpha_f_decay: 1);
        Assert.Equal(0.5, schedule(5), 12);
        for (long t = 10; t < 80; t++) Assert.Equal(1.0, schedule(t), 12);
        Assert.Equal(0.75, schedule(85), 12);
        Assert.Equal(0.5, schedule(90), 12);
        Assert.Equal(0.0, schedule(100), 12);
    }

    [Fact]
    public void A_cooldown_longer_than_the_run_after_warmup_starts_at_the_end_of_warmup()
    {
        var schedule = Schedules.InverseSqrt(warmup_steps: 10, timescale: 5, cooldown_steps: 200, total_steps: 100, alpha_f_decay: 1);
        Assert.Equal(1.0, schedule(10), 12);
        Assert.Equal(1 - 50 / 200.0, schedule(60), 12);
    }

    [Fact]
    public void Alpha_f_cooldown_above_alpha_f_decay_is_rejected()
    {
        var error = Assert.Throws<ArgumentException>(() => Schedules.InverseSqrt(10, 5, 10, 100, alpha_f_decay: 0.1, alpha_f_cooldown: 0.2));
        Assert.Equal("alpha_f_decay", error.ParamName);
    }

    [Fact]
    public void Warmup_steps_from_a_ratio_round_up_as_transformers_does()
    {
        Assert.Equal(5, Schedules.WarmupSteps(150, 0.03));            // 4.5 → 5 (transformers: math.ceil)
        Assert.Equal(10, Schedules.WarmupSteps(100, 0.1));
        Assert.Equal(1, Schedules.WarmupSteps(10, 0.01));
        var linear = Schedules.Linear(total_steps: 150, warmup_ratio: 0.03);
        Assert.Equal(0.8, linear(4), 12);
        Assert.Equal(1.0, linear(5), 12);
        var cosine = Schedules.Cosine(total_steps: 150, warmup_ratio: 0.03, min_ratio: 0.01);
        Assert.Equal(0.8, cosine(4), 12);
        Assert.Equal(1.0, cosine(5), 12);
        Assert.Equal(0.01, cosine(150), 12);
    }
}
