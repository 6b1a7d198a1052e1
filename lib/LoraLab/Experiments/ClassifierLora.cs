using System.Text.Json.Serialization;
using LoraLab.BaseModels;
using LoraLab.Data;
using LoraLab.Data.Sweeps;
using LoraLab.Data.Tokenization;
using LoraLab.Lora;
using LoraLab.Models;
using LoraLab.Modules;
using LoraLab.Optim;
using LoraLab.Training;
using TorchSharp;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace LoraLab.Experiments;

/// <summary>What a run of notebook 02 trains: LoRA on the target modules, everything else frozen (the verbalizer head
/// included), or the control, the head alone with no LoRA.</summary>
public enum ClassifierMethod { Lora, HeadOnly }

/// <summary>
/// Everything a run of notebook 02 depends on (its JSON is hashed: equal configs are the same run in the store), in
/// PEFT / Hugging Face names: the task ("spam" or "brown-genre-coarse"), the base model (<paramref name="base_profile"/>,
/// the name of its profile, next to its cache key <paramref name="base_model"/>, so that a worker process rebuilds
/// everything from the config alone), the method, LoRA's settings (LoraConfig's names), the optimizer's (AdamW with
/// LoRA+'s two learning rates: A and the head at learning_rate, B at learning_rate · loraplus_lr_ratio) and the data's.
/// A notebook states it once as a recipe and varies it with <c>recipe with { learning_rate = lr }</c>.
/// </summary>
public sealed record ClassifierLoraConfig(string task, string base_profile, string base_model, ClassifierMethod method, LoraInit init,
    double learning_rate, double loraplus_lr_ratio, int r, double lora_alpha, double lora_dropout, string target_modules,
    int max_steps, int batch_size, int max_length, double warmup_ratio, double weight_decay, double max_grad_norm, int max_train, int max_eval)
{
    /// <summary>Whether this run can train in an ensemble: LoRA (whose trainable weights are its factors alone) without
    /// gradient clipping (a clipping norm would be the ensemble's, not the run's). Others train alone.</summary>
    [JsonIgnore] public bool Ensembles => method == ClassifierMethod.Lora && max_grad_norm == 0;

    /// <summary>What runs must share to train as one ensemble: the frozen model and the data (base, task, sizes), the
    /// LoRA layers' shapes and dropout (r, targets, p), and the loop (steps, batch, warmup, weight decay). Seed, init,
    /// learning rate, LoRA+'s ratio and lora_alpha may differ from member to member. PiSSA changes the frozen W by r and
    /// lora_alpha, so its runs share these too. A run that cannot ensemble gets a key of its own. Not part of the JSON.</summary>
    [JsonIgnore]
    public string EnsembleKey => !Ensembles ? "alone " + CanonicalJson.Serialize(this) : FormattableString.Invariant(
        $"lora task={task} base={base_profile}:{base_model} r={r} targets={target_modules} dropout={lora_dropout:R} steps={max_steps} batch={batch_size} max_length={max_length} max_train={max_train} max_eval={max_eval} warmup={warmup_ratio:R} wd={weight_decay:R}{(init == LoraInit.PiSSA ? FormattableString.Invariant($" pissa alpha={lora_alpha:R}") : "")}");

    public void Validate()
    {
        if (!Enum.IsDefined(method)) throw new ArgumentOutOfRangeException(nameof(method), method, "method must be Lora or HeadOnly");
        if (max_steps < 1) throw new ArgumentOutOfRangeException(nameof(max_steps), max_steps, "max_steps must be at least 1");
        if (batch_size < 1) throw new ArgumentOutOfRangeException(nameof(batch_size), batch_size, "batch_size must be at least 1");
        if (max_length < 1) throw new ArgumentOutOfRangeException(nameof(max_length), max_length, "max_length must be at least 1");
        if (!(learning_rate >= 0)) throw new ArgumentOutOfRangeException(nameof(learning_rate), learning_rate, "learning_rate must be 0 or positive");
        if (!(loraplus_lr_ratio > 0)) throw new ArgumentOutOfRangeException(nameof(loraplus_lr_ratio), loraplus_lr_ratio, "loraplus_lr_ratio must be positive");
    }
}

/// <summary>
/// Notebook 02's run as a library task: a GLUE-like classifier (a fresh <see cref="LlamaForSequenceClassification"/> on
/// the pretrained base, its head the verbalizer head) finetuned by LoRA with LoRA+'s two learning rates, or the
/// head-only control. <see cref="Train"/> is one run (the notebook's TrainOne); <see cref="TrainEnsemble"/> trains LoRA
/// runs of one <see cref="ClassifierLoraConfig.EnsembleKey"/> as one ensemble on one shared frozen model
/// (<see cref="LoraEnsemble"/>): each member with its own data order, init, dropout masks and learning rates, and each
/// member's result what Train returns for it, up to float32 rounding. The base model, the encoded tasks and the
/// verbalizer tokens are loaded once per process.
/// </summary>
public sealed class ClassifierLora : ISweepTask<ClassifierLoraConfig>
{
    private ClassifierLora() { }

    /// <summary>Where the cache of base models is (<see cref="TaskBases.CacheVariable"/>).</summary>
    public const string CacheVariable = TaskBases.CacheVariable;

    /// <summary>The largest automatic ensemble on a GPU, where one small run fills a fraction of the device.</summary>
    public const int FastestEnsembleSize = 8;

    /// <summary>Activation memory an ensemble may use (members × batch × length × the model's width): 4 GiB.</summary>
    public const long MemoryBudget = 4L << 30;

    static string ISweepTask<ClassifierLoraConfig>.EnsembleKey(ClassifierLoraConfig c) => c.EnsembleKey;
    static int ISweepTask<ClassifierLoraConfig>.MaxEnsembleSize(ClassifierLoraConfig c) => MaxEnsembleSize(c);
    static RunOutcome ISweepTask<ClassifierLoraConfig>.Train(ClassifierLoraConfig c, int seed, RunContext context) => Train(c, seed, context);
    static IReadOnlyList<RunOutcome> ISweepTask<ClassifierLoraConfig>.TrainEnsemble(IReadOnlyList<(ClassifierLoraConfig config, int seed, RunContext context)> runs) =>
        TrainEnsemble(runs.Select(x => (x.config, x.seed, (RunContext?)x.context)).ToList());

    /// <summary>
    /// How many runs of this config one ensemble holds when the sweep chooses (SweepParallelism.EnsembleSize 0): 1 for a
    /// run that trains alone, and 1 on the CPU: measured with <c>./lab bench sweep --case 02 --phases 1,2,4,8</c> on a
    /// 2-core EPYC (2026-12-05), a step costs about 38 ms per member and no part of it is shared (2026-12-03, before the
    /// last block was computed at the read token only: 6 ms shared plus 76 ms per member), and whole sweeps in ensembles
    /// of 8 ran at 0.79x one run at a time (their activations no longer fit the cache); worker processes are the CPU's
    /// speed-up. On a GPU, as many as
    /// the memory budget allows for the activations a step keeps for backward (about 4 bytes × layers × (16·hidden +
    /// 4·intermediate) per token, a member's tokens being batch_size × max_length), at most
    /// <see cref="FastestEnsembleSize"/>. An explicit ensemble size overrides this.
    /// </summary>
    public static int MaxEnsembleSize(ClassifierLoraConfig c, DeviceType? device = null)
    {
        if (!c.Ensembles) return 1;
        if ((device ?? (torch.cuda.is_available() ? DeviceType.CUDA : DeviceType.CPU)) != DeviceType.CUDA) return 1;
        var m = BaseModelProfile.Named(c.base_profile).Model;
        long perToken = 4L * m.num_hidden_layers * (16L * m.hidden_size + 4L * m.intermediate_size);
        long perMember = perToken * c.batch_size * c.max_length;
        return (int)Math.Clamp(MemoryBudget / Math.Max(1, perMember), 1, FastestEnsembleSize);
    }

    /// <summary>One run (notebook 02's TrainOne), recorded in <paramref name="context"/> when given.</summary>
    public static RunOutcome Train(ClassifierLoraConfig c, int seed, RunContext? context)
    {
        c.Validate();
        var (baseModel, data, verbalizer) = Load(c);
        using var model = Build(c, seed, baseModel, data, verbalizer);
        if (c.method == ClassifierMethod.HeadOnly) return TrainHead(c, seed, context, model, data);
        using var optimizer = new AdamW(LoraPlus.ParamGroups(model, c.learning_rate, c.loraplus_lr_ratio, c.weight_decay));

        var device = model.device();
        var batches = new EpochSampler(data.Train.Count, c.batch_size, seed);     // the seed fixes the data order
        var result = Trainer.Run(model, optimizer, Schedules.Linear(c.max_steps, c.warmup_ratio), (_, _) =>
        {
            var (ids, labels) = data.Batch(data.Train, batches.Next(), device);
            return new MicroBatchLoss(LlamaForSequenceClassification.Loss(model.forward(ids), labels), ids.numel());
        }, new TrainerOptions { MaxSteps = c.max_steps, ClipGradNorm = c.max_grad_norm, ProgressLabel = null });

        return Outcome(result, context, data, ClassifierEvaluation.Of(model, data, data.Validation), ClassifierEvaluation.Of(model, data, data.Test));
    }

    /// <summary>
    /// The head-only control, as <see cref="Train"/> would run it through the whole model, without the backbone's forward
    /// passes: the backbone is frozen, so the state the head reads (each e-mail's last token) is the same in every run of a
    /// task; those states are computed once per process (<see cref="HeadFeatures"/>) and the head trains on them with the
    /// same optimizer, schedule, data order, batches and token counts, and is scored on them by the same rule.
    /// </summary>
    private static RunOutcome TrainHead(ClassifierLoraConfig c, int seed, RunContext? context, LlamaForSequenceClassification model, ClassificationData data)
    {
        var features = HeadFeatures(c, model, data);
        using var optimizer = new AdamW(LoraPlus.ParamGroups(model, c.learning_rate, c.loraplus_lr_ratio, c.weight_decay));
        var batches = new EpochSampler(data.Train.Count, c.batch_size, seed);     // the seed fixes the data order
        var result = Trainer.Run(model, optimizer, Schedules.Linear(c.max_steps, c.warmup_ratio), (_, _) =>
        {
            var rows = batches.Next();
            var index = torch.tensor(rows.Select(i => (long)i).ToArray(), device: features.train.device);
            var labels = torch.tensor(rows.Select(i => (long)data.Train.Labels[i]).ToArray(), device: features.train.device);
            long tokens = rows.Count * (long)Math.Max(1, rows.Max(i => data.Train.Ids[i].Length));   // the padded batch's, as Train counts them
            return new MicroBatchLoss(LlamaForSequenceClassification.Loss(model.score.call(features.train.index_select(0, index)), labels), tokens);
        }, new TrainerOptions { MaxSteps = c.max_steps, ClipGradNorm = c.max_grad_norm, ProgressLabel = null });

        using var noGrad = torch.no_grad();
        using var validation = model.score.call(features.validation);
        using var test = model.score.call(features.test);
        return Outcome(result, context, data, ClassifierEvaluation.OfLogits(validation, data.Validation), ClassifierEvaluation.OfLogits(test, data.Test));
    }

    private static readonly Dictionary<string, (Tensor train, Tensor validation, Tensor test)> headFeatures = new();

    /// <summary>The frozen backbone's last-token states of every example of the task's three splits ([N, hidden] each),
    /// once per process and task: they depend on the base and the encoded task only, never on a run.</summary>
    private static (Tensor train, Tensor validation, Tensor test) HeadFeatures(ClassifierLoraConfig c, LlamaForSequenceClassification model, ClassificationData data)
    {
        string key = $"{c.base_profile}:{c.base_model}|{c.task}|{c.max_length}|{c.max_train}|{c.max_eval}";
        lock (gate)
        {
            if (headFeatures.TryGetValue(key, out var cached)) return cached;
            Tensor Of(EncodedSplit split) => model.Evaluating(() =>
            {
                using var noGrad = torch.no_grad();
                var parts = new List<Tensor>();
                for (int first = 0; first < split.Count; first += 64)
                {
                    using var scope = torch.NewDisposeScope();
                    var (ids, _) = data.Batch(split, Enumerable.Range(first, Math.Min(64, split.Count - first)).ToList(), model.device());
                    parts.Add(model.LastTokenStates(ids).MoveToOuterDisposeScope());
                }
                var all = parts.Count == 0 ? torch.zeros(0, model.config.hidden_size, device: model.device()) : torch.cat(parts, 0);
                foreach (var part in parts) part.Dispose();
                return all.DetachFromDisposeScope();
            });
            return headFeatures[key] = (Of(data.Train), Of(data.Validation), Of(data.Test));
        }
    }

    /// <summary>
    /// Runs of one ensemble key trained as one ensemble of E members on one frozen model: each member's model is built as
    /// Train builds it (then <see cref="LoraEnsemble.FromMembers"/> stacks their factors and keeps one frozen copy), each
    /// step takes every member's own next batch (its own EpochSampler), padded on the right to the longest of the step
    /// (exact: attention is causal and the head reads the last non-pad token), and the loss is one mean per member [E].
    /// LoRA+ is two ensemble parameter groups, Aᵀ at lr_e and Bᵀ at lr_e · λ_e (ParamGroup.member_lr), under
    /// Schedules.Linear. A member that diverges is stopped and recorded at that step (its accuracies are those of its
    /// weights then, as for the run alone); the others go on. Runs that cannot ensemble train one after another.
    /// </summary>
    public static IReadOnlyList<RunOutcome> TrainEnsemble(IReadOnlyList<(ClassifierLoraConfig config, int seed, RunContext? context)> runs)
    {
        if (runs.Count == 0) return Array.Empty<RunOutcome>();
        foreach (var (config, _, _) in runs) config.Validate();
        string key = runs[0].config.EnsembleKey;
        if (runs.Any(x => x.config.EnsembleKey != key))
            throw new ArgumentException("an ensemble's runs must share one EnsembleKey (base, task, sizes, r, targets, dropout, steps, batch, warmup, weight decay)", nameof(runs));
        if (runs.Count == 1 || !runs[0].config.Ensembles) return runs.Select(x => Train(x.config, x.seed, x.context)).ToList();

        var c0 = runs[0].config;
        int E = runs.Count;
        var (baseModel, data, verbalizer) = Load(c0);
        var members = new List<LlamaForSequenceClassification>();
        LoraEnsemble<LlamaForSequenceClassification> ensemble;
        try
        {
            foreach (var (config, seed, _) in runs) members.Add(Build(config, seed, baseModel, data, verbalizer));
            ensemble = LoraEnsemble.FromMembers(members);
        }
        catch
        {
            foreach (var m in members) m.Dispose();
            throw;
        }
        using var _ = ensemble;
        var model = ensemble.model;
        var device = model.device();

        var groups = new[]
        {
            new ParamGroup(ensemble.A, lr: 1, c0.weight_decay, "lora_A") { member_lr = runs.Select(x => x.config.learning_rate).ToArray() },
            new ParamGroup(ensemble.B, lr: 1, c0.weight_decay, "lora_B") { member_lr = runs.Select(x => x.config.learning_rate * x.config.loraplus_lr_ratio).ToArray() },
        };
        using var optimizer = new AdamW(groups);
        var samplers = runs.Select(x => new EpochSampler(data.Train.Count, c0.batch_size, x.seed)).ToList();
        var tokens = new long[E];
        // Each member's factors after its last step: a member that diverges is evaluated on its weights at that step.
        var factors = ensemble.A.Concat(ensemble.B).ToList();
        var kept = factors.Select(p => p.detach().clone().DetachFromDisposeScope()).ToList();

        var results = EnsembleTrainer.Run(model, optimizer, E, Schedules.Linear(c0.max_steps, c0.warmup_ratio), _ =>
            {
                var batches = samplers.Select(s => s.Next()).ToList();
                var sequences = batches.SelectMany(rows => rows.Select(i => data.Train.Ids[i])).ToList();
                var labels = batches.SelectMany(rows => rows.Select(i => data.Train.Labels[i])).ToList();
                var lengths = batches.Select(rows => (long)Math.Max(1, rows.Max(i => data.Train.Ids[i].Length))).ToArray();
                for (int e = 0; e < E; e++) tokens[e] = lengths[e] * c0.batch_size;
                ensemble.SetMemberLengths(lengths);
                var (ids, labelTensor) = BaseClassifier.PadRight(sequences, labels, data.PadId, device: device);   // [E·b, T]
                return F.cross_entropy(model.forward(ids), labelTensor, reduction: nn.Reduction.None).view(E, -1).mean(new long[] { 1 });
            },
            new TrainerOptions { MaxSteps = c0.max_steps, ProgressLabel = null },
            onStep: (_, metrics) =>
            {
                using var scope = torch.NewDisposeScope();
                using var noGrad = torch.no_grad();
                bool all = metrics.All(m => m is not null);
                for (int i = 0; i < factors.Count; i++)
                    if (all) kept[i].copy_(factors[i]);
                    else for (int e = 0; e < E; e++) if (metrics[e] is not null) kept[i][e].copy_(factors[i][e]);
            },
            memberTokens: e => tokens[e]);

        ensemble.SetMemberLengths(null);
        using (torch.NewDisposeScope())
        using (torch.no_grad())
            for (int i = 0; i < factors.Count; i++)
                for (int e = 0; e < E; e++)
                    if (results[e].Diverged) factors[i][e].copy_(kept[i][e]);
        foreach (var t in kept) t.Dispose();
        var validation = ClassifierEvaluation.OfMembers(model, E, data, data.Validation);
        var test = ClassifierEvaluation.OfMembers(model, E, data, data.Test);
        return Enumerable.Range(0, E).Select(e => Outcome(results[e], runs[e].context, data, validation[e], test[e])).ToList();
    }

    /// <summary>A run's model, built as notebook 02 builds it: a fresh classifier from the base (its seed fixes the head's
    /// init and LoRA's), the verbalizer head, then LoRA on the target modules (which freezes everything else, the head
    /// included) or, for the control, only the head trainable.</summary>
    private static LlamaForSequenceClassification Build(ClassifierLoraConfig c, int seed, PretrainedBase baseModel, ClassificationData data, int[] verbalizer)
    {
        var model = BaseClassifier.FromBase(baseModel, data.NumLabels, seed);
        try
        {
            VerbalizerHead.Apply(model, baseModel.Model, verbalizer);          // label k's logit: the LM's logit of its token
            if (c.method == ClassifierMethod.Lora)
                LoraAdapters.Apply(model, new LoraConfig(r: c.r, lora_alpha: c.lora_alpha, lora_dropout: c.lora_dropout,
                                                         target_modules: c.target_modules, init: c.init, task_type: "SEQ_CLS"));
            else
                foreach (var (name, p) in model.named_parameters()) p.requires_grad = name.StartsWith("score.");
            return model;
        }
        catch
        {
            model.Dispose();
            throw;
        }
    }

    private static RunOutcome Outcome(TrainingResult result, RunContext? context, ClassificationData data, SplitScore validation, SplitScore test)
    {
        var losses = result.Series("train_loss").Select(p => p.value).ToList();
        var frequencies = data.Train.Labels.GroupBy(l => l).Select(g => g.Count() / (double)data.Train.Count);
        return RunOutcome.From(result, context, new Dictionary<string, double>
        {
            ["validation_accuracy"] = validation.Accuracy,
            ["test_accuracy"] = test.Accuracy,
            ["validation_loss"] = validation.CrossEntropy,   // the label's cross-entropy: what notebook 02 selects η on
            ["test_loss"] = test.CrossEntropy,
            ["chance_accuracy"] = ClassificationData.MajorityAccuracy(data.Test),
            ["tail_train_loss"] = losses.TakeLast(Math.Max(1, losses.Count / 4)).Average(),
            ["prior_loss"] = -frequencies.Sum(f => f * Math.Log(f)),
        });
    }

    // ---- what every run of a process shares: the base model, the encoded tasks, the verbalizer tokens ----

    private static readonly object gate = new();
    private static readonly Dictionary<string, (ClassificationData data, int[] verbalizer)> tasks = new();

    /// <summary>The corpora and the cache folder this process reads (<see cref="TaskBases.Sources"/>).</summary>
    public static (DataRoot corpora, string cache) Sources => TaskBases.Sources;

    /// <summary>The base model of a profile, loaded once per process and shared with every task's runs (<see cref="TaskBases"/>).</summary>
    public static PretrainedBase BaseModel(string profile) => TaskBases.BaseModel(profile);

    /// <summary>A task encoded for a base model (cut to max_length tokens, max_train and max_eval examples) and its
    /// verbalizer tokens, once per process.</summary>
    public static (ClassificationData data, int[] verbalizer) TaskData(string profile, string task, int max_length, int max_train, int max_eval)
    {
        var baseModel = BaseModel(profile);
        var (corpora, cache) = Sources;
        lock (gate)
        {
            string key = $"{corpora}|{cache}|{profile}|{task}|{max_length}|{max_train}|{max_eval}";
            if (!tasks.TryGetValue(key, out var encoded))
            {
                var data = ClassificationData.Encode(LoadTask(task, corpora), baseModel.Tokenizer, max_length, max_train, max_eval);
                tasks[key] = encoded = (data, VerbalizerHead.Tokens(baseModel.Tokenizer, data.LabelNames));
            }
            return encoded;
        }
    }

    private static readonly Dictionary<string, Func<DataRoot, ClassificationTask>> taskLoaders = new()
    {
        ["spam"] = corpora => ClassificationTask.SpamVsHam(corpora),
        ["brown-genre-coarse"] = corpora => ClassificationTask.BrownGenre(corpora, coarse: true),
    };

    /// <summary>A task by its name in the config: "spam" (SpamAssassin, ham vs spam), "brown-genre-coarse" (Brown
    /// passages, 4 coarse genres), or one registered in this process.</summary>
    public static ClassificationTask LoadTask(string name, DataRoot corpora)
    {
        Func<DataRoot, ClassificationTask>? load;
        lock (gate) taskLoaders.TryGetValue(name, out load);
        return load?.Invoke(corpora) ?? throw new ArgumentException($"unknown task '{name}': {string.Join(", ", taskLoaders.Keys)}", nameof(name));
    }

    /// <summary>Adds a task of this process's own (another split, say) under a name configs can use. Only this process
    /// knows it: a sweep of such runs must not use worker processes (SweepParallelism.Workers = 1).</summary>
    public static void RegisterTask(string name, Func<DataRoot, ClassificationTask> load)
    {
        lock (gate) taskLoaders[name] = load;
    }

    private static (PretrainedBase baseModel, ClassificationData data, int[] verbalizer) Load(ClassifierLoraConfig c)
    {
        var baseModel = TaskBases.BaseModel(c.base_profile, c.base_model);     // refuses a base that is not the config's
        var (data, verbalizer) = TaskData(c.base_profile, c.task, c.max_length, c.max_train, c.max_eval);
        return (baseModel, data, verbalizer);
    }
}
