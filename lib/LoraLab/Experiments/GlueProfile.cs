namespace LoraLab.Experiments;

/// <summary>
/// The size of notebook 02's experiments. quick: the notebook in under 10 minutes on 2 CPU cores;
/// ci: a smoke run in a few minutes; paper: one GPU. The recipe (rank 8, alpha 16, dropout 0.1,
/// q_proj/v_proj, AdamW, linear schedule with 6% warmup) is the same in all three; only the base
/// model, the number of steps, the data subsets and the grids change.
/// </summary>
public sealed record GlueProfile(
    string Name,
    string BaseModel,
    int Steps,
    int BatchSize,
    int MaxLength,
    int MaxTrain,
    int MaxEval,
    double LrBase,
    int LrCount,
    int LrStride,
    int[] Seeds,
    string[] Tasks,
    double[] LoraPlusLrs,
    double[] LoraPlusRatios,
    string[] LoraPlusTasks,
    int[] LoraPlusSeeds)
{
    /// <summary>The sweep's learning rates: LrBase · 2^k for k = 0, LrStride, 2·LrStride, … (LrCount values).</summary>
    public double[] LearningRates => Enumerable.Range(0, LrCount).Select(i => LrBase * Math.Pow(2, i * LrStride)).ToArray();

    public static readonly string[] AllRatios = { "1", "2", "4", "8", "16", "32" };
    private static double[] Ratios => AllRatios.Select(double.Parse).ToArray();

    /// <summary>The tiny base model, 60 steps of 16 sequences of at most 48 tokens, 9 learning rates
    /// (2.5e-4 to 6.4e-2), 3 seeds: about 130 runs of 1–3 s each on 2 CPU cores.</summary>
    public static GlueProfile Quick { get; } = new(
        "quick", BaseModel: "tiny", Steps: 60, BatchSize: 16, MaxLength: 48, MaxTrain: 2000, MaxEval: 300,
        LrBase: 2.5e-4, LrCount: 9, LrStride: 1, Seeds: new[] { 0, 1, 2 },
        Tasks: new[] { "spam", "brown-genre-coarse" },
        LoraPlusLrs: new[] { 2.5e-4, 1e-3, 4e-3 }, LoraPlusRatios: Ratios, LoraPlusTasks: new[] { "spam" }, LoraPlusSeeds: new[] { 0, 1 });

    /// <summary>Smallest that still shows the shape: 5 learning rates 4× apart, 2 seeds, shorter runs on small subsets.</summary>
    public static GlueProfile Ci { get; } = Quick with
    {
        Name = "ci", Steps = 40, MaxTrain = 600, MaxEval = 150, LrCount = 5, LrStride = 2, Seeds = new[] { 0, 1 },
        LoraPlusLrs = new[] { 1e-3 }, LoraPlusSeeds = new[] { 0 },
    };

    /// <summary>For one GPU: the paper-sized base model, full splits, longer runs, both tasks for LoRA+.</summary>
    public static GlueProfile Paper { get; } = new(
        "paper", BaseModel: "paper", Steps: 1000, BatchSize: 32, MaxLength: 128, MaxTrain: int.MaxValue, MaxEval: int.MaxValue,
        LrBase: 1.5625e-5, LrCount: 12, LrStride: 1, Seeds: new[] { 0, 1, 2 },
        Tasks: new[] { "spam", "brown-genre-coarse" },
        LoraPlusLrs: new[] { 2.5e-5, 1e-4, 4e-4, 1.6e-3 }, LoraPlusRatios: Ratios, LoraPlusTasks: new[] { "spam", "brown-genre-coarse" },
        LoraPlusSeeds: new[] { 0, 1, 2 });

    public static GlueProfile Named(string name) => name switch
    {
        "quick" => Quick,
        "ci" => Ci,
        "paper" => Paper,
        _ => throw new ArgumentException($"unknown profile '{name}'; use quick, ci or paper", nameof(name)),
    };

    /// <summary>The run configuration of one cell of a grid on this profile.</summary>
    public GlueRunConfig Config(string task, string baseModelKey, string init, double lr, double lrRatio = 1) => new(
        task, baseModelKey, init, lr, lrRatio, steps: Steps, batch_size: BatchSize, max_length: MaxLength,
        max_train: MaxTrain, max_eval: MaxEval);
}
