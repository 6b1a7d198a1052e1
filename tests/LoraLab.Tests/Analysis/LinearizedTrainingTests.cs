using LoraLab.Analysis;
using TorchSharp;
using static TorchSharp.torch;
using LoraLab.Modules;

namespace LoraLab.Tests.Analysis;

public class LinearizedTrainingTests
{
    [Fact]
    public void On_a_planted_problem_full_rank_LoRA_reaches_the_convex_optimum()
    {
        // N = 6, K = 2: K N = 12, so r = 6 (21 > 12) is above the threshold; 6 is also min(m, n): full rank.
        using var problem = PlantedProblem.Create(n_examples: 6, num_labels: 2, rows: 6, cols: 8, planted_rank: 2, seed: 3);
        double lambda = 0.3 * problem.LambdaMax();
        double lr = 1 / problem.Smoothness();
        var convex = LinearizedTraining.ConvexNuclearNorm(problem, lambda, lr, steps: 4000, logEvery: 100);
        using (var delta = convex.DeltaTensor())
            Assert.True(LinearizedTraining.ProxGradientResidual(problem, delta, lambda, lr) < 1e-8, "the convex problem did not converge");
        foreach (int seed in new[] { 0, 1, 2 })
        {
            var lora = LinearizedTraining.Lora(problem, r: 6, lambda, lr: 0.5 * lr, steps: 20000, initStd: 0.01, seed, logEvery: 1000);
            double gap = (lora.Objective - convex.Objective) / convex.Objective;
            Assert.True(Math.Abs(gap) < 1e-5, $"seed {seed}: LoRA's objective {lora.Objective:G8} vs the convex optimum {convex.Objective:G8} (relative gap {gap:G3})");
            // At a balanced optimum the penalty equals λ||BA||_*, so BA is the convex solution's objective too.
            Assert.True(Math.Abs(lora.Loss + lambda * lora.NuclearNorm - convex.Objective) / convex.Objective < 1e-4);
        }
    }

    [Fact]
    public void The_convex_objective_never_increases_and_stays_at_zero_above_lambda_max()
    {
        using var problem = PlantedProblem.Create(n_examples: 8, num_labels: 1, rows: 5, cols: 5, planted_rank: 1, seed: 4);
        double lr = 1 / problem.Smoothness();
        var run = LinearizedTraining.ConvexNuclearNorm(problem, 0.2 * problem.LambdaMax(), lr, steps: 300, logEvery: 1);
        for (int i = 1; i < run.Curve.Count; i++) Assert.True(run.Curve[i].objective <= run.Curve[i - 1].objective + 1e-12);
        var above = LinearizedTraining.ConvexNuclearNorm(problem, 1.01 * problem.LambdaMax(), lr, steps: 50);
        Assert.Equal(0, above.NuclearNorm, 12);
        Assert.Equal(8 * Math.Log(2), above.Objective, 9);   // δ = 0: every logistic loss is log 2
    }

    [Fact]
    public void The_LoRA_weight_decay_is_applied_to_the_factors()
    {
        // Above λ_max decay wins: B stays near 0 and A shrinks by (1 − lr λ) per step, so δ = B A → 0.
        using var problem = PlantedProblem.Create(n_examples: 4, num_labels: 2, rows: 4, cols: 4, planted_rank: 1, seed: 5);
        double lambda = 1.5 * problem.LambdaMax();
        double lr = Math.Min(0.5 / problem.Smoothness(), 0.5 / lambda);     // lr λ < 2, or the decay itself diverges
        var decayed = LinearizedTraining.Lora(problem, r: 2, lambda, lr, steps: 300, initStd: 0.1, seed: 0);
        var free = LinearizedTraining.Lora(problem, r: 2, lambda: 0, lr, steps: 300, initStd: 0.1, seed: 0);
        Assert.True(decayed.NuclearNorm < 1e-6, $"||BA||_* = {decayed.NuclearNorm:G3} with λ = 1.5 λ_max");
        Assert.True(free.NuclearNorm > 1, $"||BA||_* = {free.NuclearNorm:G3} without weight decay");
    }

    [Fact]
    public void The_rank_bound_is_the_largest_r_with_r_r_plus_1_over_2_at_most_KN()
    {
        Assert.Equal(3, PlantedProblem.RankBound(8, 1));     // 6 ≤ 8 < 10
        Assert.Equal(4, PlantedProblem.Threshold(8, 1));
        Assert.Equal(10, PlantedProblem.RankBound(32, 2));   // 55 ≤ 64 < 66
        Assert.Equal(11, PlantedProblem.Threshold(32, 2));
        Assert.Equal(1, PlantedProblem.RankBound(1, 1));
    }
}
