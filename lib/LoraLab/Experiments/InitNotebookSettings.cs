using LoraLab.Lora;

namespace LoraLab.Experiments;

/// <summary>
/// The sizes notebook 01 runs at, per profile: "ci" (about 3 minutes on 2 CPU cores), "quick" (at most
/// 10 minutes on 2 cores, including building the quick base model) and "paper" (one GPU).
/// </summary>
/// <param name="Widths">the toy model's widths n</param>
/// <param name="LowExponent">the learning-rate grid is 2^LowExponent … 2^HighExponent</param>
/// <param name="BaseProfile">the pretrained LM's profile (BaseModelProfile.Named)</param>
/// <param name="LmLearningRates">the shared learning rates at which Init[A] and Init[B] finetune the LM</param>
public sealed record InitNotebookSettings(
    int[] Widths, int LowExponent, int HighExponent, int ToySteps, int[] Seeds,
    string BaseProfile, double[] LmLearningRates, int LmSteps, int LmEvalEvery)
{
    /// <summary>The pair of inits the paper compares: the random factor Gaussian, N(0, 1/n) for A, N(0, 1/r) for B.</summary>
    public static readonly LoraInit[] Inits = { LoraInit.InitA_Gaussian, LoraInit.InitB_Gaussian };

    public static InitNotebookSettings For(string profile) => profile switch
    {
        "ci" => new(new[] { 32, 64, 128 }, -12, -2, ToySteps: 60, Seeds: new[] { 0 },
                    BaseProfile: "tiny", LmLearningRates: new[] { 4e-3 }, LmSteps: 40, LmEvalEvery: 10),
        "quick" => new(new[] { 64, 128, 256, 512, 1024 }, -13, -3, ToySteps: 150, Seeds: new[] { 0, 1 },
                       BaseProfile: "quick", LmLearningRates: new[] { 1e-3, 8e-3 }, LmSteps: 80, LmEvalEvery: 20),
        "paper" => new(new[] { 128, 256, 512, 1024, 2048, 4096, 8192 }, -18, 0, ToySteps: 500, Seeds: new[] { 0, 1, 2 },
                       BaseProfile: "paper", LmLearningRates: new[] { 2.5e-4, 1e-3, 4e-3 }, LmSteps: 600, LmEvalEvery: 50),
        _ => throw new ArgumentException($"unknown profile '{profile}'; use ci, quick or paper", nameof(profile)),
    };

    public List<double> LearningRates => ToyInitExperiment.PowersOfTwo(LowExponent, HighExponent);

    public List<ToyInitConfig> ToyGrid => ToyInitExperiment.Grid(Widths, Inits, LearningRates, ToySteps);
}
