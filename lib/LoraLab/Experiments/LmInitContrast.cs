using LoraLab.BaseModels;
using LoraLab.Checkpoints;
using LoraLab.Data;
using LoraLab.Data.Corpora;
using LoraLab.Data.Results;
using LoraLab.Data.Sweeps;
using LoraLab.Data.Tokenization;
using LoraLab.Lora;
using LoraLab.Models;
using LoraLab.Optim;
using LoraLab.Torch;
using LoraLab.Training;

namespace LoraLab.Experiments;

/// <summary>
/// One LoRA finetuning of the pretrained small LM on JavaScript (lodash, the "code" domain) with one init.
/// BaseKey (the cache key of the base model) is part of the identity, so a rebuilt base is trained again.
/// </summary>
public sealed record LmInitConfig(
    string BaseProfile,
    string BaseKey,
    string Init,
    double LearningRate,
    int Steps,
    int Rank = 8,
    double LoraAlpha = 16,
    string TargetModules = "q_proj,v_proj",
    int EvalEvery = 20,
    int EvalBatches = 8);

/// <summary>The lodash corpus as token streams of the base model's tokenizer: 90% of the files to train on, 10% held out.</summary>
public sealed record CodeDomainTokens(int[] Train, int[] HeldOut)
{
    public static CodeDomainTokens Load(BpeTokenizer tokenizer, DataRoot? root = null, string? cacheDirectory = null)
    {
        var documents = LodashCorpus.Load(root ?? DataRoot.Default());
        // Split by file, in a seeded hash order: a held-out file was never seen in training.
        var shuffled = DeterministicShuffle.Shuffle(documents, d => d.Id, seed: 0);
        int heldOut = Math.Max(1, shuffled.Count / 10);
        string cache = cacheDirectory ?? TokenShardCache.DefaultDirectory();
        var train = TokenShardCache.LoadOrBuild(cache, "lodash-train", shuffled.Skip(heldOut).Select(d => d.Text).ToList(), tokenizer, _ => { });
        var test = TokenShardCache.LoadOrBuild(cache, "lodash-heldout", shuffled.Take(heldOut).Select(d => d.Text).ToList(), tokenizer, _ => { });
        return new CodeDomainTokens(train.Tokens, test.Tokens);
    }
}

/// <summary>Init[A] against Init[B] on the pretrained LM: same data, same learning rate, same steps.</summary>
public static class LmInitContrast
{
    public const string Name = "01-lm-init";

    public static SweepSummary Sweep(ResultsStore store, PretrainedBase baseModel, CodeDomainTokens data, IEnumerable<LmInitConfig> configs,
                                     IEnumerable<int> seeds, TextWriter? progress = null)
    {
        var device = baseModel.Model.parameters()[0].device;
        var runner = new SweepRunner(store, new SweepOptions { Progress = progress ?? TextWriter.Null, Device = device.ToString() });
        return runner.Run(Name, configs, seeds, (config, seed, context) => Run(baseModel, data, config, seed, context));
    }

    /// <summary>
    /// Logs train_loss every step, eval_loss (held-out files) at step 0 and every EvalEvery steps, and
    /// norm_A / norm_BA averaged over the adapted layers every step; final train_loss and eval_loss.
    /// </summary>
    public static RunOutcome Run(PretrainedBase baseModel, CodeDomainTokens data, LmInitConfig config, int seed, RunContext context)
    {
        var device = baseModel.Model.parameters()[0].device;
        var profile = baseModel.Profile;
        // A fresh copy of the base for every run: LoRA changes the model it is applied to.
        using var model = HfCheckpoint.LoadCausalLM(baseModel.Directory, device);
        torch.manual_seed(seed);
        var lora = new LoraConfig(r: config.Rank, lora_alpha: config.LoraAlpha, target_modules: config.TargetModules,
                                  init: Enum.Parse<LoraInit>(config.Init));
        LoraAdapters.Apply(model, lora);
        LoraAdapters.RecordNorms(model);
        var layers = LoraAdapters.Layers(model).Select(l => l.layer).ToList();

        var batches = new TokenWindows(data.Train, profile.ContextLength, profile.BatchSize, seed);
        double HeldOutLoss()
        {
            using var scope = torch.NewDisposeScope();
            double sum = 0;
            int count = 0;
            foreach (var batch in TokenWindows.Sequential(data.HeldOut, profile.ContextLength, profile.BatchSize, config.EvalBatches))
            {
                using (batch) sum += model.Loss(batch.to(device)).ToDouble();
                count++;
            }
            return sum / count;
        }

        using (torch.no_grad()) context.LogMetric(0, "eval_loss", HeldOutLoss());
        var trainable = model.parameters().Where(p => p.requires_grad).ToList();
        using var optimizer = new AdamW(trainable, lr: config.LearningRate, weight_decay: 0);
        var result = Trainer.Run(model, optimizer, Schedules.Constant(),
            (_, _) =>
            {
                var batch = batches.Next(device);
                return new MicroBatchLoss(model.Loss(batch), batch.numel());
            },
            new TrainerOptions { MaxSteps = config.Steps, EvalEvery = config.EvalEvery, ClipGradNorm = 0, ProgressLabel = null },
            evaluate: HeldOutLoss,
            onStep: (_, metrics) =>
            {
                metrics["norm_A"] = layers.Average(l => l.LastNormA);
                metrics["norm_BA"] = layers.Average(l => l.LastNormBA);
            });

        foreach (var (step, name, value) in result.Metrics) context.LogMetric(step, name, value);
        var final = new Dictionary<string, double> { ["train_loss"] = result.FinalTrainLoss };
        if (result.FinalEvalLoss is { } eval) final["eval_loss"] = eval;
        return result.Diverged ? RunOutcome.Diverged(result.DivergenceReason!, final) : RunOutcome.Done(final);
    }

    /// <summary>A metric of the finished run of (config, seed), or an empty series.</summary>
    public static IReadOnlyList<MetricPoint> Series(ResultsStore store, LmInitConfig config, int seed, string metric)
    {
        var job = SweepRunner.Grid(new[] { config }, new[] { seed }).Single();
        var run = store.FinishedRun(Name, job.ConfigHash, seed);
        return run is null ? [] : store.MetricSeries(run.Id, metric);
    }
}
