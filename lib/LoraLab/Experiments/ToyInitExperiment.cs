using LoraLab.Data.Results;
using LoraLab.Data.Sweeps;
using LoraLab.Lora;
using LoraLab.Models;
using LoraLab.Modules;
using LoraLab.Optim;
using LoraLab.Torch;
using LoraLab.Training;
using F = LoraLab.Torch.torch.nn.functional;

namespace LoraLab.Experiments;

/// <summary>
/// One run of the toy model of Hayou, Ghosh &amp; Yu 2024: a TeacherStudentTask of width <see cref="Width"/>,
/// LoRA of rank <see cref="Rank"/> on its middle weight "hidden", started with <see cref="Init"/>
/// (a <see cref="LoraInit"/> name), trained full-batch with Adam (no weight decay) at a constant
/// <see cref="LearningRate"/> for <see cref="Steps"/> steps. The record is the run's identity in the
/// results store, so every field that changes the outcome is here.
/// </summary>
/// <param name="DeltaScale">the teacher's planted change is ΔW = DeltaScale·√(n/r*) · U Vᵀ / n, so its size
/// does not grow or shrink with the width n</param>
public sealed record ToyInitConfig(
    int Width,
    string Init,
    double LearningRate,
    int Steps,
    int Rank = 4,
    int InputDim = 5,
    int PlantedRank = 2,
    double DeltaScale = 0.5,
    int TrainPoints = 1000,
    int TestPoints = 100,
    int LogEvery = 5);

/// <summary>Runs the toy sweep: one <see cref="ToyInitConfig"/> and seed at a time, into a results store.</summary>
public static class ToyInitExperiment
{
    public const string Name = "01-toy-init";

    /// <summary>Every (width, init, learning rate) of a grid, widths outer and rates inner.</summary>
    public static List<ToyInitConfig> Grid(IEnumerable<int> widths, IEnumerable<LoraInit> inits, IEnumerable<double> learningRates, int steps) =>
        (from n in widths
         from init in inits
         from lr in learningRates
         select new ToyInitConfig(n, init.ToString(), lr, steps)).ToList();

    /// <summary>The learning rates 2^lowExponent … 2^highExponent.</summary>
    public static List<double> PowersOfTwo(int lowExponent, int highExponent) =>
        Enumerable.Range(lowExponent, highExponent - lowExponent + 1).Select(e => Math.Pow(2, e)).ToList();

    /// <summary>Trains every (config, seed) that the store does not have yet; finished runs are reused.</summary>
    public static SweepSummary Sweep(ResultsStore store, IEnumerable<ToyInitConfig> configs, IEnumerable<int> seeds,
                                     Device? device = null, TextWriter? progress = null)
    {
        var runner = new SweepRunner(store, new SweepOptions { Progress = progress ?? TextWriter.Null, Device = (device ?? Device.CPU).ToString() });
        return runner.Run(Name, configs, seeds, (config, seed, context) => Run(config, seed, context, device));
    }

    /// <summary>
    /// One training run. Logs train_loss, norm_A = mean ‖A z‖ and norm_BA = mean ‖B A z‖ (z: the input
    /// of the adapted layer, over the training inputs, after the step) every LogEvery steps; final metrics
    /// train_loss and test_loss.
    /// </summary>
    public static RunOutcome Run(ToyInitConfig config, int seed, RunContext context, Device? device = null)
    {
        var dev = device ?? Device.CPU;
        var init = Enum.Parse<LoraInit>(config.Init);
        double scale = config.DeltaScale * Math.Sqrt((double)config.Width / config.PlantedRank);
        using var task = new TeacherStudentTask(config.InputDim, config.Width, config.PlantedRank, scale,
                                                config.TrainPoints, config.TestPoints, seed);
        var model = task.student;
        model.to(dev);
        // lora_alpha = r: scaling 1, so the learning rate alone sets the size of the updates.
        LoraAdapters.Apply(model, new LoraConfig(r: config.Rank, lora_alpha: config.Rank, target_modules: "hidden", init: init));
        var lora = LoraAdapters.Layers(model).Single().layer;
        var w_in = model.Child<Linear>("w_in");
        var w_out = model.Child<Linear>("w_out");

        // Everything but A and B is frozen, so the first layer's features z = φ(W_in x) and the frozen part
        // W z of the adapted layer are computed once; a step then costs O(N·n·r) instead of O(N·n²).
        using var z_train = Features(w_in, task.x_train, dev);
        using var z_test = Features(w_in, task.x_test, dev);
        using var wz_train = FrozenPart(lora, z_train);
        using var wz_test = FrozenPart(lora, z_test);
        using var y_train = task.y_train.to(dev);
        using var y_test = task.y_test.to(dev);
        Tensor Predict(Tensor z, Tensor wz) => w_out.forward(AdaptedLayer(lora, z, wz).relu());

        var trainable = model.parameters().Where(p => p.requires_grad).ToList();
        using var optimizer = new AdamW(trainable, lr: config.LearningRate, weight_decay: 0);
        var options = new TrainerOptions { MaxSteps = config.Steps, LogEvery = config.LogEvery, ProgressLabel = null };
        var result = Trainer.Run(model, optimizer, Schedules.Constant(),
            (_, _) => new MicroBatchLoss(F.mse_loss(Predict(z_train, wz_train), y_train), config.TrainPoints),
            options,
            evaluate: () => F.mse_loss(Predict(z_test, wz_test), y_test).ToDouble(),
            onStep: (_, metrics) =>
            {
                if (!metrics.ContainsKey("train_loss")) return;          // only on logged steps
                (metrics["norm_A"], metrics["norm_BA"]) = FeatureNorms(lora, z_train);
            });

        foreach (var (step, name, value) in result.Metrics) context.LogMetric(step, name, value);
        var final = new Dictionary<string, double> { ["train_loss"] = result.FinalTrainLoss, ["steps"] = result.Steps };
        if (result.FinalEvalLoss is { } test) final["test_loss"] = test;
        return result.Diverged ? RunOutcome.Diverged(result.DivergenceReason!, final) : RunOutcome.Done(final);
    }

    /// <summary>The adapted layer's output W z + s·B A z, given the frozen W z: equal to lora.forward(z).</summary>
    public static Tensor AdaptedLayer(LoraLinear lora, Tensor z, Tensor wz)
    {
        using var scope = torch.NewDisposeScope();
        var zb = F.linear(F.linear(z, lora.lora_A), lora.lora_B);
        return (wz + zb * lora.scaling).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// (‖Z_A‖, ‖Z_B‖): the means over the inputs of ‖A z‖ and ‖B A z‖ (the same quantities as
    /// LoraLinear.RecordNorms), measured after the step's update.
    /// </summary>
    public static (double normA, double normBA) FeatureNorms(LoraLinear lora, Tensor z)
    {
        using var scope = torch.NewDisposeScope();
        using var _ = torch.no_grad();
        var za = F.linear(z, lora.lora_A);
        var zb = F.linear(za, lora.lora_B);
        return (za.norm(2, -1).mean().ToDouble(), zb.norm(2, -1).mean().ToDouble());
    }

    private static Tensor FrozenPart(LoraLinear lora, Tensor z)
    {
        using var scope = torch.NewDisposeScope();
        using var _ = torch.no_grad();
        return F.linear(z, lora.weight).MoveToOuterDisposeScope();
    }

    private static Tensor Features(Linear w_in, Tensor x, Device device)
    {
        using var scope = torch.NewDisposeScope();
        using var _ = torch.no_grad();
        return w_in.forward(x.to(device)).relu().MoveToOuterDisposeScope();
    }
}
