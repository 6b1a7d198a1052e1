using System.Diagnostics;
using LoraLab.Optim;
using TorchSharp;
using static TorchSharp.torch;

namespace LoraLab.Training;

/// <summary>
/// The training loop of <see cref="Trainer"/> for an ensemble: E runs of one shape trained as one model whose trainable
/// weights stack the runs along their first dimension (the technique of torch.func's model ensembling). The caller's
/// loss is one value per member ([E]); their sum is differentiated, and since no weight is shared by two members, each
/// member gets exactly the gradient of its own loss. Each member is judged on its own: one that diverges (Trainer's
/// rule) is stopped (its learning rates become 0, see <see cref="Optimizer.StopMember"/>) and recorded at that step,
/// and the others go on, their numbers untouched. Each member's result is what Trainer.Run would return for it.
/// </summary>
public static class EnsembleTrainer
{
    /// <param name="model">put in train mode for steps and eval mode for evaluations (null: nothing to switch)</param>
    /// <param name="members">E, the ensemble's size</param>
    /// <param name="memberLosses">the losses of step <c>step</c> (from 1), one per member: [E], with a graph</param>
    /// <param name="evaluate">each member's evaluation loss (called under no_grad), or null</param>
    /// <param name="onStep">adds custom metrics after each step, per member (null for a stopped member)</param>
    /// <param name="tokensPerStep">the tokens (or examples) one member's step consumes, for its result's count</param>
    /// <param name="memberTokens">where members' steps differ in size: the tokens member e's step consumed, read after
    /// each step (instead of tokensPerStep)</param>
    public static IReadOnlyList<TrainingResult> Run(nn.Module? model, Optimizer optimizer, int members, Schedule schedule, Func<long, Tensor> memberLosses,
                                                    TrainerOptions options, Func<double[]>? evaluate = null,
                                                    Action<long, IReadOnlyList<IDictionary<string, double>?>>? onStep = null, long tokensPerStep = 0,
                                                    Func<int, long>? memberTokens = null)
    {
        options.Validate();
        if (members < 1) throw new ArgumentOutOfRangeException(nameof(members), members, "an ensemble needs at least one member");
        if (options.GradientAccumulation != 1) throw new NotSupportedException("an ensemble trains without gradient accumulation");
        if (options.ClipGradNorm > 0) throw new NotSupportedException("an ensemble clips no gradients (a global norm would mix the members)");

        var clock = Stopwatch.StartNew();
        var metrics = Enumerable.Range(0, members).Select(_ => new List<(long, string, double)>()).ToArray();
        var recent = Enumerable.Range(0, members).Select(_ => new Queue<double>()).ToArray();
        var first = new double[members];
        var last = new double[members];
        var results = new TrainingResult?[members];
        var evalLoss = new double?[members];
        var tokens = new long[members];

        for (long step = 1; step <= options.MaxSteps && results.Any(r => r is null); step++)
        {
            double lrFactor = schedule(step - 1);
            optimizer.SetLrFactor(lrFactor);
            model?.train();
            optimizer.zero_grad();
            double[] losses;
            using (var scope = torch.NewDisposeScope())
            {
                var loss = memberLosses(step);
                if (loss.dim() != 1 || loss.size(0) != members)
                    throw new InvalidOperationException($"memberLosses returned shape [{string.Join(", ", loss.shape)}]; expected [{members}]");
                loss.sum().backward();
                optimizer.step();
                losses = loss.detach().to(ScalarType.Float64).cpu().data<double>().ToArray();
            }

            var stepMetrics = new IDictionary<string, double>?[members];
            for (int e = 0; e < members; e++)
            {
                if (results[e] is not null) continue;
                last[e] = losses[e];
                if (step == 1) first[e] = losses[e];
                stepMetrics[e] = new Dictionary<string, double>();
                if (step % options.LogEvery == 0 || step == options.MaxSteps)
                {
                    stepMetrics[e]!["train_loss"] = losses[e];
                    stepMetrics[e]!["lr_factor"] = lrFactor;
                }
            }
            onStep?.Invoke(step, stepMetrics);

            var divergence = new string?[members];
            for (int e = 0; e < members; e++)
                if (results[e] is null) divergence[e] = Trainer.Divergence(losses[e], first[e], recent[e], options);
            if (evaluate is not null && options.EvalEvery > 0 && step % options.EvalEvery == 0 && step < options.MaxSteps)
            {
                var values = Evaluate(model, evaluate, members);
                for (int e = 0; e < members; e++)
                    if (results[e] is null && divergence[e] is null) stepMetrics[e]!["eval_loss"] = (evalLoss[e] = values[e]).Value;
            }
            for (int e = 0; e < members; e++)
            {
                if (stepMetrics[e] is not { } mine) continue;
                tokens[e] += memberTokens?.Invoke(e) ?? tokensPerStep;
                foreach (var (name, value) in mine) metrics[e].Add((step, name, value));
                if (divergence[e] is not null)
                {
                    results[e] = new TrainingResult(true, divergence[e], step, losses[e], null, metrics[e], clock.Elapsed, tokens[e]);
                    optimizer.StopMember(e);
                }
            }
        }

        var final = evaluate is null ? null : Evaluate(model, evaluate, members);
        for (int e = 0; e < members; e++)
        {
            if (results[e] is not null) continue;
            if (final is not null)
            {
                evalLoss[e] = final[e];
                metrics[e].Add((options.MaxSteps, "eval_loss", final[e]));
            }
            results[e] = new TrainingResult(false, null, options.MaxSteps, last[e], evalLoss[e], metrics[e], clock.Elapsed, tokens[e]);
        }
        return results.Select(r => r!).ToList();
    }

    private static double[] Evaluate(nn.Module? model, Func<double[]> evaluate, int members)
    {
        model?.eval();
        try
        {
            using var scope = torch.NewDisposeScope();
            using var noGrad = torch.no_grad();
            var values = evaluate();
            return values.Length == members ? values : throw new InvalidOperationException($"evaluate returned {values.Length} values for {members} members");
        }
        finally { model?.train(); }
    }
}
