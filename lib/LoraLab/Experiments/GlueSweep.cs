using LoraLab.BaseModels;
using LoraLab.Data;
using LoraLab.Data.Results;
using LoraLab.Data.Sweeps;
using LoraLab.Data.Tokenization;
using LoraLab.Models;

namespace LoraLab.Experiments;

/// <summary>
/// Notebook 02's two grids, run through the <see cref="SweepRunner"/> so that every run lands in the
/// results store and a second run of the notebook only trains what is missing:
/// the learning-rate sweep (init × η × seed) and the LoRA+ sweep (Init[A], η_A × λ × seed).
/// </summary>
public static class GlueSweep
{
    /// <summary>The store's experiment name of a section on a task; distinct per task and section.</summary>
    public static string LrSweepExperiment(string task) => $"nb02-lr-sweep/{task}";
    public static string LoraPlusExperiment(string task) => $"nb02-loraplus/{task}";

    /// <summary>A task by name, tokenized with the base model's tokenizer and cut to the profile's subsets.</summary>
    public static ClassificationData LoadTask(string task, BpeTokenizer tokenizer, GlueProfile profile, DataRoot? root = null)
    {
        root ??= DataRoot.Default();
        var loaded = task switch
        {
            "spam" => ClassificationTask.SpamVsHam(root),
            "brown-genre-coarse" => ClassificationTask.BrownGenre(root, coarse: true),
            "brown-genre" => ClassificationTask.BrownGenre(root, coarse: false),
            _ => throw new ArgumentException($"unknown task '{task}'; use spam, brown-genre-coarse or brown-genre", nameof(task)),
        };
        return ClassificationData.Encode(loaded, tokenizer, profile.MaxLength, profile.MaxTrain, profile.MaxEval);
    }

    /// <summary>The learning-rate grid: both inits × every learning rate of the profile (λ = 1).</summary>
    public static List<GlueRunConfig> LrSweepConfigs(GlueProfile profile, string task, string baseModelKey) =>
        GlueInits.Both.SelectMany(init => profile.LearningRates.Select(lr => profile.Config(task, baseModelKey, init, lr))).ToList();

    /// <summary>The LoRA+ grid: Init[A], every η_A × every ratio λ = η_B / η_A.</summary>
    public static List<GlueRunConfig> LoraPlusConfigs(GlueProfile profile, string task, string baseModelKey) =>
        profile.LoraPlusLrs.SelectMany(lr => profile.LoraPlusRatios.Select(ratio => profile.Config(task, baseModelKey, GlueInits.InitA, lr, ratio))).ToList();

    public static SweepSummary RunLrSweep(ResultsStore store, PretrainedBase baseModel, ClassificationData data, GlueProfile profile, SweepOptions? options = null) =>
        Run(store, LrSweepExperiment(data.Name), LrSweepConfigs(profile, data.Name, baseModel.Report.Key), profile.Seeds, baseModel, data, options);

    public static SweepSummary RunLoraPlus(ResultsStore store, PretrainedBase baseModel, ClassificationData data, GlueProfile profile, SweepOptions? options = null) =>
        Run(store, LoraPlusExperiment(data.Name), LoraPlusConfigs(profile, data.Name, baseModel.Report.Key), profile.LoraPlusSeeds, baseModel, data, options);

    /// <summary>Runs a grid of an experiment: each missing (config, seed) trains a fresh classifier from <paramref name="newClassifier"/>.</summary>
    public static SweepSummary Run(ResultsStore store, string experiment, IReadOnlyList<GlueRunConfig> configs, IEnumerable<int> seeds,
                                   PretrainedBase baseModel, ClassificationData data, SweepOptions? options = null) =>
        Run(store, experiment, configs, seeds, seed => BaseClassifier.FromBase(baseModel, data.NumLabels, seed), data,
            options ?? new SweepOptions { Device = baseModel.Model.parameters()[0].device.ToString() });

    public static SweepSummary Run(ResultsStore store, string experiment, IReadOnlyList<GlueRunConfig> configs, IEnumerable<int> seeds,
                                   Func<int, LlamaForSequenceClassification> newClassifier, ClassificationData data, SweepOptions? options = null) =>
        new SweepRunner(store, options).Run(experiment, configs, seeds,
            (config, seed, context) => ClassificationFinetune.Run(newClassifier, data, config, seed, context));

    /// <summary>The learning-rate sweep of one task on this profile, read back from the store.</summary>
    public static GlueTaskCells LrSweepResults(ResultsStore store, GlueProfile profile, string task, string baseModelKey) =>
        Query(store, task, LrSweepExperiment(task), LrSweepConfigs(profile, task, baseModelKey), profile.Seeds);

    /// <summary>The LoRA+ sweep of one task on this profile, read back from the store.</summary>
    public static GlueTaskCells LoraPlusResults(ResultsStore store, GlueProfile profile, string task, string baseModelKey) =>
        Query(store, task, LoraPlusExperiment(task), LoraPlusConfigs(profile, task, baseModelKey), profile.LoraPlusSeeds);

    private static GlueTaskCells Query(ResultsStore store, string task, string experiment, IReadOnlyList<GlueRunConfig> configs, IEnumerable<int> seeds)
    {
        var runs = GlueResults.Runs(store, experiment, configs, seeds);
        return new GlueTaskCells(task, GlueResults.Cells(runs), GlueResults.ChanceAccuracy(runs));
    }
}
