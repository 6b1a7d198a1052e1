using System.Text.Json.Serialization;
using LoraLab.Analysis;
using LoraLab.BaseModels;
using LoraLab.Data;
using LoraLab.Data.Sweeps;
using LoraLab.Modules;
using LoraLab.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace LoraLab.Experiments;

/// <summary>How a linearized problem is fitted: the convex problem min_δ L(δ) + λ||δ||_* by proximal gradient descent
/// (its optimum is the reference), or LoRA, δ = B A, by gradient descent on L(B A) + (λ/2)(||A||² + ||B||²).</summary>
public enum LinearizedMethod { Convex, Lora }

/// <summary>
/// Everything a run of notebook 04's part 2 (Jang, Lee &amp; Ryu 2024, "LoRA Training in the NTK Regime has No Spurious
/// Local Minima") depends on; its JSON is hashed, so equal configs are the same run in the store.
/// <para><paramref name="features"/> is "synthetic" (Gaussian Jacobians with a planted rank-<paramref name="planted_rank"/>
/// solution: <paramref name="n_examples"/>, <paramref name="num_labels"/>, <paramref name="matrix_size"/>) or the name of a
/// projection of the base classifier's last layer ("q_proj", "v_proj"): its Jacobians on
/// <paramref name="shots_per_class"/> spam e-mails per class of the base <paramref name="base_profile"/> (cache key
/// <paramref name="base_model"/>), e-mails cut to <paramref name="max_length"/> tokens, drawn from the first
/// <paramref name="max_train"/> of the training split, tested on <paramref name="max_eval"/> test e-mails. The settings of
/// the other kind must be empty ("" and 0), so that equal runs hash equally.</para>
/// <para>The knobs are scale-free: <paramref name="nuclear_norm_weight"/> is λ / λ_max (λ_max = ||∇L(0)||_op, the smallest
/// λ whose optimum is δ = 0; not an optimizer's weight decay), <paramref name="learning_rate"/> is the step in units of
/// 1/L (L: the loss's smoothness). Convex runs have r = 0 and init_std = 0 (they draw nothing); LoRA runs r ≥ 1,
/// B = 0 and A ~ N(0, init_std²).</para>
/// </summary>
public sealed record LinearizedLoraConfig(
    string features, LinearizedMethod method, int r,
    int n_examples, int num_labels, int matrix_size, int planted_rank,
    double nuclear_norm_weight, double learning_rate, int max_steps, double init_std,
    string base_model, string base_profile, int shots_per_class, int max_length, int max_train, int max_eval)
{
    public const string Synthetic = "synthetic";

    /// <summary>The problem this run fits, as tables and legends name it ("synthetic N=8 K=2", "q_proj N=32 K=2"); not part
    /// of the JSON: runs of one problem share it.</summary>
    [JsonIgnore] public string ProblemLabel => FormattableString.Invariant($"{features} N={n_examples} K={num_labels}");

    /// <summary>Where the theorem's threshold is: r(r + 1) / (2 K N), which is above 1 exactly when LoRA's rank has no
    /// spurious local minima.</summary>
    [JsonIgnore] public double ThresholdPosition => r * (r + 1) / (2.0 * n_examples * num_labels);

    /// <summary>Throws an <see cref="ArgumentException"/> that names the field when the config cannot be a run.</summary>
    public void Validate()
    {
        if (!Enum.IsDefined(method)) throw new ArgumentException($"method {method} is not Convex or Lora", nameof(method));
        if (method == LinearizedMethod.Convex && (r != 0 || init_std != 0))
            throw new ArgumentException($"the convex problem has no rank and draws nothing: r and init_std must be 0 (got {r} and {init_std})", nameof(r));
        if (method == LinearizedMethod.Lora && (r < 1 || r > matrix_size))
            throw new ArgumentException($"LoRA's rank r must be in [1, matrix_size = {matrix_size}], got {r}", nameof(r));
        if (method == LinearizedMethod.Lora && !(init_std > 0)) throw new ArgumentException($"LoRA's init_std must be positive, got {init_std}", nameof(init_std));
        if (n_examples < 1 || num_labels < 1) throw new ArgumentException($"n_examples and num_labels must be at least 1, got {n_examples} and {num_labels}", nameof(n_examples));
        if (matrix_size < 1) throw new ArgumentException($"matrix_size must be at least 1, got {matrix_size}", nameof(matrix_size));
        if (!(nuclear_norm_weight >= 0)) throw new ArgumentException($"nuclear_norm_weight (λ / λ_max) must be 0 or more, got {nuclear_norm_weight}", nameof(nuclear_norm_weight));
        if (!(learning_rate > 0)) throw new ArgumentException($"learning_rate (in units of 1/L) must be positive, got {learning_rate}", nameof(learning_rate));
        if (max_steps < 1) throw new ArgumentException($"max_steps must be at least 1, got {max_steps}", nameof(max_steps));
        if (features == Synthetic)
        {
            if (planted_rank < 1 || planted_rank > matrix_size)
                throw new ArgumentException($"planted_rank must be in [1, matrix_size = {matrix_size}], got {planted_rank}", nameof(planted_rank));
            if (base_model != "" || base_profile != "" || shots_per_class != 0 || max_length != 0 || max_train != 0 || max_eval != 0)
                throw new ArgumentException("synthetic features use no base model or e-mails: base_model and base_profile must be \"\", " +
                                            "shots_per_class, max_length, max_train and max_eval 0", nameof(features));
            return;
        }
        if (string.IsNullOrWhiteSpace(features)) throw new ArgumentException("features is \"synthetic\" or a projection of the last layer (\"q_proj\")", nameof(features));
        if (string.IsNullOrWhiteSpace(base_profile)) throw new ArgumentException("real features need base_profile (e.g. \"quick\")", nameof(base_profile));
        if (planted_rank != 0) throw new ArgumentException($"real features have no planted solution: planted_rank must be 0, got {planted_rank}", nameof(planted_rank));
        if (shots_per_class < 1) throw new ArgumentException($"shots_per_class must be at least 1, got {shots_per_class}", nameof(shots_per_class));
        if (n_examples != 2 * shots_per_class || num_labels != 2)
            throw new ArgumentException($"real features are spam vs ham: num_labels must be 2 and n_examples 2 · shots_per_class = {2 * shots_per_class} " +
                                        $"(got {num_labels} and {n_examples})", nameof(n_examples));
        if (max_length < 1 || max_train < 2 * shots_per_class || max_eval < 1)
            throw new ArgumentException($"max_length and max_eval must be at least 1 and max_train at least 2 · shots_per_class (got {max_length}, {max_eval}, {max_train})", nameof(max_train));
    }
}

/// <summary>
/// Notebook 04's part 2 as a library task: one linearized problem (<see cref="LinearizedModel"/>), fitted by the convex
/// nuclear-norm problem or by LoRA (<see cref="LinearizedTraining"/>), with λ and the step made absolute from the
/// problem's own λ_max and smoothness. The store gets the objective along the way ("objective") and at the end, the
/// loss, the nuclear norm, the rank of δ, the theory's rank bound and threshold, ||∇L(δ)||_op / λ (at most 1 at the
/// optimum), and, on real features, the linearized classifier's test accuracy. The problems are built once per
/// process: the synthetic ones from their seed, the real ones from the base classifier's per-example Jacobians.
/// </summary>
public sealed class LinearizedLora : ISoloSweepTask<LinearizedLora, LinearizedLoraConfig>
{
    private LinearizedLora() { }

    /// <summary>How often the objective is recorded along gradient descent.</summary>
    public const int LogEvery = 20;

    // Each run is a float64 loop over [N·K, m·n] products: nothing to share between runs but the problem, which each
    // process caches. Every run trains alone.
    static RunOutcome ISweepTask<LinearizedLoraConfig>.Train(LinearizedLoraConfig c, int seed, RunContext context) => Train(c, seed, context);

    /// <summary>One run; its objective curve goes to <paramref name="context"/> when given. The seed draws LoRA's A (the
    /// convex problem is deterministic).</summary>
    public static RunOutcome Train(LinearizedLoraConfig c, int seed, RunContext? context)
    {
        c.Validate();
        var (problem, test) = Problem(c);
        double lambda = c.nuclear_norm_weight * problem.LambdaMax(), step = c.learning_rate / problem.Smoothness();
        var run = c.method == LinearizedMethod.Convex
            ? LinearizedTraining.ConvexNuclearNorm(problem, lambda, step, c.max_steps, LogEvery)
            : LinearizedTraining.Lora(problem, c.r, lambda, step, c.max_steps, c.init_std, seed, LogEvery);
        foreach (var (s, value) in run.Curve) context?.LogMetric(s, "objective", value);
        using var delta = run.DeltaTensor();
        var metrics = new Dictionary<string, double>
        {
            ["objective"] = run.Objective, ["loss"] = run.Loss, ["nuclear_norm"] = run.NuclearNorm, ["lambda"] = lambda,
            ["rank_bound"] = PlantedProblem.RankBound(c.n_examples, c.num_labels), ["threshold"] = PlantedProblem.Threshold(c.n_examples, c.num_labels),
        };
        if (!double.IsFinite(run.Objective) || !delta.isfinite().all().item<bool>())
            return RunOutcome.Diverged("the objective is not finite", metrics);
        metrics["train_accuracy"] = problem.Accuracy(delta);
        metrics["numerical_rank"] = Spectra.NumericalRank(Spectra.SingularValues(delta));
        if (c.method == LinearizedMethod.Convex) metrics["prox_residual"] = LinearizedTraining.ProxGradientResidual(problem, delta, lambda, step);
        // ||∇L(δ)||_op / λ: at most 1 at the convex optimum (its optimality condition); above 1, δ is not the optimum.
        using (var gradient = problem.Gradient(delta)) metrics["gradient_over_lambda"] = Spectra.SingularValues(gradient)[0] / lambda;
        if (test is not null) metrics["test_accuracy"] = test.Accuracy(delta);
        return RunOutcome.Done(metrics);
    }

    // ---- the problems, built once per process ----

    private static readonly object gate = new();
    private static readonly Dictionary<string, (LinearizedModel train, LinearizedModel? test)> problems = new();

    /// <summary>The problem a config fits (and, on real features, its test set), built once per process.</summary>
    public static (LinearizedModel train, LinearizedModel? test) Problem(LinearizedLoraConfig c)
    {
        c.Validate();
        string key = c.features == LinearizedLoraConfig.Synthetic
            ? FormattableString.Invariant($"synthetic|{c.n_examples}|{c.num_labels}|{c.matrix_size}|{c.planted_rank}")
            : FormattableString.Invariant($"{TaskBases.Sources}|{c.base_profile}|{c.base_model}|{c.features}|{c.shots_per_class}|{c.max_length}|{c.max_train}|{c.max_eval}");
        lock (gate)
        {
            if (!problems.TryGetValue(key, out var problem))
                problems[key] = problem = c.features == LinearizedLoraConfig.Synthetic
                    ? (PlantedProblem.Create(c.n_examples, c.num_labels, c.matrix_size, c.matrix_size, c.planted_rank, seed: 0), null)
                    : RealProblem(c);
            return problem;
        }
    }

    /// <summary>The training e-mails of a real problem: <paramref name="shots_per_class"/> of each label, picked by a
    /// hash of their index (the same on every machine), from the encoded training split.</summary>
    public static IReadOnlyList<int> Shots(EncodedSplit train, int shots_per_class) =>
        Enumerable.Range(0, 2).SelectMany(label => Enumerable.Range(0, train.Count).Where(i => train.Labels[i] == label)
            .OrderBy(i => StableHash.UInt64($"shot|{i}")).Take(shots_per_class)).ToList();

    // The base classifier (a fresh head drawn with seed 0, never trained) linearized in one projection of its last layer:
    // per-example Jacobians of its two logits on the shots and on the test e-mails, divided by ||P G||_op on the shots (a
    // reparametrization of δ that changes nothing once λ is relative to λ_max, and keeps the problem well scaled).
    private static (LinearizedModel, LinearizedModel?) RealProblem(LinearizedLoraConfig c)
    {
        var baseModel = TaskBases.BaseModel(c.base_profile, c.base_model);
        var (data, _) = ClassifierLora.TaskData(c.base_profile, "spam", c.max_length, c.max_train, c.max_eval);
        int lastLayer = baseModel.Profile.Model.num_hidden_layers - 1;
        using var classifier = BaseClassifier.FromBase(baseModel, 2, seed: 0);
        string name = $"model.layers.{lastLayer}.self_attn.{c.features}.weight";
        var weight = classifier.named_parameters().SingleOrDefault(p => p.name == name).parameter
            ?? throw new ArgumentException($"features '{c.features}' is not a projection of the last layer's attention ({name} does not exist); use q_proj, k_proj, v_proj or o_proj", nameof(c));
        var shots = Shots(data.Train, c.shots_per_class);
        var testRows = Enumerable.Range(0, data.Test.Count).ToList();
        classifier.eval();      // no dropout; gradients stay on: the Jacobians are gradients (the model is thrown away after)
        PerExampleJacobians Of(EncodedSplit split, IReadOnlyList<int> rows) =>
            PerExampleJacobians.Compute(chunk => classifier.forward(data.Batch(split, chunk.Select(i => rows[i]).ToList(), baseModel.Model.device()).inputIds), rows.Count, [weight]);
        using var trainJ = Of(data.Train, shots);
        using var testJ = Of(data.Test, testRows);
        var trainLabels = shots.Select(i => data.Train.Labels[i]).ToList();
        double scale;
        using (var raw = new LinearizedModel(trainJ.Logits, trainJ.Jacobians[0], trainLabels)) scale = raw.OperatorNorm();
        using var scope = torch.NewDisposeScope();
        return (new LinearizedModel(trainJ.Logits, trainJ.Jacobians[0] / scale, trainLabels),
                new LinearizedModel(testJ.Logits, testJ.Jacobians[0] / scale, data.Test.Labels));
    }
}
