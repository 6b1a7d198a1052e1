using LoraLab.Data;
using LoraLab.Data.Results;
using LoraLab.Data.Sweeps;
using LoraLab.Experiments;
using LoraLab.Tests.Training;

namespace LoraLab.Tests.Experiments;

/// <summary>Notebook 03's run as a library task: tiny runs on the fixture corpora with the tiny base (built once into a
/// throw-away cache), its config's JSON, and what it refuses.</summary>
public class DomainFinetuneTests
{
    private static T WithFixtures<T>(Func<T> body) => TrainingFixtures.WithCodeCorpora(body);

    /// <summary>A LoRA run on math, the base's cache key filled in from the cache when asked.</summary>
    private static DomainFinetuneConfig Recipe(string base_model = "") => new(
        domain: FinetuneDomain.Math, method: FinetuneMethod.Lora, r: 2, lora_alpha: 4, lora_dropout: 0.05, target_modules: "q_proj,v_proj,down_proj",
        optim: "lion", learning_rate: 3e-3, beta1: 0.9, beta2: 0.95, weight_decay: 0, max_grad_norm: 1,
        max_steps: 3, batch_size: 4, warmup_ratio: 0.1, cooldown_ratio: 0, alpha_f_decay: 0, min_lr_ratio: 0.01,
        base_model: base_model, base_profile: "tiny", eval_windows: 2, math_train: 8, math_eval: 4, exact_match_problems: 0);

    private static DomainFinetuneConfig Full(DomainFinetuneConfig c) => c with { method = FinetuneMethod.Full, r = 0, lora_alpha = 0, lora_dropout = 0, target_modules = "" };

    private static string KeyOf<TTask>(DomainFinetuneConfig c) where TTask : ISweepTask<DomainFinetuneConfig> => TTask.EnsembleKey(c);
    private static int MaxEnsembleOf<TTask>(DomainFinetuneConfig c) where TTask : ISweepTask<DomainFinetuneConfig> => TTask.MaxEnsembleSize(c);

    [Fact]
    public void Train_of_tiny_configs_reports_the_metrics_the_notebook_reads_for_every_method_and_domain()
    {
        WithFixtures(() =>
        {
            var recipe = Recipe(DomainFinetune.BaseModel("tiny").Report.Key);
            var code = recipe with { domain = FinetuneDomain.Code, max_steps = 4, warmup_ratio = 0.25, cooldown_ratio = 0.2, alpha_f_decay = 1, min_lr_ratio = 0 };
            var runs = new Dictionary<string, DomainFinetuneConfig>
            {
                ["math lora, exact match"] = recipe with { exact_match_problems = 2 },
                ["math full"] = Full(recipe),
                ["code lora"] = code,
                ["code base"] = Full(code) with { method = FinetuneMethod.Base, max_steps = 0, learning_rate = 0 },
            };
            var outcomes = runs.ToDictionary(kv => kv.Key, kv => DomainFinetune.Train(kv.Value, seed: 0, context: null));

            foreach (var (name, outcome) in outcomes)
            {
                Assert.Equal(RunStatus.Done, outcome.Status);
                foreach (var metric in new[] { "source_loss", "target_val_loss", "target_loss" })
                    Assert.True(outcome.FinalMetrics.TryGetValue(metric, out double value) && double.IsFinite(value) && value > 0, $"{name}: {metric} missing or not a loss");
            }
            var exact = outcomes["math lora, exact match"].FinalMetrics;
            Assert.InRange(exact["exact_match"], 0, 1);
            Assert.Equal(exact["exact_match"] * 2, exact["exact_match_correct"]);
            Assert.InRange(exact["parsed"], 0, 1);
            Assert.DoesNotContain("exact_match", outcomes["code lora"].FinalMetrics.Keys);
            // LoRA trains its factors only; full finetuning every weight; the base trains nothing.
            Assert.True(outcomes["math lora, exact match"].FinalMetrics["trainable_params"] < outcomes["math full"].FinalMetrics["trainable_params"] / 10);
            Assert.Equal(3, outcomes["math full"].FinalMetrics["steps"]);
            Assert.DoesNotContain("trainable_params", outcomes["code base"].FinalMetrics.Keys);
            return 0;
        });
    }

    [Fact]
    public void A_run_is_a_function_of_its_config_and_seed()
    {
        WithFixtures(() =>
        {
            var c = Recipe(DomainFinetune.BaseModel("tiny").Report.Key);
            var (a, b, other) = (DomainFinetune.Train(c, 1, null), DomainFinetune.Train(c, 1, null), DomainFinetune.Train(c, 2, null));
            foreach (var metric in new[] { "train_loss", "source_loss", "target_loss" })
                Assert.Equal(a.FinalMetrics[metric], b.FinalMetrics[metric]);
            Assert.NotEqual(a.FinalMetrics["train_loss"], other.FinalMetrics["train_loss"]);
            return 0;
        });
    }

    [Fact]
    public void A_config_round_trips_through_its_canonical_JSON_with_the_method_and_domain_by_name()
    {
        var lora = Recipe("0123456789abcdef");
        string json = CanonicalJson.Serialize(lora);
        Assert.Contains("\"method\":\"Lora\"", json);
        Assert.Contains("\"domain\":\"Math\"", json);
        Assert.Contains("\"r\":2", json);
        Assert.Contains("\"base_profile\":\"tiny\"", json);
        Assert.DoesNotContain("MethodLabel", json);
        Assert.Equal(lora, CanonicalJson.Deserialize<DomainFinetuneConfig>(json));
        Assert.Equal(Full(lora), CanonicalJson.Deserialize<DomainFinetuneConfig>(CanonicalJson.Serialize(Full(lora))));
        Assert.Equal(("r=2", "full", "base"), (lora.MethodLabel, Full(lora).MethodLabel, (Full(lora) with { method = FinetuneMethod.Base }).MethodLabel));
    }

    [Fact]
    public void Every_run_trains_alone_under_a_key_of_its_own_config()
    {
        var a = Recipe("k");
        Assert.Equal(1, MaxEnsembleOf<DomainFinetune>(a));
        Assert.Equal(KeyOf<DomainFinetune>(a), KeyOf<DomainFinetune>(a with { }));
        Assert.NotEqual(KeyOf<DomainFinetune>(a), KeyOf<DomainFinetune>(a with { learning_rate = 1e-2 }));
    }

    [Theory]
    [InlineData("full with a rank", "method")]
    [InlineData("LoRA of rank 0", "r")]
    [InlineData("LoRA without targets", "target_modules")]
    [InlineData("base that trains", "max_steps")]
    [InlineData("unknown optimizer", "optim")]
    [InlineData("no steps", "max_steps")]
    [InlineData("no base profile", "base_profile")]
    public void An_invalid_config_is_refused_with_an_ArgumentException_naming_the_field_before_anything_loads(string what, string field)
    {
        var c = Recipe("k");
        var bad = what switch
        {
            "full with a rank" => c with { method = FinetuneMethod.Full },
            "LoRA of rank 0" => c with { r = 0 },
            "LoRA without targets" => c with { target_modules = "" },
            "base that trains" => Full(c) with { method = FinetuneMethod.Base },
            "unknown optimizer" => c with { optim = "sgd" },
            "no steps" => c with { max_steps = 0 },
            _ => c with { base_profile = "" },
        };
        var e = Assert.ThrowsAny<ArgumentException>(() => DomainFinetune.Train(bad, 0, null));
        Assert.Equal(field, e.ParamName);
        Assert.Contains(field == "method" ? "LoRA settings" : field, e.Message);
    }

    [Fact]
    public void A_config_whose_base_key_is_not_the_cached_base_is_refused()
    {
        WithFixtures(() =>
        {
            var e = Assert.Throws<InvalidOperationException>(() => DomainFinetune.Train(Recipe("not-the-key"), 0, null));
            Assert.Contains("not-the-key", e.Message);
            return 0;
        });
    }
}
