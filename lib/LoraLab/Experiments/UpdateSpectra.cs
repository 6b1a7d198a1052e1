using System.Text.Json.Serialization;
using LoraLab.Analysis;
using LoraLab.BaseModels;
using LoraLab.Data;
using LoraLab.Data.Sweeps;
using LoraLab.Lora;
using LoraLab.Models;
using LoraLab.Modules;
using LoraLab.Optim;
using LoraLab.Training;
using TorchSharp;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace LoraLab.Experiments;

/// <summary>What a run of notebook 04's part 1 finetunes on: code (continued pretraining of the language model on
/// lodash, Biderman et al.'s CPT setting; metric: the held-out next-token loss) or spam (the base classifier with a fresh
/// head on spam vs ham; metric: test accuracy).</summary>
public enum SpectraTask { Code, Spam }

/// <summary>
/// Everything a run of notebook 04's part 1 (Biderman et al. 2024, Sec. 4.6: the spectra of finetuning updates) depends
/// on; its JSON is hashed, so equal configs are the same run in the store. Names follow PEFT and Hugging Face.
/// <para>Full finetuning (<see cref="FinetuneMethod.Full"/>) is one run trained to the longest of
/// <paramref name="checkpoint_steps"/> and saved at each of them (cached under data/cache/finetune); a config analyses
/// the checkpoint at <paramref name="max_steps"/>, which must be one of them. With a constant rate after
/// <paramref name="warmup_steps"/> of linear warmup, the checkpoint at L steps is exactly a run of L steps. LoRA
/// (<see cref="FinetuneMethod.Lora"/>, rank <paramref name="r"/> on <paramref name="target_modules"/>) trains
/// <paramref name="max_steps"/> steps; its checkpoint_steps is empty and full finetuning's LoRA settings are 0 and "".
/// Both use AdamW without weight decay, batches of <paramref name="batch_size"/> (windows of
/// <paramref name="max_length"/> code tokens, or random e-mails cut to max_length tokens) and clipping at
/// <paramref name="max_grad_norm"/>. <paramref name="max_train"/> and <paramref name="max_eval"/> size the spam splits;
/// for code, max_eval is the number of held-out windows scored.</para>
/// </summary>
public sealed record UpdateSpectraConfig(
    SpectraTask task, FinetuneMethod method,
    int r, double lora_alpha, string target_modules,
    double learning_rate, long max_steps, long[] checkpoint_steps, long warmup_steps, double max_grad_norm,
    int batch_size, int max_length, int max_train, int max_eval, string base_model, string base_profile)
{
    // What a notebook shows when it displays a config: the fields, the checkpoint lengths as a list (a record would print
    // the array's type), and not the derived MetricName.
    private bool PrintMembers(System.Text.StringBuilder builder)
    {
        builder.Append(FormattableString.Invariant($"task = {task}, method = {method}, r = {r}, lora_alpha = {lora_alpha}, target_modules = \"{target_modules}\", "));
        builder.Append(FormattableString.Invariant($"learning_rate = {learning_rate}, max_steps = {max_steps}, checkpoint_steps = [{string.Join(", ", checkpoint_steps ?? [])}], "));
        builder.Append(FormattableString.Invariant($"warmup_steps = {warmup_steps}, max_grad_norm = {max_grad_norm}, batch_size = {batch_size}, max_length = {max_length}, "));
        builder.Append(FormattableString.Invariant($"max_train = {max_train}, max_eval = {max_eval}, base_model = {base_model}, base_profile = {base_profile}"));
        return true;
    }

    /// <summary>The metric of the task: "heldout_loss" (code) or "test_accuracy" (spam).</summary>
    [JsonIgnore] public string MetricName => task == SpectraTask.Spam ? "test_accuracy" : "heldout_loss";

    /// <summary>Throws an <see cref="ArgumentException"/> that names the field when the config cannot be a run.</summary>
    public void Validate()
    {
        if (!Enum.IsDefined(task)) throw new ArgumentException($"task {task} is not Code or Spam", nameof(task));
        if (method == FinetuneMethod.Full)
        {
            if (checkpoint_steps is null || checkpoint_steps.Length == 0 || checkpoint_steps.Any(s => s < 1))
                throw new ArgumentException("full finetuning needs checkpoint_steps: the positive lengths its one run is saved at", nameof(checkpoint_steps));
            if (!checkpoint_steps.Contains(max_steps))
                throw new ArgumentException($"max_steps {max_steps} is not one of checkpoint_steps ({string.Join(", ", checkpoint_steps)})", nameof(max_steps));
            if (r != 0 || lora_alpha != 0 || target_modules != "")
                throw new ArgumentException($"full finetuning uses no LoRA settings: r and lora_alpha must be 0 and target_modules \"\" (got {r}, {lora_alpha}, \"{target_modules}\")", nameof(method));
        }
        else if (method == FinetuneMethod.Lora)
        {
            if (r < 1) throw new ArgumentException($"LoRA needs r of at least 1, got {r}", nameof(r));
            if (!(lora_alpha > 0)) throw new ArgumentException($"LoRA needs a positive lora_alpha, got {lora_alpha}", nameof(lora_alpha));
            if (string.IsNullOrWhiteSpace(target_modules)) throw new ArgumentException("LoRA needs target_modules (e.g. \"all-linear\")", nameof(target_modules));
            if (checkpoint_steps is null || checkpoint_steps.Length != 0) throw new ArgumentException("LoRA runs save no checkpoints: checkpoint_steps must be empty", nameof(checkpoint_steps));
        }
        else throw new ArgumentException($"method {method} is not Full or Lora (the base has no update to analyse)", nameof(method));
        if (max_steps < 1) throw new ArgumentException($"max_steps must be at least 1, got {max_steps}", nameof(max_steps));
        if (!(learning_rate > 0)) throw new ArgumentException($"learning_rate must be positive, got {learning_rate}", nameof(learning_rate));
        if (warmup_steps < 0) throw new ArgumentException($"warmup_steps must be 0 or more, got {warmup_steps}", nameof(warmup_steps));
        if (!(max_grad_norm >= 0)) throw new ArgumentException($"max_grad_norm must be 0 (no clipping) or positive, got {max_grad_norm}", nameof(max_grad_norm));
        if (batch_size < 1 || max_length < 2) throw new ArgumentException($"batch_size must be at least 1 and max_length at least 2, got {batch_size} and {max_length}", nameof(batch_size));
        if (max_train < 1 || max_eval < 1) throw new ArgumentException($"max_train and max_eval must be at least 1, got {max_train} and {max_eval}", nameof(max_train));
        if (string.IsNullOrWhiteSpace(base_profile)) throw new ArgumentException("base_profile names the base model's profile (e.g. \"quick\")", nameof(base_profile));
    }
}

/// <summary>
/// Notebook 04's part 1 as a library task. A full-finetuning run loads its checkpoint (training the checkpointed run
/// once, when no process has yet) and records, for every projection W of every layer, rank90(Δ) of Δ = W_ft − W_pre
/// ("rank90/{name}") and the singular values of W_pre, W_ft and Δ as series ("sigma_pre/{name}", "sigma_ft/{name}",
/// "sigma_delta/{name}"); a LoRA run trains and records rank90 of each learned update (α/r) B A. Both record their
/// metric (<see cref="UpdateSpectraConfig.MetricName"/>). The base, the code and the spam data load once per process.
/// </summary>
public sealed class UpdateSpectra : ISoloSweepTask<UpdateSpectra, UpdateSpectraConfig>
{
    private UpdateSpectra() { }

    // Full-finetuning runs share one checkpointed run, and FinetuneCheckpoints lets one process train it while the others
    // wait for it; every run trains (or analyses) alone.
    static RunOutcome ISweepTask<UpdateSpectraConfig>.Train(UpdateSpectraConfig c, int seed, RunContext context) => Train(c, seed, context);

    /// <summary>One run, recorded in <paramref name="context"/> when given.</summary>
    public static RunOutcome Train(UpdateSpectraConfig c, int seed, RunContext? context)
    {
        c.Validate();
        var data = Data(c);
        using var model = data.NewModel(c.task, seed);
        if (c.method == FinetuneMethod.Full) return AnalyseCheckpoint(c, seed, context, data, model);

        LoraAdapters.Apply(model, new LoraConfig(r: c.r, lora_alpha: c.lora_alpha, target_modules: c.target_modules,
                                                 modules_to_save: c.task == SpectraTask.Spam ? "score" : "",
                                                 task_type: c.task == SpectraTask.Spam ? "SEQ_CLS" : "CAUSAL_LM"));
        var result = Finetune(model, c, c.max_steps, seed, data);
        var metrics = new Dictionary<string, double>();
        foreach (var (name, layer) in LoraAdapters.Layers(model))
            using (var delta = layer.Delta()) metrics[$"rank90/{name}"] = Spectra.Rank90(delta);
        metrics[c.MetricName] = data.Evaluate(model, c);
        return RunOutcome.From(result, context, metrics);
    }

    // The checkpoint at max_steps of the one full-finetuning run, and the spectra of its update of every projection.
    private static RunOutcome AnalyseCheckpoint(UpdateSpectraConfig c, int seed, RunContext? context, UpdateSpectraData data, nn.Module model)
    {
        var checkpoints = FinetuneCheckpoints.LoadOrTrain($"04-full-{c.base_profile}-{c.task}".ToLowerInvariant(),
            new { recipe = c with { max_steps = c.checkpoint_steps.Max() }, seed }, c.checkpoint_steps, save =>
            {
                using var trained = data.NewModel(c.task, seed);
                Finetune(trained, c, c.checkpoint_steps.Max(), seed, data, step => save(step, trained));
            }, cacheDirectory: TaskBases.Sources.cache);
        var state = checkpoints.Load(c.max_steps);
        try
        {
            model.load_state_dict_checked(state);
            var metrics = new Dictionary<string, double> { ["steps"] = c.max_steps };
            foreach (var name in data.Projections)
            {
                using var scope = torch.NewDisposeScope();
                var pre = data.Pretrained[name + ".weight"];
                var ft = state[name + ".weight"];
                double[] sPre = Spectra.SingularValues(pre), sFt = Spectra.SingularValues(ft), sDelta = Spectra.SingularValues(ft - pre);
                metrics[$"rank90/{name}"] = Spectra.RankFor(sDelta);
                Record(context, $"sigma_pre/{name}", sPre);
                Record(context, $"sigma_ft/{name}", sFt);
                Record(context, $"sigma_delta/{name}", sDelta);
            }
            metrics[c.MetricName] = data.Evaluate(model, c);
            return RunOutcome.Done(metrics);
        }
        finally
        {
            foreach (var t in state.Values) t.Dispose();
        }
    }

    // A spectrum as a series: the i-th singular value at "step" i (1-based), largest first.
    private static void Record(RunContext? context, string name, double[] sigma)
    {
        for (int i = 0; i < sigma.Length; i++) context?.LogMetric(i + 1, name, sigma[i]);
    }

    /// <summary>Trains every trainable weight of <paramref name="model"/> for <paramref name="steps"/> steps: AdamW
    /// without weight decay, <see cref="Schedules.ConstantWithWarmup"/>, clipping; <paramref name="afterStep"/> sees the
    /// model after each step.</summary>
    private static TrainingResult Finetune(nn.Module model, UpdateSpectraConfig c, long steps, int seed, UpdateSpectraData data, Action<long>? afterStep = null)
    {
        using var optimizer = new AdamW(model.parameters().Where(p => p.requires_grad), lr: c.learning_rate, weight_decay: 0.0);
        return Trainer.Run(model, optimizer, Schedules.ConstantWithWarmup(c.warmup_steps), data.Batches(model, c, seed),
            new TrainerOptions { MaxSteps = steps, ClipGradNorm = c.max_grad_norm, LogEvery = 5, ProgressLabel = null },
            onStep: (step, _) => afterStep?.Invoke(step));
    }

    // ---- what every run of a process shares ----

    private static readonly object gate = new();
    private static readonly Dictionary<string, UpdateSpectraData> datas = new();

    /// <summary>The base and the data of a config's runs, loaded once per process; throws when the cached base of the
    /// config's profile is not the one its key names.</summary>
    public static UpdateSpectraData Data(UpdateSpectraConfig c)
    {
        TaskBases.BaseModel(c.base_profile, c.base_model);     // refuses a base that is not the config's
        return Data(c.base_profile, c.max_length, c.max_train, c.max_eval);
    }

    /// <summary>The base of a profile and both tasks' data (spam e-mails cut to max_length tokens, max_train and
    /// max_eval of them), once per process.</summary>
    public static UpdateSpectraData Data(string profile, int max_length, int max_train, int max_eval)
    {
        var baseModel = TaskBases.BaseModel(profile);
        lock (gate)
        {
            string key = $"{TaskBases.Sources}|{profile}|{max_length}|{max_train}|{max_eval}";
            if (!datas.TryGetValue(key, out var data))
                datas[key] = data = new UpdateSpectraData(baseModel, profile, max_length, max_train, max_eval);
            return data;
        }
    }
}

/// <summary>The base model of notebook 04's part 1, its projections and pretrained weights, and its two targets:
/// lodash (<see cref="CodeSplits"/>, the same split as notebook 03's) and spam (<see cref="ClassifierLora.TaskData"/>).</summary>
public sealed class UpdateSpectraData
{
    internal UpdateSpectraData(PretrainedBase baseModel, string profile, int max_length, int max_train, int max_eval)
    {
        Base = baseModel;
        Code = TaskBases.Code(profile);
        Spam = ClassifierLora.TaskData(profile, "spam", max_length, max_train, max_eval).data;
        // The projections' names and shapes come from the profile's config (a model on the meta device has shapes and no
        // data), so that they are known without the weights: a render-only base may have none.
        using (var meta = new LlamaForCausalLM(baseModel.Profile.Model, ScalarType.Float32, torch.META))
            Shapes = meta.named_parameters().Where(p => p.name.StartsWith("model.layers.") && p.name.EndsWith("_proj.weight"))
                         .ToDictionary(p => p.name[..^".weight".Length], p => p.parameter.shape);
        Projections = Shapes.Keys.ToList();
    }

    public PretrainedBase Base { get; }
    public CodeSplits Code { get; }
    public ClassificationData Spam { get; }
    /// <summary>The base's weights by name (owned by the base model: never dispose them).</summary>
    public IReadOnlyDictionary<string, Tensor> Pretrained => pretrained ??= Base.Model.named_parameters().ToDictionary(p => p.name, p => (Tensor)p.parameter);
    private IReadOnlyDictionary<string, Tensor>? pretrained;
    /// <summary>Every projection of every layer ("model.layers.0.self_attn.q_proj", ...), in the model's order.</summary>
    public IReadOnlyList<string> Projections { get; }
    /// <summary>Each projection's weight shape, [out, in].</summary>
    public IReadOnlyDictionary<string, long[]> Shapes { get; }
    public Device Device => Base.Device;

    /// <summary>A fresh model of a run: a copy of the base language model (code, in the base's dtype), or the base classifier with a fresh head
    /// drawn from the seed (spam). The global generator is seeded first, so what draws next (LoRA's A) depends on the seed
    /// alone, not on what ran before in this process.</summary>
    public nn.Module NewModel(SpectraTask task, int seed)
    {
        torch.manual_seed(seed);
        return task == SpectraTask.Spam ? BaseClassifier.FromBase(Base, 2, seed) : Base.FreshCopy();
    }

    /// <summary>The loss of one random batch: next-token loss on random windows of the code, or cross-entropy on random
    /// training e-mails.</summary>
    public Func<long, int, MicroBatchLoss> Batches(nn.Module model, UpdateSpectraConfig c, int seed)
    {
        if (model is LlamaForCausalLM lm)
        {
            var windows = new TokenWindows(Code.Train, c.max_length, c.batch_size, seed);
            return (_, _) => { var ids = windows.Next(Device); return new MicroBatchLoss(lm.Loss(ids), ids.numel()); };
        }
        var classifier = (LlamaForSequenceClassification)model;
        var random = new Random(seed);
        return (_, _) =>
        {
            var (ids, labels) = Spam.Batch(Spam.Train, Enumerable.Range(0, c.batch_size).Select(_ => random.Next(Spam.Train.Count)).ToList(), Device);
            return new MicroBatchLoss(F.cross_entropy(classifier.forward(ids), labels), ids.numel());
        };
    }

    /// <summary>The held-out next-token loss on max_eval windows of the code's test files, or the spam test accuracy.</summary>
    public double Evaluate(nn.Module model, UpdateSpectraConfig c)
    {
        if (model is not LlamaForSequenceClassification classifier) return HeldOutLoss.Evaluate((LlamaForCausalLM)model, Code.Test, c.max_length, 16, c.max_eval).Loss;
        if (Spam.Test.Count == 0) throw new InvalidOperationException("the spam task's test split is empty: there is nothing to score the classifier on (too few e-mails in the corpus)");
        return ClassifierEvaluation.Of(classifier, Spam, Spam.Test).Accuracy;
    }
}
