using LoraLab.Data.Sweeps;
using LoraLab.Lora;
using LoraLab.Models;
using LoraLab.Modules;
using LoraLab.Optim;
using LoraLab.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace LoraLab.Experiments;

/// <summary>
/// Everything a run of notebook 01's language-model part (Hayou et al. 2024 on a pretrained model) depends on: LoRA of
/// rank <paramref name="r"/> on <paramref name="target_modules"/> of the base <paramref name="base_profile"/> (cache key
/// <paramref name="base_model"/>), initialized by <paramref name="init"/> (Init[A]: B = 0; Init[B]: A = 0), finetuned on
/// code for <paramref name="max_steps"/> steps of AdamW at a constant <paramref name="learning_rate"/> on
/// <paramref name="batch_size"/> windows a step, no weight decay, no clipping: two runs that differ only in init differ
/// only in which factor starts at zero. The held-out validation loss is measured every <paramref name="eval_steps"/>
/// steps on <paramref name="eval_batches"/> batches of the base's batch size (the same windows for every run).
/// Its JSON is hashed, so equal configs are the same run in the store.
/// </summary>
public sealed record CodeLoraConfig(string base_profile, string base_model, LoraInit init, double learning_rate, int max_steps,
                                    int r, double lora_alpha, string target_modules, int eval_steps, int eval_batches, int batch_size)
{
    /// <summary>Throws an <see cref="ArgumentException"/> that names the field when the config cannot be a run.</summary>
    public void Validate()
    {
        if (string.IsNullOrWhiteSpace(base_profile)) throw new ArgumentException("base_profile names the base model's profile (e.g. \"quick\")", nameof(base_profile));
        if (!Enum.IsDefined(init) || init == LoraInit.PiSSA) throw new ArgumentException($"init {init} is not one of Init[A] or Init[B]'s variants", nameof(init));
        if (!(learning_rate > 0)) throw new ArgumentException($"learning_rate must be positive, got {learning_rate}", nameof(learning_rate));
        if (max_steps < 1) throw new ArgumentException($"max_steps must be at least 1, got {max_steps}", nameof(max_steps));
        if (r < 1) throw new ArgumentException($"r must be at least 1, got {r}", nameof(r));
        if (!(lora_alpha > 0)) throw new ArgumentException($"lora_alpha must be positive, got {lora_alpha}", nameof(lora_alpha));
        if (string.IsNullOrWhiteSpace(target_modules)) throw new ArgumentException("target_modules names the adapted projections (e.g. \"q_proj,v_proj\")", nameof(target_modules));
        if (eval_steps < 1 || eval_batches < 1) throw new ArgumentException($"eval_steps and eval_batches must be at least 1, got {eval_steps} and {eval_batches}", nameof(eval_steps));
        if (batch_size < 1) throw new ArgumentException($"batch_size must be at least 1, got {batch_size}", nameof(batch_size));
    }
}

/// <summary>
/// Notebook 01's language-model run as a library task: a fresh copy of the base, LoRA applied with the config's init
/// (the seed draws the random factor and the data order), random windows of the code's training files
/// (<see cref="CodeSplits"/>), <see cref="Trainer.Run"/>. The store gets train_loss every step, eval_loss (validation
/// files) at step 0 and every eval_steps, norm_A = mean ‖A z‖ and norm_BA = mean ‖B A z‖ over the adapted layers every
/// step (recorded by the layers' hook), and at the end test_loss on the test files. The base and the code split load
/// once per process (<see cref="TaskBases"/>).
/// </summary>
public sealed class CodeLora : ISoloSweepTask<CodeLora, CodeLoraConfig>
{
    private CodeLora() { }

    // Every run trains alone: on the CPU an ensemble of language-model runs is slower than one at a time (docs/data.md).
    static RunOutcome ISweepTask<CodeLoraConfig>.Train(CodeLoraConfig c, int seed, RunContext context) => Train(c, seed, context);

    /// <summary>One run, recorded in <paramref name="context"/> when given.</summary>
    public static RunOutcome Train(CodeLoraConfig c, int seed, RunContext? context)
    {
        c.Validate();
        var baseModel = TaskBases.BaseModel(c.base_profile, c.base_model);
        var code = TaskBases.Code(c.base_profile);
        var device = baseModel.Model.device();
        using var model = baseModel.FreshCopy();     // LoRA changes the model: never the shared base
        torch.manual_seed(seed);
        LoraAdapters.Apply(model, new LoraConfig(r: c.r, lora_alpha: c.lora_alpha, target_modules: c.target_modules, init: c.init));
        LoraAdapters.RecordNorms(model);
        var layers = LoraAdapters.Layers(model).Select(l => l.layer).ToList();
        var (length, batch) = (baseModel.Profile.ContextLength, baseModel.Profile.BatchSize);
        var windows = new TokenWindows(code.Train, length, c.batch_size, seed);
        double Loss(int[] tokens) => HeldOutLoss.Evaluate(model, tokens, length, batch, c.eval_batches * batch).Loss;

        context?.LogMetric(0, "eval_loss", Loss(code.Validation));
        using var optimizer = new AdamW(model.parameters().Where(p => p.requires_grad).ToList(), lr: c.learning_rate, weight_decay: 0);
        var result = Trainer.Run(model, optimizer, Schedules.Constant(),
            (_, _) => { var tokens = windows.Next(device); return new MicroBatchLoss(model.Loss(tokens), tokens.numel()); },
            new TrainerOptions { MaxSteps = c.max_steps, EvalEvery = c.eval_steps, ClipGradNorm = 0, ProgressLabel = null },
            evaluate: () => Loss(code.Validation),
            onStep: (_, metrics) => { metrics["norm_A"] = layers.Average(l => l.LastNormA); metrics["norm_BA"] = layers.Average(l => l.LastNormBA); });
        var extra = new Dictionary<string, double>();
        if (!result.Diverged) extra["test_loss"] = Loss(code.Test);
        return RunOutcome.From(result, context, extra);
    }
}
