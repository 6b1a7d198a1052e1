using Xunit.Abstractions;
using LoraLab.Optim;

namespace LoraLab.Tests.Parity;

/// <summary>
/// Schedules.Linear, Cosine and InverseSqrt against their definitions written out in Python: transformers'
/// get_linear_schedule_with_warmup, get_cosine_schedule_with_warmup and get_cosine_with_min_lr_schedule_with_warmup
/// (warmup steps = ceil(ratio · total), TrainingArguments.get_warmup_steps), and LLM Foundry's
/// InverseSquareRootWithWarmupScheduler, at every step 0 … total. The factors lie in [0, 1] and the formulas differ only
/// in the order of a few double operations (e.g. m + (1 − m)·c versus c·(1 − m) + m), so they agree to 1e-14 absolute.
/// </summary>
[Collection(PyTorchParityCollection.Name)]
public class ScheduleParityTests(PyTorchReference py, ITestOutputHelper log)
{
    private const double Tolerance = 1e-14;

    private void Compare(IReadOnlyList<(string what, Schedule schedule, object spec, long total)> cases)
    {
        using var answer = py.Call("schedules", args: new { schedules = cases.Select(c => c.spec).ToArray() });
        var values = answer.json.GetProperty("values");
        for (int i = 0; i < cases.Count; i++)
        {
            var (what, schedule, _, total) = cases[i];
            var expected = values[i].EnumerateArray().Select(v => v.GetDouble()).ToArray();
            Assert.Equal(total + 1, expected.Length);
            double worst = 0;
            long worstAt = 0;
            for (long t = 0; t <= total; t++)
            {
                double diff = Math.Abs(schedule(t) - expected[t]);
                if (diff > worst) (worst, worstAt) = (diff, t);
            }
            log.WriteLine($"{what}: max |difference| {worst:E2} over steps 0..{total}");
            Assert.True(worst <= Tolerance, $"{what}: at step {worstAt} LoraLab gives {schedule(worstAt):R}, the reference {expected[worstAt]:R}");
        }
    }

    [PyTorchFact]
    public void Linear_matches_transformers_get_linear_schedule_with_warmup()
    {
        var cases = new List<(string, Schedule, object, long)>();
        foreach (var (total, ratio) in new[] { (150L, 0.03), (100L, 0.0), (10L, 0.25), (30L, 0.1), (7L, 1.0) })
            cases.Add(($"Linear(total {total}, warmup_ratio {ratio})", Schedules.Linear(total, ratio),
                       new { kind = "linear", total, warmup_ratio = ratio, steps = total + 1 }, total));
        Compare(cases);
    }

    [PyTorchFact]
    public void Cosine_matches_transformers_cosine_schedules_with_and_without_a_minimum()
    {
        var cases = new List<(string, Schedule, object, long)>();
        foreach (var (total, ratio, min) in new[] { (150L, 0.03, 0.0), (200L, 0.1, 0.1), (50L, 0.0, 0.2), (30L, 0.1, 0.0), (64L, 0.5, 0.05) })
            cases.Add(($"Cosine(total {total}, warmup_ratio {ratio}, min_ratio {min})", Schedules.Cosine(total, ratio, min),
                       new { kind = "cosine", total, warmup_ratio = ratio, min_ratio = min, steps = total + 1 }, total));
        Compare(cases);
    }

    [PyTorchFact]
    public void InverseSqrt_matches_LLM_Foundry_inverse_square_root_with_warmup_and_cooldown()
    {
        var cases = new List<(string, Schedule, object, long)>();
        foreach (var (warmup, timescale, cooldown, total, decay, final) in new[]
                 {
                     (10L, 10.0, 20L, 100L, 0.0, 0.0),        // LLM Foundry's defaults for the alphas
                     (5L, 25.0, 15L, 80L, 0.2, 0.1),
                     (20L, 1.0, 30L, 100L, 1.0, 0.0),         // Biderman et al.'s trapezoid: flat after warmup, linear cooldown
                     (0L, 10.0, 10L, 50L, 0.0, 0.0),          // no warmup
                     (10L, 12.5, 0L, 50L, 0.3, 0.3),          // no cooldown, a non-integer timescale
                     (30L, 5.0, 40L, 60L, 0.5, 0.0),          // warmup + cooldown > total: the cooldown starts at the warmup's end
                 })
            cases.Add(($"InverseSqrt(warmup {warmup}, timescale {timescale}, cooldown {cooldown}, total {total}, alpha_f_decay {decay}, alpha_f_cooldown {final})",
                       Schedules.InverseSqrt(warmup, timescale, cooldown, total, decay, final),
                       new { kind = "inverse_sqrt", warmup, timescale, cooldown, total, alpha_f_decay = decay, alpha_f_cooldown = final, steps = total + 1 }, total));
        Compare(cases);
    }
}
