using LoraLab.BaseModels;
using LoraLab.Data.Sweeps;
using LoraLab.Lora;
using LoraLab.Models;
using LoraLab.Optim;
using LoraLab.Torch;
using LoraLab.Training;

namespace LoraLab.Experiments;

/// <summary>
/// One LoRA finetuning run of the base classifier on a GLUE-like task: everything that decides the
/// run, in the results store's terms (its canonical JSON is the run's identity, so a changed knob is a
/// new run and an unchanged one is reused). Names follow PEFT and Hugging Face's Trainer.
/// </summary>
/// <param name="task">the task's name (<see cref="ClassificationData.Name"/>)</param>
/// <param name="base_model">the pretrained base's cache key, so runs on a rebuilt base are not reused</param>
/// <param name="init">a <see cref="LoraInit"/> name: InitA_KaimingUniform (B = 0) or InitB_KaimingUniform (A = 0)</param>
/// <param name="lr">the learning rate η (of A, and of everything else trainable)</param>
/// <param name="lr_ratio">LoRA+'s λ = η_B / η_A; 1 is plain LoRA</param>
public sealed record GlueRunConfig(
    string task,
    string base_model,
    string init,
    double lr,
    double lr_ratio = 1,
    int r = 8,
    double lora_alpha = 16,
    double lora_dropout = 0.1,
    string target_modules = "q_proj,v_proj",
    int steps = 100,
    int batch_size = 16,
    int max_length = 64,
    double warmup_ratio = 0.06,
    double weight_decay = 0.0,
    double max_grad_norm = 1.0,
    int max_train = int.MaxValue,
    int max_eval = int.MaxValue)
{
    public LoraInit Init => Enum.Parse<LoraInit>(init);

    /// <summary>"Init[A]" or "Init[B]", the paper's names.</summary>
    public string InitLabel => GlueInits.Label(init);
}

/// <summary>The two initializations the notebook compares, by their <see cref="LoraInit"/> names.</summary>
public static class GlueInits
{
    public const string InitA = nameof(LoraInit.InitA_KaimingUniform);
    public const string InitB = nameof(LoraInit.InitB_KaimingUniform);
    public static readonly string[] Both = { InitA, InitB };

    public static string Label(string init) => Enum.Parse<LoraInit>(init).ZeroesB() ? "Init[A]" : "Init[B]";
}

/// <summary>
/// Finetunes a fresh copy of the base classifier with LoRA (adapters on q_proj/v_proj, the `score`
/// head fully trainable as PEFT's modules_to_save), AdamW with LoRA+ parameter groups and a linear
/// schedule with warmup, then measures accuracy on the validation and test splits.
/// </summary>
public static class ClassificationFinetune
{
    /// <summary>Trains one (config, seed) on the pretrained base and returns what the sweep records.</summary>
    public static RunOutcome Run(PretrainedBase baseModel, ClassificationData data, GlueRunConfig config, int seed, RunContext? context = null) =>
        Run(s => BaseClassifier.FromBase(baseModel, data.NumLabels, s), data, config, seed, context);

    /// <summary>
    /// Trains one (config, seed) on a fresh classifier from <paramref name="newClassifier"/> (given the
    /// seed, which also seeds the LoRA factors drawn after it) and returns what the sweep records.
    /// Step losses go to <paramref name="context"/> when given.
    /// </summary>
    public static RunOutcome Run(Func<int, LlamaForSequenceClassification> newClassifier, ClassificationData data, GlueRunConfig config, int seed, RunContext? context = null)
    {
        if (config.task != data.Name) throw new ArgumentException($"the config is for task '{config.task}' but the data is '{data.Name}'", nameof(config));
        using var model = newClassifier(seed);
        var device = model.parameters()[0].device;
        LoraAdapters.Apply(model, LoraConfigOf(config));
        using var optimizer = NewOptimizer(model, config);

        var batches = new EpochSampler(data.Train.Count, config.batch_size, seed);
        var options = new TrainerOptions { MaxSteps = config.steps, ClipGradNorm = config.max_grad_norm, ProgressLabel = null };
        var result = Trainer.Run(model, optimizer, Schedules.Linear(config.steps, config.warmup_ratio),
            (_, _) =>
            {
                var (ids, labels) = data.Batch(data.Train, batches.Next(), device);
                return new MicroBatchLoss(LlamaForSequenceClassification.Loss(model.forward(ids), labels), ids.numel());
            },
            options);

        foreach (var (step, name, value) in result.Metrics)
            if (name == "train_loss") context?.LogMetric(step, name, value);

        double chance = ClassificationData.MajorityAccuracy(data.Test);
        var metrics = new Dictionary<string, double>
        {
            ["test_accuracy"] = Accuracy(model, data, data.Test, device),
            ["validation_accuracy"] = Accuracy(model, data, data.Validation, device),
            ["train_loss"] = TailMean(result.Series("train_loss").Select(p => p.value).ToList()),
            ["chance_accuracy"] = chance,
            ["diverged"] = result.Diverged ? 1 : 0,
            ["seconds"] = result.Elapsed.TotalSeconds,
        };
        return result.Diverged ? RunOutcome.Diverged(result.DivergenceReason!, metrics) : RunOutcome.Done(metrics);
    }

    /// <summary>The PEFT config of a run: the classification head is trained in full (modules_to_save), as PEFT does for SEQ_CLS.</summary>
    public static LoraConfig LoraConfigOf(GlueRunConfig config) =>
        new(r: config.r, lora_alpha: config.lora_alpha, lora_dropout: config.lora_dropout, target_modules: config.target_modules,
            init: config.Init, modules_to_save: "score", task_type: "SEQ_CLS");

    /// <summary>AdamW over LoRA+ groups: lora_A and the head at η, lora_B at λ·η (λ = 1 is plain LoRA).</summary>
    public static AdamW NewOptimizer(LlamaForSequenceClassification model, GlueRunConfig config) =>
        new(LoraPlus.ParamGroups(model, config.lr, config.lr_ratio, config.weight_decay));

    /// <summary>
    /// Accuracy of the model's argmax on a split. A model whose loss blew up can output NaN, and the
    /// argmax of NaNs is meaningless: such an example is scored as the majority-class answer, i.e. a
    /// diverged model counts as no better than chance rather than as worse than chance.
    /// </summary>
    public static double Accuracy(LlamaForSequenceClassification model, ClassificationData data, EncodedSplit split, Device device, int batchSize = 64)
    {
        int majority = split.Labels.GroupBy(l => l).OrderByDescending(g => g.Count()).ThenBy(g => g.Key).First().Key;
        model.eval();
        try
        {
            int correct = 0;
            using var noGrad = torch.no_grad();
            for (int first = 0; first < split.Count; first += batchSize)
            {
                using var scope = torch.NewDisposeScope();
                var indices = Enumerable.Range(first, Math.Min(batchSize, split.Count - first)).ToList();
                var (ids, _) = data.Batch(split, indices, device);
                var logits = model.forward(ids).to(ScalarType.Float32).cpu().data<float>();
                int labels = data.NumLabels;
                for (int i = 0; i < indices.Count; i++)
                {
                    var row = new ArraySegment<float>(logits, i * labels, labels);
                    int answer = row.All(float.IsFinite) ? ArgMax(row) : majority;
                    if (answer == split.Labels[indices[i]]) correct++;
                }
            }
            return split.Count == 0 ? double.NaN : correct / (double)split.Count;
        }
        finally { model.train(); }
    }

    private static int ArgMax(IReadOnlyList<float> values)
    {
        int best = 0;
        for (int i = 1; i < values.Count; i++) if (values[i] > values[best]) best = i;
        return best;
    }

    // The mean of the last tenth of the logged losses: one step's loss is too noisy to compare runs by.
    private static double TailMean(IReadOnlyList<double> losses)
    {
        if (losses.Count == 0) return double.NaN;
        int tail = Math.Max(1, losses.Count / 10);
        return losses.Skip(losses.Count - tail).Average();
    }
}

/// <summary>Indices of shuffled passes over a training set, one batch at a time; the order depends on the seed alone.</summary>
public sealed class EpochSampler(int count, int batchSize, int seed)
{
    private readonly Random random = new(seed);
    private int[] order = Array.Empty<int>();
    private int position;

    public IReadOnlyList<int> Next()
    {
        if (count < 1) throw new InvalidOperationException("the training split is empty");
        var batch = new List<int>(batchSize);
        while (batch.Count < batchSize)
        {
            if (position >= order.Length)
            {
                order = Enumerable.Range(0, count).ToArray();
                random.Shuffle(order);
                position = 0;
            }
            batch.Add(order[position++]);
        }
        return batch;
    }
}
