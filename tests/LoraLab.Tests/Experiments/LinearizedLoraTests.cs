using LoraLab.Analysis;
using LoraLab.Data.Results;
using LoraLab.Data.Sweeps;
using LoraLab.Experiments;

namespace LoraLab.Tests.Experiments;

/// <summary>Notebook 04's part 2 as a library task: synthetic problems (no base model needed), its config's JSON and
/// what it refuses. The real-feature runs are exercised by the notebook's ci run (Notebook04Tests).</summary>
public class LinearizedLoraTests
{
    // LoRA on a small planted problem: N = 4 examples, K = 1 logit, 8 × 8 matrix; the theorem's threshold is r = 3.
    private static readonly LinearizedLoraConfig Lora = new(features: LinearizedLoraConfig.Synthetic, method: LinearizedMethod.Lora, r: 3,
        n_examples: 4, num_labels: 1, matrix_size: 8, planted_rank: 1, nuclear_norm_weight: 0.1, learning_rate: 0.2, max_steps: 3000, init_std: 1e-2,
        base_model: "", base_profile: "", shots_per_class: 0, max_length: 0, max_train: 0, max_eval: 0);

    private static readonly LinearizedLoraConfig Convex = Lora with { method = LinearizedMethod.Convex, r = 0, init_std = 0, learning_rate = 1.0, max_steps = 4000 };

    [Fact]
    public void LoRA_above_the_threshold_reaches_the_convex_optimum_of_the_same_problem()
    {
        var optimum = LinearizedLora.Train(Convex, seed: 0, context: null);
        var lora = LinearizedLora.Train(Lora, seed: 0, context: null);
        Assert.Equal(RunStatus.Done, optimum.Status);
        Assert.Equal(RunStatus.Done, lora.Status);
        double best = optimum.FinalMetrics["objective"], reached = lora.FinalMetrics["objective"];
        Assert.InRange((reached - best) / best, -1e-6, 1e-3);
        // At the convex optimum ||∇L||_op ≤ λ, and its rank is within the theory's bound.
        Assert.InRange(optimum.FinalMetrics["gradient_over_lambda"], 0, 1 + 1e-3);
        Assert.True(optimum.FinalMetrics["numerical_rank"] <= optimum.FinalMetrics["rank_bound"]);
        Assert.Equal(3, lora.FinalMetrics["threshold"]);
        Assert.Equal(2, lora.FinalMetrics["rank_bound"]);
        Assert.True(optimum.FinalMetrics.ContainsKey("prox_residual"));
        Assert.False(lora.FinalMetrics.ContainsKey("prox_residual"));
        Assert.False(lora.FinalMetrics.ContainsKey("test_accuracy"));     // synthetic problems have no test set
    }

    [Fact]
    public void A_run_is_a_function_of_its_config_and_seed_and_the_seed_draws_LoRAs_A()
    {
        var short_ = Lora with { max_steps = 20 };
        var (a, b, other) = (LinearizedLora.Train(short_, 1, null), LinearizedLora.Train(short_, 1, null), LinearizedLora.Train(short_, 2, null));
        Assert.Equal(a.FinalMetrics["objective"], b.FinalMetrics["objective"]);
        Assert.NotEqual(a.FinalMetrics["objective"], other.FinalMetrics["objective"]);
    }

    [Fact]
    public void A_step_far_too_large_is_recorded_as_diverged_not_thrown()
    {
        var outcome = LinearizedLora.Train(Lora with { learning_rate = 1e6, max_steps = 200 }, 0, null);
        Assert.Equal(RunStatus.Diverged, outcome.Status);
    }

    [Fact]
    public void A_config_round_trips_through_its_canonical_JSON_with_the_method_by_name_and_no_labels()
    {
        string json = CanonicalJson.Serialize(Lora);
        Assert.Contains("\"method\":\"Lora\"", json);
        Assert.Contains("\"nuclear_norm_weight\":0.1", json);
        Assert.DoesNotContain("ProblemLabel", json);
        Assert.DoesNotContain("ThresholdPosition", json);
        Assert.Equal(Lora, CanonicalJson.Deserialize<LinearizedLoraConfig>(json));
        Assert.Equal("synthetic N=4 K=1", Lora.ProblemLabel);
        Assert.Equal(3 * 4 / (2.0 * 4), Lora.ThresholdPosition);
    }

    [Theory]
    [InlineData("convex with a rank", "r")]
    [InlineData("LoRA without a rank", "r")]
    [InlineData("LoRA rank above the matrix", "r")]
    [InlineData("synthetic with a base", "features")]
    [InlineData("real without a base", "base_profile")]
    [InlineData("real with a planted rank", "planted_rank")]
    [InlineData("real with the wrong N", "n_examples")]
    [InlineData("no steps", "max_steps")]
    public void A_config_that_cannot_be_a_run_is_refused_naming_the_field(string what, string field)
    {
        var real = Lora with { features = "q_proj", n_examples = 8, num_labels = 2, planted_rank = 0, base_model = "k", base_profile = "tiny",
                               shots_per_class = 4, max_length = 32, max_train = 100, max_eval = 20 };
        var config = what switch
        {
            "convex with a rank" => Convex with { r = 2 },
            "LoRA without a rank" => Lora with { r = 0 },
            "LoRA rank above the matrix" => Lora with { r = 9 },
            "synthetic with a base" => Lora with { base_profile = "tiny" },
            "real without a base" => real with { base_profile = "" },
            "real with a planted rank" => real with { planted_rank = 1 },
            "real with the wrong N" => real with { n_examples = 7 },
            "no steps" => Lora with { max_steps = 0 },
            _ => throw new ArgumentException(what),
        };
        real.Validate();
        var e = Assert.Throws<ArgumentException>(() => LinearizedLora.Train(config, 0, null));
        Assert.Equal(field, e.ParamName);
    }
}
