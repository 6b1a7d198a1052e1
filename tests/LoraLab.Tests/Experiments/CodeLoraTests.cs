using LoraLab.Data.Results;
using LoraLab.Data.Sweeps;
using LoraLab.Experiments;
using LoraLab.Lora;
using LoraLab.Tests.Training;
using LoraLab.Training;

namespace LoraLab.Tests.Experiments;

/// <summary>Notebook 01's language-model run as a library task: tiny runs on the fixture corpora with the tiny base,
/// through the sweep runner into a store as the notebook runs them.</summary>
public class CodeLoraTests
{
    private static CodeLoraConfig Recipe(string base_model, LoraInit init) =>
        new("tiny", base_model, init, learning_rate: 4e-3, max_steps: 4, r: 4, lora_alpha: 8, target_modules: "q_proj,v_proj", eval_steps: 2, eval_batches: 2, batch_size: 8);

    [Fact]
    public void Both_inits_start_from_the_base_models_validation_loss_and_record_what_the_notebook_reads()
    {
        TrainingFixtures.WithCodeCorpora(() =>
        {
            var baseModel = TaskBases.BaseModel("tiny");
            var grid = new[] { Recipe(baseModel.Report.Key, LoraInit.InitA_Gaussian), Recipe(baseModel.Report.Key, LoraInit.InitB_Gaussian) };
            using var store = new ResultsStore(Path.Combine(TestSupport.TempDir("code-lora"), "runs.db"));
            new SweepRunner(store, new SweepOptions { Progress = TextWriter.Null })
                .Run<CodeLora, CodeLoraConfig>("01-test", grid, [0], SweepParallelism.Serial);
            var runs = store.Grid("01-test", grid, [0]);

            // Init[A] (B = 0) and Init[B] (A = 0) both start with B A = 0: at step 0 the model is the base.
            var code = TaskBases.Code("tiny");
            int context = baseModel.Profile.ContextLength, batch = baseModel.Profile.BatchSize;
            double baseLoss = HeldOutLoss.Evaluate(baseModel.Model, code.Validation, context, batch, 2 * batch).Loss;
            foreach (var run in runs)
            {
                Assert.Equal(RunStatus.Done, run.Status);
                var eval = store.MetricSeries(run.RunId, "eval_loss");
                Assert.Equal(baseLoss, eval.Single(p => p.Step == 0).Value, 5);
                Assert.Equal(new long[] { 0, 2, 4 }, eval.Select(p => p.Step).Order().ToArray());
                Assert.Equal(4, store.MetricSeries(run.RunId, "norm_A").Count);
                Assert.True(double.IsFinite(run["test_loss"]) && run["test_loss"] > 0);
            }
            // Under Init[B], A starts at zero, so ‖Z_A‖ = ‖A z‖ is small after one step; under Init[A] it is of order one.
            Assert.True(store.MetricSeries(runs[1].RunId, "norm_A")[0].Value < store.MetricSeries(runs[0].RunId, "norm_A")[0].Value);
            return 0;
        });
    }

    [Fact]
    public void A_config_whose_base_key_is_not_the_cached_base_is_refused()
    {
        TrainingFixtures.WithCodeCorpora(() =>
        {
            var e = Assert.Throws<InvalidOperationException>(() => CodeLora.Train(Recipe("not-the-key", LoraInit.InitA_Gaussian), 0, null));
            Assert.Contains("not-the-key", e.Message);
            return 0;
        });
    }

    [Theory]
    [InlineData("r")]
    [InlineData("max_steps")]
    [InlineData("init")]
    [InlineData("batch_size")]
    public void A_config_that_cannot_be_a_run_is_refused_naming_the_field(string field)
    {
        var c = Recipe("k", LoraInit.InitA_Gaussian);
        var bad = field switch { "r" => c with { r = 0 }, "max_steps" => c with { max_steps = 0 }, "batch_size" => c with { batch_size = 0 }, _ => c with { init = LoraInit.PiSSA } };
        Assert.Equal(field, Assert.Throws<ArgumentException>(() => CodeLora.Train(bad, 0, null)).ParamName);
    }
}
