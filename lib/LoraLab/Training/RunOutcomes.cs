using LoraLab.Data.Sweeps;

namespace LoraLab.Training;

/// <summary>
/// Turns a training loop's result into what a sweep stores, in one place for every notebook:
/// <c>return RunOutcome.From(result, context, extra)</c>. (A C# 14 extension member: RunOutcome lives in
/// LoraLab.Data, which knows nothing of training.)
/// </summary>
public static class RunOutcomes
{
    extension(RunOutcome)
    {
        /// <summary>
        /// Done, or Diverged with the trainer's reason. Every metric the trainer logged goes to the run's series
        /// (when a context is given); the final metrics are train_loss, eval_loss (when evaluated), steps, tokens and
        /// seconds, plus <paramref name="extra"/> (accuracies and the like, which win on a name clash).
        /// </summary>
        public static RunOutcome From(TrainingResult result, RunContext? context = null, IReadOnlyDictionary<string, double>? extra = null)
        {
            if (context is not null)
                foreach (var (step, name, value) in result.Metrics) context.LogMetric(step, name, value);
            var final = new Dictionary<string, double>(StringComparer.Ordinal)
            {
                ["train_loss"] = result.FinalTrainLoss,
                ["steps"] = result.Steps,
                ["tokens"] = result.Tokens,
                ["seconds"] = result.Elapsed.TotalSeconds,
            };
            if (result.FinalEvalLoss is { } eval) final["eval_loss"] = eval;
            foreach (var (name, value) in extra ?? new Dictionary<string, double>()) final[name] = value;
            return result.Diverged ? RunOutcome.Diverged(result.DivergenceReason ?? "diverged", final) : RunOutcome.Done(final);
        }
    }
}
