using System.Text.Json.Serialization;
using System.Text.RegularExpressions;
using LoraLab.BaseModels;
using LoraLab.Data;
using LoraLab.Data.Corpora;
using LoraLab.Data.Sweeps;
using LoraLab.Data.Tokenization;
using LoraLab.Generation;
using LoraLab.Lora;
using LoraLab.Models;
using LoraLab.Modules;
using LoraLab.Optim;
using LoraLab.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace LoraLab.Experiments;

/// <summary>What a run finetunes: nothing (the untrained base, evaluated as a reference point), every weight, or LoRA
/// adapters of rank <see cref="DomainFinetuneConfig.r"/> on <see cref="DomainFinetuneConfig.target_modules"/>.</summary>
public enum FinetuneMethod { Base, Full, Lora }

/// <summary>The target domain of notebook 03: code continued pretraining (lodash, next-token loss on every token,
/// inverse-square-root schedule with a cooldown) or math instruction finetuning (word problems, loss on the answer
/// tokens only, cosine schedule).</summary>
public enum FinetuneDomain { Code, Math }

/// <summary>
/// Everything a run of notebook 03 (Biderman et al. 2024, "LoRA Learns Less and Forgets Less") depends on: its JSON is
/// hashed, so equal configs are the same run in the store. Names follow PEFT and Hugging Face's TrainingArguments.
/// <paramref name="base_profile"/> names the base model's profile next to its cache key <paramref name="base_model"/>,
/// so a worker process rebuilds the base and the data from the config alone.
/// <para>The LoRA settings (r, lora_alpha, lora_dropout, target_modules) belong to <see cref="FinetuneMethod.Lora"/>
/// alone: for full finetuning and the base they must be 0 and "" (so equal runs hash equally); r = 0 never means
/// "full". The base trains nothing: its max_steps and learning_rate are 0. Code reads warmup_ratio, cooldown_ratio and
/// alpha_f_decay (LLM Foundry's inv_sqrt_with_warmup, t_scale = the warmup); math reads warmup_ratio and
/// min_lr_ratio (cosine). math_train and math_eval size the math splits; they also set how far the base's context is
/// widened, for both domains. exact_match_problems: how many math test problems are answered greedily and scored
/// (0: none; code ignores it).</para>
/// </summary>
public sealed record DomainFinetuneConfig(
    FinetuneDomain domain, FinetuneMethod method,
    int r, double lora_alpha, double lora_dropout, string target_modules,
    string optim, double learning_rate, double beta1, double beta2, double weight_decay, double max_grad_norm,
    long max_steps, int batch_size, double warmup_ratio, double cooldown_ratio, double alpha_f_decay, double min_lr_ratio,
    string base_model, string base_profile, int eval_windows, int math_train, int math_eval, int exact_match_problems)
{
    /// <summary>The method as the notebook's tables and legends name it: "base", "full" or "r=4". A label, never parsed
    /// back: the method is <see cref="method"/> and the rank <see cref="r"/>. Not part of the JSON.</summary>
    [JsonIgnore] public string MethodLabel => method switch
    {
        FinetuneMethod.Base => "base",
        FinetuneMethod.Full => "full",
        _ => FormattableString.Invariant($"r={r}"),
    };

    /// <summary>Throws an <see cref="ArgumentException"/> that names the field when the config cannot be a run.</summary>
    public void Validate()
    {
        if (!Enum.IsDefined(domain)) throw new ArgumentException($"domain {domain} is not Code or Math", nameof(domain));
        if (!Enum.IsDefined(method)) throw new ArgumentException($"method {method} is not Base, Full or Lora", nameof(method));
        if (method == FinetuneMethod.Lora)
        {
            if (r < 1) throw new ArgumentException($"LoRA needs r of at least 1, got {r}", nameof(r));
            if (!(lora_alpha > 0)) throw new ArgumentException($"LoRA needs a positive lora_alpha, got {lora_alpha}", nameof(lora_alpha));
            if (!(lora_dropout >= 0 && lora_dropout < 1)) throw new ArgumentException($"lora_dropout must be in [0, 1), got {lora_dropout}", nameof(lora_dropout));
            if (string.IsNullOrWhiteSpace(target_modules)) throw new ArgumentException("LoRA needs target_modules (e.g. \"q_proj,v_proj\")", nameof(target_modules));
        }
        else if (r != 0 || lora_alpha != 0 || lora_dropout != 0 || target_modules != "")
            throw new ArgumentException($"method {method} uses no LoRA settings: r, lora_alpha and lora_dropout must be 0 and target_modules \"\" " +
                                        $"(got r = {r}, lora_alpha = {lora_alpha}, lora_dropout = {lora_dropout}, target_modules = \"{target_modules}\")", nameof(method));
        if (method == FinetuneMethod.Base)
        {
            if (max_steps != 0 || learning_rate != 0)
                throw new ArgumentException($"method Base trains nothing: max_steps and learning_rate must be 0 (got {max_steps} and {learning_rate})", nameof(max_steps));
        }
        else
        {
            if (max_steps < 1) throw new ArgumentException($"max_steps must be at least 1, got {max_steps}", nameof(max_steps));
            if (!(learning_rate > 0)) throw new ArgumentException($"learning_rate must be positive, got {learning_rate}", nameof(learning_rate));
            if (optim is not ("lion" or "adamw")) throw new ArgumentException($"optim must be \"lion\" or \"adamw\", got \"{optim}\"", nameof(optim));
            if (!(max_grad_norm >= 0)) throw new ArgumentException($"max_grad_norm must be 0 (no clipping) or positive, got {max_grad_norm}", nameof(max_grad_norm));
        }
        if (batch_size < 1) throw new ArgumentException($"batch_size must be at least 1, got {batch_size}", nameof(batch_size));
        if (!(warmup_ratio >= 0 && warmup_ratio <= 1)) throw new ArgumentException($"warmup_ratio must be in [0, 1], got {warmup_ratio}", nameof(warmup_ratio));
        if (!(cooldown_ratio >= 0 && cooldown_ratio <= 1)) throw new ArgumentException($"cooldown_ratio must be in [0, 1], got {cooldown_ratio}", nameof(cooldown_ratio));
        if (string.IsNullOrWhiteSpace(base_profile)) throw new ArgumentException("base_profile names the base model's profile (e.g. \"tiny\")", nameof(base_profile));
        if (eval_windows < 1) throw new ArgumentException($"eval_windows must be at least 1, got {eval_windows}", nameof(eval_windows));
        if (math_train < 1 || math_eval < 1) throw new ArgumentException($"math_train and math_eval must be at least 1, got {math_train} and {math_eval}", nameof(math_train));
        if (exact_match_problems < 0) throw new ArgumentException($"exact_match_problems must be 0 or more, got {exact_match_problems}", nameof(exact_match_problems));
    }
}

/// <summary>
/// Notebook 03's run as a library task: a fresh copy of the pretrained base (its context widened for the math
/// problems), LoRA applied (or every weight trained, or nothing for the base), Lion or AdamW, the domain's schedule,
/// <see cref="Trainer.Run"/>, then the evaluation: the held-out English loss (forgetting: "source_loss") and the
/// target's validation and test losses ("target_val_loss", "target_loss"), plus, on math, greedy exact match
/// ("exact_match", "exact_match_correct", "parsed") when the config asks for it. <see cref="Train"/> is the notebook's
/// former TrainOne, unchanged in behaviour. The base model and the encoded domains are loaded once per process.
/// </summary>
public sealed class DomainFinetune : ISoloSweepTask<DomainFinetune, DomainFinetuneConfig>
{
    private DomainFinetune() { }

    /// <summary>Where the cache of base models is (<see cref="TaskBases.CacheVariable"/>).</summary>
    public const string CacheVariable = TaskBases.CacheVariable;

    // Ensembles of language-model runs for notebook 03 (LoraEnsemble, as notebook 02's ClassifierLora) are later work:
    // for now every run trains alone, so the key is the run's own config and an ensemble holds one run.
    static RunOutcome ISweepTask<DomainFinetuneConfig>.Train(DomainFinetuneConfig c, int seed, RunContext context) => Train(c, seed, context);

    /// <summary>One run, recorded in <paramref name="context"/> when given (its series: train_loss, lr, ...).</summary>
    public static RunOutcome Train(DomainFinetuneConfig c, int seed, RunContext? context)
    {
        c.Validate();
        var data = Data(c);
        torch.manual_seed(seed);
        using var model = data.FreshBase();
        if (c.method == FinetuneMethod.Base) return RunOutcome.Done(Evaluate(model, c, data));
        if (c.method == FinetuneMethod.Lora)
            LoraAdapters.Apply(model, new LoraConfig(r: c.r, lora_alpha: c.lora_alpha, lora_dropout: c.lora_dropout, target_modules: c.target_modules));
        var trainable = model.parameters().Where(p => p.requires_grad).ToList();
        using Optimizer optimizer = c.optim == "lion"
            ? new Lion(trainable, lr: c.learning_rate, weight_decay: c.weight_decay, beta1: c.beta1, beta2: c.beta2)
            : new AdamW(trainable, lr: c.learning_rate, weight_decay: c.weight_decay, beta1: c.beta1, beta2: c.beta2);
        var options = new TrainerOptions { MaxSteps = c.max_steps, ClipGradNorm = c.max_grad_norm, LogEvery = Math.Max(1, (int)(c.max_steps / 20)), ProgressLabel = null };
        var result = Trainer.Run(model, optimizer, Schedule(c), Batches(c, model, data, seed), options);
        var metrics = Evaluate(model, c, data);
        metrics["trainable_params"] = trainable.Sum(p => p.numel());
        return RunOutcome.From(result, context, metrics);
    }

    /// <summary>The learning-rate factor of a run: math IFT a cosine with warmup down to min_lr_ratio of the peak; code
    /// CPT LLM Foundry's inverse square root with warmup (t_scale = the warmup), alpha_f_decay after it, and a linear
    /// cooldown to 0 over the last cooldown_ratio of the run.</summary>
    public static Schedule Schedule(DomainFinetuneConfig c)
    {
        if (c.domain == FinetuneDomain.Math) return Schedules.Cosine(c.max_steps, c.warmup_ratio, c.min_lr_ratio);
        long warmup = Schedules.WarmupSteps(c.max_steps, c.warmup_ratio);
        return Schedules.InverseSqrt(warmup, timescale: Math.Max(1, warmup), cooldown_steps: (long)Math.Ceiling(c.cooldown_ratio * c.max_steps),
                                     total_steps: c.max_steps, alpha_f_decay: c.alpha_f_decay, alpha_f_cooldown: 0);
    }

    // Code: random windows of the training files. Math: epoch after epoch, each a fresh shuffle of the training problems.
    private static Func<long, int, MicroBatchLoss> Batches(DomainFinetuneConfig c, LlamaForCausalLM model, DomainFinetuneData data, int seed)
    {
        var device = data.Device;
        if (c.domain == FinetuneDomain.Code)
        {
            var windows = new TokenWindows(data.CodeTrain, data.Context, c.batch_size, seed);
            return (_, _) => { var ids = windows.Next(device); return new MicroBatchLoss(model.Loss(ids), ids.numel()); };
        }
        var random = new Random(seed);
        var order = new List<int>();
        return (step, _) =>
        {
            while (order.Count < step * c.batch_size) order.AddRange(Enumerable.Range(0, data.MathTrain.Count).OrderBy(_ => random.Next()));
            var batch = AnswerOnlyLoss.Batch(order.Skip((int)(step - 1) * c.batch_size).Take(c.batch_size).Select(i => data.MathTrain[i]).ToList(), data.Tokenizer.PadId, device);
            return new MicroBatchLoss(AnswerOnlyLoss.Loss(model, batch), batch.AnswerTokens);
        };
    }

    private static readonly Regex answerLine = new(@"(^|\n)####[^\n]*\n");

    /// <summary>Learning: the held-out target metrics (validation for choosing a learning rate, test for reporting);
    /// forgetting: the held-out English loss. On math with exact_match_problems &gt; 0, greedy answers to the first test
    /// problems, stopped at &lt;|endoftext|&gt; or at the end of the "#### N" line, scored strictly.</summary>
    public static Dictionary<string, double> Evaluate(LlamaForCausalLM model, DomainFinetuneConfig c, DomainFinetuneData data)
    {
        var metrics = new Dictionary<string, double> { ["source_loss"] = HeldOutLoss.Evaluate(model, data.SourceTest, data.Context, 16, c.eval_windows).Loss };
        if (c.domain == FinetuneDomain.Code)
        {
            metrics["target_val_loss"] = HeldOutLoss.Evaluate(model, data.CodeValidation, data.Context, 16, c.eval_windows).Loss;
            metrics["target_loss"] = HeldOutLoss.Evaluate(model, data.CodeTest, data.Context, 16, c.eval_windows).Loss;
            return metrics;
        }
        var tok = data.Tokenizer;
        metrics["target_val_loss"] = AnswerOnlyLoss.Evaluate(model, data.MathValidation, tok.PadId);
        metrics["target_loss"] = AnswerOnlyLoss.Evaluate(model, data.MathTest, tok.PadId);
        if (c.exact_match_problems == 0) return metrics;
        var problems = data.MathTest.Take(c.exact_match_problems).ToList();
        var answers = GreedyDecoder.Generate(model, problems.Select(e => e.Prompt).ToList(), max_new_tokens: problems.Max(e => e.Completion.Length) + 8,
            stopTokens: [tok.EndOfTextId], stopRule: ids => data.NewlineTokens.Contains(ids[^1]) && answerLine.IsMatch(tok.Decode(ids.ToArray())), padId: tok.PadId);
        int correct = answers.Select((a, i) => MathAnswerParser.IsExactMatch(tok.Decode(a.Tokens), data.Math.Test[i].Answer) ? 1 : 0).Sum();
        metrics["exact_match"] = (double)correct / problems.Count;
        metrics["exact_match_correct"] = correct;
        metrics["parsed"] = answers.Count(a => MathAnswerParser.Parse(tok.Decode(a.Tokens)) is not null) / (double)problems.Count;
        return metrics;
    }

    // ---- what every run of a process shares: the base model and the encoded domains ----

    private static readonly object gate = new();
    private static readonly Dictionary<string, DomainFinetuneData> datas = new();

    /// <summary>The corpora and the cache folder this process reads (<see cref="TaskBases.Sources"/>).</summary>
    public static (DataRoot corpora, string cache) Sources => TaskBases.Sources;

    /// <summary>The base model of a profile, loaded once per process and shared with every task's runs (<see cref="TaskBases"/>).</summary>
    public static PretrainedBase BaseModel(string profile) => TaskBases.BaseModel(profile);

    /// <summary>The base and the three domains a config's runs read, encoded once per process; throws when the cached
    /// base of the config's profile is not the one its key names.</summary>
    public static DomainFinetuneData Data(DomainFinetuneConfig c)
    {
        TaskBases.BaseModel(c.base_profile, c.base_model);     // refuses a base that is not the config's
        return Data(c.base_profile, c.math_train, c.math_eval);
    }

    /// <summary>The base of a profile and the domains encoded with its tokenizer (math_train / math_eval problems per
    /// split), once per process.</summary>
    public static DomainFinetuneData Data(string profile, int math_train, int math_eval)
    {
        var baseModel = BaseModel(profile);
        var (corpora, cache) = Sources;
        lock (gate)
        {
            string key = $"{corpora}|{cache}|{profile}|{math_train}|{math_eval}";
            if (!datas.TryGetValue(key, out var data))
                datas[key] = data = new DomainFinetuneData(baseModel, corpora, TaskBases.Code(profile), math_train, math_eval);
            return data;
        }
    }
}

/// <summary>
/// The base model and notebook 03's three domains, encoded with its tokenizer. Source: the English documents of the
/// base's pretraining mixture that pretraining never used (the test split of PretrainingData.DocumentSplits). Code:
/// lodash's module files split by file 80/10/10 (<see cref="CodeSplits"/>). Math: generated word problems (no question in two splits), each
/// completion ending with &lt;|endoftext|&gt;. <see cref="Positions"/>: the base's context widened to fit the longest
/// problem (rotary positions have no learned table).
/// </summary>
public sealed class DomainFinetuneData
{
    internal DomainFinetuneData(PretrainedBase baseModel, DataRoot corpora, CodeSplits code, int math_train, int math_eval)
    {
        Base = baseModel;
        var tok = Tokenizer;
        int[] Encode(IEnumerable<TextDocument> documents) => documents.SelectMany(d => tok.Encode(d.Text).Append(tok.EndOfTextId)).ToArray();
        PromptCompletion Tokens(MathProblem p) => new(tok.Encode(p.Prompt), tok.Encode(p.Completion).Append(tok.EndOfTextId).ToArray());

        English = PretrainingData.DocumentSplits(baseModel.Profile, corpora);
        SourceTest = Encode(English.Test);
        (Code, CodeTrain, CodeValidation, CodeTest) = (code.Files, code.Train, code.Validation, code.Test);
        Math = MathWordProblems.Splits(math_train, math_eval, math_eval, seed: 0);
        (MathTrain, MathValidation, MathTest) = (Math.Train.Select(Tokens).ToList(), Math.Validation.Select(Tokens).ToList(), Math.Test.Select(Tokens).ToList());
        Positions = System.Math.Max(Context, MathTrain.Concat(MathValidation).Concat(MathTest).Max(e => e.Length) + 8);
        NewlineTokens = Enumerable.Range(0, tok.VocabularySize).Where(id => tok.Decode([id]).Contains('\n')).ToHashSet();
    }

    public PretrainedBase Base { get; }
    public BpeTokenizer Tokenizer => Base.Tokenizer;
    /// <summary>The base's context length: the window of every held-out loss and of code's training windows.</summary>
    public int Context => Base.Profile.ContextLength;
    /// <summary>The context a run's model gets: at least the base's, and long enough for every math problem.</summary>
    public int Positions { get; }
    public Device Device => Base.Device;

    public Splits<TextDocument> English { get; }
    public Splits<TextDocument> Code { get; }
    public Splits<MathProblem> Math { get; }
    public int[] SourceTest { get; }
    public int[] CodeTrain { get; }
    public int[] CodeValidation { get; }
    public int[] CodeTest { get; }
    public IReadOnlyList<PromptCompletion> MathTrain { get; }
    public IReadOnlyList<PromptCompletion> MathValidation { get; }
    public IReadOnlyList<PromptCompletion> MathTest { get; }
    /// <summary>The tokens whose text holds a newline: where a greedy answer's "#### N" line can end.</summary>
    public IReadOnlySet<int> NewlineTokens { get; }

    /// <summary>A fresh copy of the base with its context widened to <see cref="Positions"/>, on the base's device.</summary>
    public LlamaForCausalLM FreshBase() => Base.FreshCopy(Positions);
}
