using LoraLab.Data.Results;
using LoraLab.Data.Sweeps;
using LoraLab.Experiments;
using LoraLab.Tests.Training;

namespace LoraLab.Tests.Experiments;

/// <summary>Notebook 04's part 1 as a library task: tiny runs on the fixture corpora with the tiny base, through the sweep
/// runner into a store as the notebook runs them; its config's JSON and what it refuses.</summary>
public class UpdateSpectraTests
{
    // Full finetuning of the language model on code, checkpointed at 2 and 4 steps, analysed at 2.
    private static UpdateSpectraConfig Recipe(string base_model) => new(task: SpectraTask.Code, method: FinetuneMethod.Full,
        r: 0, lora_alpha: 0, target_modules: "", learning_rate: 3e-3, max_steps: 2, checkpoint_steps: [2, 4], warmup_steps: 1, max_grad_norm: 1,
        batch_size: 4, max_length: 16, max_train: 40, max_eval: 4, base_model: base_model, base_profile: "tiny");

    private static UpdateSpectraConfig Lora(UpdateSpectraConfig c, int r) =>
        c with { method = FinetuneMethod.Lora, r = r, lora_alpha = 2 * r, target_modules = "all-linear", learning_rate = 1e-2, max_steps = 3, checkpoint_steps = [] };

    [Fact]
    public void Full_finetunings_checkpoint_at_L_steps_is_the_run_of_L_steps()
    {
        // The constant rate after the warmup is what lets one checkpointed run stand for every length: the checkpoint at
        // 2 steps of a 4-step run must measure what a run of 2 steps measures.
        TrainingFixtures.WithCodeCorpora(() =>
        {
            var fromLonger = Recipe(TaskBases.BaseModel("tiny").Report.Key);
            var alone = fromLonger with { checkpoint_steps = [2] };
            var (a, b) = (UpdateSpectra.Train(fromLonger, 0, null), UpdateSpectra.Train(alone, 0, null));
            Assert.Equal(RunStatus.Done, a.Status);
            Assert.Equal(a.FinalMetrics["heldout_loss"], b.FinalMetrics["heldout_loss"], 6);
            foreach (var (name, value) in a.FinalMetrics.Where(m => m.Key.StartsWith("rank90/")))
                Assert.Equal(value, b.FinalMetrics[name]);
            return 0;
        });
    }

    [Fact]
    public void A_sweep_stores_every_projections_rank90_and_spectra_for_full_finetuning_and_LoRAs_rank90_within_r()
    {
        TrainingFixtures.WithCodeCorpora(() =>
        {
            var recipe = Recipe(TaskBases.BaseModel("tiny").Report.Key);
            var grid = new[] { recipe, recipe with { max_steps = 4 }, Lora(recipe, 2) };
            using var store = new ResultsStore(Path.Combine(TestSupport.TempDir("update-spectra"), "runs.db"));
            new SweepRunner(store, new SweepOptions { Progress = TextWriter.Null })
                .Run<UpdateSpectra, UpdateSpectraConfig>("04-test", grid, [0], SweepParallelism.Serial);
            var runs = store.Grid("04-test", grid, [0]);
            Assert.All(runs, run => Assert.Equal(RunStatus.Done, run.Status));

            var data = UpdateSpectra.Data(recipe);
            Assert.Equal(2 * 7, data.Projections.Count);     // the tiny base: 2 layers of q, k, v, o, gate, up, down
            var full = runs[1];
            foreach (var name in data.Projections)
            {
                long minDim = data.Pretrained[name + ".weight"].shape.Min();
                Assert.InRange(full[$"rank90/{name}"], 1, minDim);
                var sigma = store.MetricSeries(full.RunId, $"sigma_delta/{name}").OrderBy(p => p.Step).Select(p => p.Value).ToList();
                Assert.Equal(minDim, sigma.Count);
                Assert.Equal(sigma.OrderByDescending(v => v), sigma);
            }
            Assert.True(double.IsFinite(full["heldout_loss"]) && full["heldout_loss"] > 0);
            var lora = runs[2];
            foreach (var name in data.Projections) Assert.InRange(lora[$"rank90/{name}"], 1, 2);
            Assert.True(double.IsFinite(lora["heldout_loss"]));
            return 0;
        });
    }

    [Fact]
    public void LoRA_on_spam_records_test_accuracy()
    {
        TrainingFixtures.WithCodeCorpora(() =>
        {
            var spam = Lora(Recipe(TaskBases.BaseModel("tiny").Report.Key), 2) with { task = SpectraTask.Spam, target_modules = "q_proj,v_proj" };
            var outcome = UpdateSpectra.Train(spam, 0, null);
            Assert.Equal(RunStatus.Done, outcome.Status);
            Assert.InRange(outcome.FinalMetrics["test_accuracy"], 0, 1);
            Assert.Equal(2 * 2, outcome.FinalMetrics.Keys.Count(k => k.StartsWith("rank90/")));
            return 0;
        });
    }

    [Fact]
    public void A_config_round_trips_through_its_canonical_JSON_with_the_task_and_method_by_name()
    {
        var c = Recipe("0123456789abcdef");
        string json = CanonicalJson.Serialize(c);
        Assert.Contains("\"method\":\"Full\"", json);
        Assert.Contains("\"task\":\"Code\"", json);
        Assert.Contains("\"checkpoint_steps\":[2,4]", json);
        Assert.DoesNotContain("MetricName", json);
        Assert.Equal(json, CanonicalJson.Serialize(CanonicalJson.Deserialize<UpdateSpectraConfig>(json)));
        Assert.NotEqual(json, CanonicalJson.Serialize(c with { max_steps = 4 }));
        // Displayed in a notebook: the checkpoint lengths as a list, not the array's type; no derived property.
        Assert.Contains("checkpoint_steps = [2, 4]", c.ToString());
        Assert.DoesNotContain("MetricName", c.ToString());
    }

    [Theory]
    [InlineData("analysed length not checkpointed", "max_steps")]
    [InlineData("full without checkpoints", "checkpoint_steps")]
    [InlineData("full with a rank", "method")]
    [InlineData("LoRA with checkpoints", "checkpoint_steps")]
    [InlineData("LoRA of rank 0", "r")]
    [InlineData("the base", "method")]
    [InlineData("no base profile", "base_profile")]
    public void A_config_that_cannot_be_a_run_is_refused_naming_the_field(string what, string field)
    {
        var c = Recipe("k");
        var bad = what switch
        {
            "analysed length not checkpointed" => c with { max_steps = 3 },
            "full without checkpoints" => c with { checkpoint_steps = [] },
            "full with a rank" => c with { r = 2 },
            "LoRA with checkpoints" => Lora(c, 2) with { checkpoint_steps = [3] },
            "LoRA of rank 0" => Lora(c, 2) with { r = 0 },
            "the base" => c with { method = FinetuneMethod.Base },
            _ => c with { base_profile = "" },
        };
        var e = Assert.Throws<ArgumentException>(() => UpdateSpectra.Train(bad, 0, null));
        Assert.Equal(field, e.ParamName);
    }
}
