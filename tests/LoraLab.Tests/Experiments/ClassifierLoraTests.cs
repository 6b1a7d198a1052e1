using LoraLab.BaseModels;
using LoraLab.Data;
using LoraLab.Data.Results;
using LoraLab.Data.Sweeps;
using LoraLab.Experiments;
using LoraLab.Lora;
using LoraLab.Models;
using LoraLab.Modules;
using LoraLab.Optim;
using LoraLab.Training;
using LoraLab.Tests.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace LoraLab.Tests.Experiments;

/// <summary>The fixture corpora and a private cache for this class (and for the workers it starts, which inherit the
/// environment); the tiny base model is pretrained once on the fixtures.</summary>
public sealed class ClassifierLoraFixture : IDisposable
{
    private readonly string? dataRoot = Environment.GetEnvironmentVariable("LORALAB_DATA_ROOT");
    private readonly string? cache = Environment.GetEnvironmentVariable(ClassifierLora.CacheVariable);

    public ClassifierLoraFixture()
    {
        Environment.SetEnvironmentVariable("LORALAB_DATA_ROOT", TrainingFixtures.Corpora().PackagesDirectory);
        Environment.SetEnvironmentVariable(ClassifierLora.CacheVariable, TestSupport.TempDir("classifier-lora-cache"));
        BaseKey = ClassifierLora.BaseModel("tiny").Report.Key;
        // The fixtures' spam split has no validation example and Brown's own split none for validation or test:
        // Brown's 12 fixture samples in 20-word passages, split 40/30/30 by document (as ClassificationDataTests does).
        ClassifierLora.RegisterTask("brown-fixture", corpora =>
        {
            var brown = ClassificationTask.BrownGenre(corpora, coarse: true, passageWords: 20);
            var all = brown.Splits.Train.Concat(brown.Splits.Validation).Concat(brown.Splits.Test).ToList();
            return brown with { Splits = DatasetSplit.ByGroup(all, e => e.DocumentId, e => brown.LabelNames[e.Label], 0, validationFraction: 0.3, testFraction: 0.3) };
        });
    }

    public string BaseKey { get; }

    public void Dispose()
    {
        Environment.SetEnvironmentVariable("LORALAB_DATA_ROOT", dataRoot);
        Environment.SetEnvironmentVariable(ClassifierLora.CacheVariable, cache);
    }
}

/// <summary>Notebook 02's runs, one at a time and as one ensemble on a shared frozen model: the same results, member by member.</summary>
public class ClassifierLoraTests(ClassifierLoraFixture fixture) : IClassFixture<ClassifierLoraFixture>
{
    // Notebook 02's recipe (dropout on) at sizes for the tiny base and the fixture corpora: max_length 64 keeps the
    // passages' own lengths (29 to 64 tokens), so the members' batches differ in length and the ensemble pads them.
    private ClassifierLoraConfig Config(LoraInit init, double lr, double ratio = 1, double alpha = 16, ClassifierMethod method = ClassifierMethod.Lora, double maxGradNorm = 0,
                                        string task = "brown-fixture") =>
        new(task, "tiny", fixture.BaseKey, method, init, lr, ratio, r: 4, alpha, lora_dropout: 0.1, "q_proj,v_proj",
            max_steps: 12, batch_size: 4, max_length: 64, warmup_ratio: 0.1, weight_decay: 0.01, maxGradNorm, max_train: 400, max_eval: 100);

    // Different seeds, inits (A and B), learning rates, LoRA+ ratios and alphas; two members share a seed (a data order).
    private (ClassifierLoraConfig config, int seed)[] Members => new[]
    {
        (Config(LoraInit.InitA_KaimingUniform, 4e-3), 0),
        (Config(LoraInit.InitB_KaimingUniform, 2e-3, ratio: 16), 1),
        (Config(LoraInit.InitA_Gaussian, 1e-2, ratio: 4, alpha: 8), 2),
        (Config(LoraInit.InitA_KaimingUniform, 1e-3, ratio: 16), 0),
    };

    private static readonly string[] Compared = { "train_loss", "tail_train_loss", "validation_accuracy", "test_accuracy", "validation_loss", "test_loss", "steps", "tokens", "prior_loss", "chance_accuracy" };

    private static double Relative(double a, double b) => Math.Abs(a - b) / Math.Max(Math.Abs(b), 1e-12);

    [Fact]
    public void An_ensemble_of_runs_with_dropout_reproduces_each_run_trained_alone()
    {
        var members = Members;
        var alone = members.Select(m => ClassifierLora.Train(m.config, m.seed, null)).ToList();
        var together = ClassifierLora.TrainEnsemble(members.Select(m => (m.config, m.seed, (RunContext?)null)).ToList());
        Assert.Equal(members.Length, together.Count);
        for (int e = 0; e < members.Length; e++)
        {
            Assert.Equal(RunStatus.Done, alone[e].Status);
            Assert.Equal(alone[e].Status, together[e].Status);
            // The ensemble's products (one matrix product over every member's rows, bmm for the factors, per-element
            // learning rates) round differently from the run's own: float32 rounding, grown over 12 Adam steps, is
            // about 1e-6 relative; 1e-4 leaves room and still catches any real difference (a mask, a batch, a rate).
            foreach (var metric in Compared)
                Assert.True(Relative(together[e].FinalMetrics[metric], alone[e].FinalMetrics[metric]) < 1e-4,
                            $"member {e}: {metric} {together[e].FinalMetrics[metric]} together, {alone[e].FinalMetrics[metric]} alone");
        }
    }

    [Fact]
    public void The_control_trained_on_the_backbones_cached_states_equals_the_control_trained_through_the_whole_model()
    {
        var c = Config(LoraInit.InitA_KaimingUniform, 3e-2, method: ClassifierMethod.HeadOnly, maxGradNorm: 1.0);
        var cached = ClassifierLora.Train(c, seed: 1, null);

        // The reference: the head alone trained through the whole model at every step, from the same start and data order.
        var baseModel = ClassifierLora.BaseModel("tiny");
        var (data, verbalizer) = ClassifierLora.TaskData("tiny", c.task, c.max_length, c.max_train, c.max_eval);
        using var model = BaseClassifier.FromBase(baseModel, data.NumLabels, 1);
        VerbalizerHead.Apply(model, baseModel.Model, verbalizer);
        foreach (var (name, p) in model.named_parameters()) p.requires_grad = name.StartsWith("score.");
        using var optimizer = new AdamW(LoraPlus.ParamGroups(model, c.learning_rate, c.loraplus_lr_ratio, c.weight_decay));
        var batches = new EpochSampler(data.Train.Count, c.batch_size, 1);
        var result = Trainer.Run(model, optimizer, Schedules.Linear(c.max_steps, c.warmup_ratio), (_, _) =>
        {
            var (ids, labels) = data.Batch(data.Train, batches.Next(), model.device());
            return new MicroBatchLoss(LlamaForSequenceClassification.Loss(model.forward(ids), labels), ids.numel());
        }, new TrainerOptions { MaxSteps = c.max_steps, ClipGradNorm = c.max_grad_norm, ProgressLabel = null });
        var reference = RunOutcome.From(result, null, new Dictionary<string, double>
        {
            ["validation_loss"] = ClassifierEvaluation.Of(model, data, data.Validation).CrossEntropy,
            ["test_loss"] = ClassifierEvaluation.Of(model, data, data.Test).CrossEntropy,
            ["test_accuracy"] = ClassifierEvaluation.Of(model, data, data.Test).Accuracy,
        });

        Assert.Equal(RunStatus.Done, cached.Status);
        Assert.Equal(reference.FinalMetrics["steps"], cached.FinalMetrics["steps"]);
        Assert.Equal(reference.FinalMetrics["tokens"], cached.FinalMetrics["tokens"]);
        // The backbone's states computed in other batches round differently in float32; nothing else differs.
        foreach (var metric in new[] { "train_loss", "validation_loss", "test_loss" })
            Assert.True(Relative(cached.FinalMetrics[metric], reference.FinalMetrics[metric]) < 1e-4,
                        $"{metric}: {cached.FinalMetrics[metric]} on cached states, {reference.FinalMetrics[metric]} through the model");
        Assert.Equal(reference.FinalMetrics["test_accuracy"], cached.FinalMetrics["test_accuracy"], 1e-9);
    }

    [Fact]
    public void A_member_that_diverges_is_stopped_and_recorded_and_the_others_numbers_do_not_change()
    {
        var calm = new[] { Members[0], Members[1] };
        // An absurd learning rate, with calm[0]'s seed: the same batches, so the ensemble's padded length is unchanged.
        // It is the last member, so that the calm members sit at the indices they have without it. Measured with a calm
        // third member in the middle: the member moved from index 1 to 2 trained bitwise the same, but its evaluation
        // (the last block at one row per sequence) came out 1e-8 apart, relative; an index's rounding would hide
        // whether the diverged member changed anything.
        var wild = (config: Config(LoraInit.InitA_KaimingUniform, 1e20, ratio: 16), seed: 0);
        var without = ClassifierLora.TrainEnsemble(calm.Select(m => (m.config, m.seed, (RunContext?)null)).ToList());
        var with = ClassifierLora.TrainEnsemble(new[] { calm[0], calm[1], wild }.Select(m => (m.config, m.seed, (RunContext?)null)).ToList());
        Assert.Equal(RunStatus.Diverged, with[2].Status);
        Assert.True(with[2].FinalMetrics["steps"] < wild.config.max_steps, "the diverged member stops at its divergence");
        var alone = ClassifierLora.Train(wild.config, wild.seed, null);
        Assert.Equal(RunStatus.Diverged, alone.Status);
        Assert.Equal(alone.FinalMetrics["steps"], with[2].FinalMetrics["steps"]);
        Assert.Equal(RunStatus.Done, with[0].Status);
        Assert.Equal(RunStatus.Done, with[1].Status);
        foreach (var metric in Compared)
        {
            Assert.Equal(without[0].FinalMetrics[metric], with[0].FinalMetrics[metric]);
            Assert.Equal(without[1].FinalMetrics[metric], with[1].FinalMetrics[metric]);
        }
    }

    [Fact]
    public void Runs_that_differ_only_in_seed_init_rates_and_alpha_share_an_ensemble_key_and_the_control_and_clipped_runs_train_alone()
    {
        var lora = Config(LoraInit.InitA_KaimingUniform, 1e-3);
        var control = Config(LoraInit.InitA_KaimingUniform, 1e-3, method: ClassifierMethod.HeadOnly);
        var clipped = Config(LoraInit.InitA_KaimingUniform, 1e-3, maxGradNorm: 1.0);
        Assert.Equal(lora.EnsembleKey, Config(LoraInit.InitB_Gaussian, 4e-3, ratio: 16, alpha: 4).EnsembleKey);
        Assert.NotEqual(lora.EnsembleKey, (lora with { r = 8 }).EnsembleKey);
        Assert.NotEqual(lora.EnsembleKey, (lora with { lora_dropout = 0.0 }).EnsembleKey);
        Assert.NotEqual(lora.EnsembleKey, (lora with { max_steps = 13 }).EnsembleKey);
        Assert.NotEqual(lora.EnsembleKey, (lora with { batch_size = 8 }).EnsembleKey);
        Assert.True(ClassifierLora.MaxEnsembleSize(lora, DeviceType.CUDA) > 1, "on a GPU, LoRA runs ensemble");
        Assert.Equal(1, ClassifierLora.MaxEnsembleSize(lora, DeviceType.CPU));     // measured slower on the CPU
        Assert.Equal(1, ClassifierLora.MaxEnsembleSize(control, DeviceType.CUDA));
        Assert.Equal(1, ClassifierLora.MaxEnsembleSize(clipped, DeviceType.CUDA));

        Assert.NotEqual(control.EnsembleKey, (control with { learning_rate = 2e-3 }).EnsembleKey);
        Assert.NotEqual(lora.EnsembleKey, clipped.EnsembleKey);
    }

    [Fact]
    public void A_config_is_stored_with_its_method_by_name_and_a_bad_config_is_refused_naming_its_field()
    {
        var control = Config(LoraInit.InitA_KaimingUniform, 1e-3, method: ClassifierMethod.HeadOnly);
        string json = CanonicalJson.Serialize(control);
        Assert.Contains("\"method\":\"HeadOnly\"", json);
        Assert.Contains("\"max_steps\":12", json);
        Assert.DoesNotContain("EnsembleKey", json);
        var error = Assert.Throws<ArgumentOutOfRangeException>(() => ClassifierLora.Train(control with { max_steps = 0 }, 0, null));
        Assert.Equal("max_steps", error.ParamName);
        Assert.Throws<ArgumentOutOfRangeException>(() => ClassifierLora.Train(control with { method = (ClassifierMethod)7 }, 0, null));
    }

    [Fact]
    public void A_task_sweep_over_two_worker_processes_stores_every_run_once()
    {
        string lab = Path.Combine(LoraLab.Data.DataRoot.RepositoryRoot(), "lib", "LoraLab.Cli", "bin", "Release", "net10.0", "lab.dll");
        Assert.True(File.Exists(lab), $"{lab} is missing: run ./lab build first");
        string folder = TestSupport.TempDir("classifier-workers");
        using var store = new ResultsStore(Path.Combine(folder, "results.db"));
        // The built-in spam task (workers know only those): its fixture split has no validation example.
        var configs = new[] { 1e-3, 4e-3, 1.6e-2 }.Select(lr => Config(LoraInit.InitA_KaimingUniform, lr, task: "spam"))
            .Append(Config(LoraInit.InitB_KaimingUniform, 4e-3, ratio: 16, task: "spam"))
            .Append(Config(LoraInit.InitA_KaimingUniform, 4e-3, method: ClassifierMethod.HeadOnly, task: "spam")).ToList();
        var runner = new SweepRunner(store, new SweepOptions { Progress = TextWriter.Null, Log = TextWriter.Null });
        // SweepWorkers writes the workers' logs to data/logs without creating it (absent in a fresh checkout); a worker
        // appends to its log, so an earlier run's goes first.
        string log = SweepLog.PathOf("classifier-workers.worker1");
        Directory.CreateDirectory(Path.GetDirectoryName(log)!);
        File.Delete(log);
        var summary = runner.Run<ClassifierLora, ClassifierLoraConfig>("classifier-workers", configs, new[] { 0, 1 }, new SweepParallelism(EnsembleSize: 3, Workers: 2));
        Assert.Equal(10, summary.Done + summary.Diverged);
        var runs = store.Runs("classifier-workers");
        Assert.Equal(10, runs.Count);                                          // no run trained twice
        Assert.All(runs, r => Assert.NotEqual(RunStatus.Failed, r.Status));
        Assert.True(File.Exists(log), "the second worker wrote its log");
        Assert.DoesNotContain("lab sweep-worker:", File.ReadAllText(log));    // it could load the task and its config
        // What was stored is what the run alone gives.
        var alone = ClassifierLora.Train(configs[1], 1, null);
        var stored = store.Grid("classifier-workers", new[] { configs[1] }, new[] { 1 }).Single();
        Assert.True(Relative(stored["train_loss"], alone.FinalMetrics["train_loss"]) < 1e-4);
        Assert.Equal(alone.FinalMetrics["test_accuracy"], stored["test_accuracy"]);
    }
}
