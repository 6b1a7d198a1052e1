using System.Diagnostics;
using LoraLab.Modules;
using LoraLab.Optim;
using TorchSharp;
using static TorchSharp.torch;

namespace LoraLab.Training;

/// <summary>One micro-batch's loss (a scalar tensor with a graph) and how many tokens it covered.</summary>
public readonly record struct MicroBatchLoss(Tensor Loss, long Tokens);

/// <summary>
/// The training loop, readable top to bottom: for each step, set the learning rate from the
/// schedule, accumulate gradients over micro-batches, clip, step, record, check for divergence,
/// evaluate now and then. What a batch is, and what the loss is, belongs to the caller.
/// </summary>
public static class Trainer
{
    /// <param name="model">put in train mode for steps and eval mode for evaluations</param>
    /// <param name="microBatchLoss">the loss of micro-batch <c>micro</c> of step <c>step</c> (steps count from 1)</param>
    /// <param name="evaluate">an evaluation loss (called under no_grad, in eval mode), or null</param>
    /// <param name="onStep">adds custom metrics after each step (e.g. LoRA feature norms)</param>
    public static TrainingResult Run(nn.Module model, Optimizer optimizer, Schedule schedule,
                                     Func<long, int, MicroBatchLoss> microBatchLoss, TrainerOptions options,
                                     Func<double>? evaluate = null, Action<long, IDictionary<string, double>>? onStep = null)
    {
        options.Validate();
        return TrainingProgress.Run(options.ProgressLabel, options.MaxSteps,
            report => Loop(model, optimizer, schedule, microBatchLoss, options, evaluate, onStep, report));
    }

    private static TrainingResult Loop(nn.Module model, Optimizer optimizer, Schedule schedule, Func<long, int, MicroBatchLoss> microBatchLoss,
                                       TrainerOptions options, Func<double>? evaluate, Action<long, IDictionary<string, double>>? onStep, StepReport report)
    {
        var metrics = new List<(long, string, double)>();
        var clock = Stopwatch.StartNew();
        var recent = new Queue<double>();
        double firstLoss = double.NaN, lastLoss = double.NaN;
        double? evalLoss = null;
        long tokens = 0;

        for (long step = 1; step <= options.MaxSteps; step++)
        {
            double lrFactor = schedule(step - 1);
            optimizer.SetLrFactor(lrFactor);
            var (loss, stepTokens) = TrainStep(model, optimizer, step, microBatchLoss, options);
            tokens += stepTokens;
            lastLoss = loss;
            if (step == 1) firstLoss = loss;

            var stepMetrics = new Dictionary<string, double>();
            if (step % options.LogEvery == 0 || step == options.MaxSteps)
            {
                stepMetrics["train_loss"] = loss;
                stepMetrics["lr_factor"] = lrFactor;
            }
            onStep?.Invoke(step, stepMetrics);

            string? divergence = Divergence(loss, firstLoss, recent, options);
            if (divergence is null && evaluate is not null && options.EvalEvery > 0 && step % options.EvalEvery == 0 && step < options.MaxSteps)
                stepMetrics["eval_loss"] = (evalLoss = Evaluate(model, evaluate)).Value;
            foreach (var (name, value) in stepMetrics) metrics.Add((step, name, value));
            report(step, loss, stepTokens);

            if (divergence is not null)
                return new TrainingResult(true, divergence, step, loss, null, metrics, clock.Elapsed, tokens);
        }

        if (evaluate is not null)
        {
            evalLoss = Evaluate(model, evaluate);
            metrics.Add((options.MaxSteps, "eval_loss", evalLoss.Value));
        }
        return new TrainingResult(false, null, options.MaxSteps, lastLoss, evalLoss, metrics, clock.Elapsed, tokens);
    }

    // Gradients of the mean loss over the step's micro-batches, then one optimizer step.
    private static (double loss, long tokens) TrainStep(nn.Module model, Optimizer optimizer, long step,
                                                        Func<long, int, MicroBatchLoss> microBatchLoss, TrainerOptions options)
    {
        model.train();
        optimizer.zero_grad();
        double total = 0;
        long tokens = 0;
        for (int micro = 0; micro < options.GradientAccumulation; micro++)
        {
            using var scope = torch.NewDisposeScope();
            var (loss, count) = microBatchLoss(step, micro);
            (loss / options.GradientAccumulation).backward();
            total += loss.ToDouble();
            tokens += count;
        }
        if (options.ClipGradNorm > 0) optimizer.clip_grad_norm_(options.ClipGradNorm);
        optimizer.step();
        return (total / options.GradientAccumulation, tokens);
    }

    private static double Evaluate(nn.Module model, Func<double> evaluate)
    {
        model.eval();
        try
        {
            using var scope = torch.NewDisposeScope();
            using (torch.no_grad()) return evaluate();
        }
        finally { model.train(); }
    }

    // NaN or infinity at once; otherwise a running mean of recent losses far above the first loss.
    internal static string? Divergence(double loss, double firstLoss, Queue<double> recent, TrainerOptions options)
    {
        if (double.IsNaN(loss) || double.IsInfinity(loss)) return $"the loss became {loss}";
        recent.Enqueue(loss);
        if (recent.Count > options.DivergenceWindow) recent.Dequeue();
        double mean = recent.Average();
        if (recent.Count == options.DivergenceWindow && mean > options.DivergenceFactor * firstLoss)
            return $"the loss ({mean:G4}, mean of the last {options.DivergenceWindow} steps) exceeded {options.DivergenceFactor}x its first value ({firstLoss:G4})";
        return null;
    }
}
