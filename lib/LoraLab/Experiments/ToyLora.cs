using System.Text.Json.Serialization;
using LoraLab.Data.Sweeps;
using LoraLab.Lora;
using LoraLab.Models;
using LoraLab.Optim;
using LoraLab.Training;
using TorchSharp;
using Linear = TorchSharp.Modules.Linear;
using Parameter = TorchSharp.Modules.Parameter;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace LoraLab.Experiments;

/// <summary>Everything a toy run depends on (notebook 01): its JSON is hashed, so equal configs are the same run in the store.</summary>
public sealed record ToyConfig(int n, LoraInit init, double learning_rate, int max_steps, int r, double lora_alpha,
                               int n_train, int n_test, int planted_rank, double delta_scale, int d = 5, int log_every = 5)
{
    /// <summary>What runs must share to train as one ensemble: the tensors' shapes and the loop's length. The rest (init,
    /// learning rate, alpha, the planted change) may differ from member to member. Not part of the config's JSON.</summary>
    [JsonIgnore] public string Shape => $"n={n} r={r} d={d} train={n_train} test={n_test} steps={max_steps} log={log_every}";
}

/// <summary>
/// The toy finetuning of Hayou, Ghosh &amp; Yu 2024 (notebook 01): LoRA on the middle layer of a teacher-student ToyMlp of
/// width n, full-batch Adam at a constant rate. Only A and B train, so z = φ(W_in x) and W z are computed once (per
/// task and seed, shared by its runs: <see cref="FrozenToyTask"/>) and a step costs O(N·n·r) instead of O(N·n²); on the
/// CPU its loss and gradients come from <see cref="ToyLossKernel"/>. <see cref="Train(ToyConfig, int, RunContext?, Device?)"/> runs one configuration; <see cref="TrainEnsemble"/> trains
/// many of one <see cref="ToyConfig.Shape"/> as one ensemble (each member's task, init and data from its own seed, as in
/// Train, and each member's result what Train would return, up to rounding).
/// </summary>
public sealed class ToyLora : ISweepTask<ToyConfig>
{
    private ToyLora() { }

    // A member holds about eight N×n float32 tensors (features, activations, gradients): 256 MB for all members, and
    // no more than 64 of them (past that, a step is long enough that more members buy little).
    static int ISweepTask<ToyConfig>.MaxEnsembleSize(ToyConfig c) => MaxEnsembleSize(c);

    /// <summary>
    /// How many runs of one shape an ensemble holds when the sweep chooses: 1 on the CPU, where an ensemble was measured
    /// slower than its runs one at a time (<c>./lab bench sweep --scan</c>, 2-core EPYC, 2026-12-03: 0.98x at n = 64 and
    /// 3 members, 0.85x at n = 256 and 2, 0.5x at n = 1024 and 4): a step of one run is already bound by arithmetic and
    /// memory traffic on [n_train, n] tensors, not by the calls into libtorch, and E members' tensors leave the cache.
    /// On a GPU, as many as 256 MiB of activations allow (about 32 bytes per element of the [n_train + n_test, n]
    /// features), at most 64. An explicit ensemble size overrides this.
    /// </summary>
    public static int MaxEnsembleSize(ToyConfig c, DeviceType? device = null) =>
        (device ?? DefaultDevice.type) != DeviceType.CUDA ? 1
        : (int)Math.Clamp(256L * 1024 * 1024 / (32L * (c.n_train + c.n_test) * c.n), 1, 64);
    static string ISweepTask<ToyConfig>.EnsembleKey(ToyConfig c) => c.Shape;
    static RunOutcome ISweepTask<ToyConfig>.Train(ToyConfig c, int seed, RunContext context) => Train(c, seed, context);
    static IReadOnlyList<RunOutcome> ISweepTask<ToyConfig>.TrainEnsemble(IReadOnlyList<(ToyConfig config, int seed, RunContext context)> runs) =>
        TrainEnsemble(runs.Select(x => (x.config, x.seed, (RunContext?)x.context)).ToList());

    /// <summary>The GPU where there is one.</summary>
    private static Device DefaultDevice => torch.cuda.is_available() ? torch.CUDA : torch.CPU;

    /// <summary>One run, recorded in <paramref name="context"/> when given.</summary>
    public static RunOutcome Train(ToyConfig c, int seed, RunContext? context, Device? device = null) => Train(c, seed, context, device, null);

    // rowBlocks: the blocks a libtorch step is computed in (null: RowBlocks'), for the test that blocks change nothing;
    // kernel: false computes every step with libtorch's operations even where ToyLossKernel applies, for the tests and the
    // benchmark that compare the two.
    internal static RunOutcome Train(ToyConfig c, int seed, RunContext? context, Device? device, int? rowBlocks, bool kernel = true)
    {
        device ??= DefaultDevice;
        using var member = new Member(c, seed, device);
        using var optimizer = new AdamW(new[] { member.lora.lora_A, member.lora.lora_B }, lr: c.learning_rate, weight_decay: 0);
        // On the CPU in float32, ToyLossKernel computes the full batch's loss and gradients in one pass over its rows.
        // Elsewhere, libtorch computes it in equal row blocks whose gradients add up to the full batch's (the mean of
        // equal-sized blocks' means is the mean): a block's [rows, n] intermediates stay in the core's cache.
        kernel &= ToyLossKernel.Applies(member.z_train);
        int blocks = kernel ? 1 : rowBlocks ?? RowBlocks(c.n_train, c.n);
        var (z, wz, y) = (member.z_train.chunk(blocks), member.wz_train.chunk(blocks), member.y_train.chunk(blocks));
        var result = Trainer.Run(member.model, optimizer, Schedules.Constant(),
            (_, block) => new MicroBatchLoss(kernel ? member.KernelLoss() : F.mse_loss(member.Predict(z[block], wz[block]), y[block]), c.n_train / blocks),
            new TrainerOptions { MaxSteps = c.max_steps, LogEvery = c.log_every, ProgressLabel = null, GradientAccumulation = blocks },
            evaluate: () => F.mse_loss(member.Predict(member.z_test, member.wz_test), member.y_test).ToDouble(),
            onStep: (_, metrics) =>
            {
                if (metrics.ContainsKey("train_loss")) (metrics["norm_A"], metrics["norm_BA"]) = member.FeatureNorms(kernel);
            });
        return RunOutcome.From(result, context);
    }

    /// <summary>How many equal row blocks a step over <paramref name="rows"/> training points of width n is computed in:
    /// the fewest that divide the rows evenly and keep a block's [rows, n] float tensor within 1 MiB (a core's L2 cache
    /// here), so that a step's passes over its intermediates stay in the cache. Measured on the 2-core EPYC at n = 1024
    /// (./lab bench sweep --widths 1024 --scan 1): 4.34 s a run as one block, 4.00 s with the fused forward, 3.28 s in 4
    /// blocks of 250 rows; 20 blocks of 50 rows lose it again to the calls per block (4.23 s).</summary>
    public static int RowBlocks(int rows, int n)
    {
        const long budget = 1024 * 1024;
        for (int blocks = 1; blocks < rows; blocks++)
            if (rows % blocks == 0 && 4L * (rows / blocks) * n <= budget) return blocks;
        return rows;
    }

    /// <summary>
    /// Runs of one shape trained as one ensemble of E members: Aᵀ [E, n, r] and Bᵀ [E, r, n], each member at its own
    /// learning rate, the forward in batched matrix products. Returns each member's outcome (recorded in its context
    /// when given); a member that diverges is stopped and recorded at that step, and the others go on.
    /// </summary>
    public static IReadOnlyList<RunOutcome> TrainEnsemble(IReadOnlyList<(ToyConfig config, int seed, RunContext? context)> runs, Device? device = null)
    {
        if (runs.Count == 0) return Array.Empty<RunOutcome>();
        var shape = runs[0].config.Shape;
        if (runs.Any(x => x.config.Shape != shape))
            throw new ArgumentException("an ensemble's runs must share n, r, d, n_train, n_test, max_steps and log_every", nameof(runs));
        device ??= DefaultDevice;
        var c0 = runs[0].config;
        int E = runs.Count;

        using var scope = torch.NewDisposeScope();
        Tensor z_train, z_test, wz_train, wz_test, y_train, y_test, w_outT, At0, Bt0;
        {
            // Each member built exactly as a single run builds it, then stacked; the members' own tensors are freed.
            var members = runs.Select(x => new Member(x.config, x.seed, device)).ToList();
            try
            {
                Tensor Stack(Func<Member, Tensor> part) => torch.stack(members.Select(part).ToArray());
                (z_train, z_test, wz_train, wz_test) = (Stack(m => m.z_train), Stack(m => m.z_test), Stack(m => m.wz_train), Stack(m => m.wz_test));
                // The weights transposed, and contiguous so: libtorch's CPU bmm is about 3x slower on a transposed view.
                (y_train, y_test, w_outT) = (Stack(m => m.y_train), Stack(m => m.y_test), Stack(m => m.w_out.weight.detach().t().contiguous()));
                (At0, Bt0) = (Stack(m => m.lora.lora_A.detach().t().contiguous()), Stack(m => m.lora.lora_B.detach().t().contiguous()));
            }
            finally { foreach (var m in members) m.Dispose(); }
        }
        var At = new Parameter(At0.clone());                                          // Aᵀ: [E, n, r]
        var Bt = new Parameter(Bt0.clone());                                          // Bᵀ: [E, r, n]
        var scaling = torch.tensor(runs.Select(x => x.config.lora_alpha / x.config.r).ToArray(), At.dtype, device).view(E, 1, 1);

        // Each member's adapted layer y = W z + s·B A z from its cached W z, then ReLU and its frozen output layer,
        // in row form: z Aᵀ Bᵀ.
        Tensor Predict(Tensor z, Tensor wz) => (wz + z.bmm(At).bmm(Bt) * scaling).relu().bmm(w_outT);
        Tensor MeanSquaredError(Tensor z, Tensor wz, Tensor y) => (Predict(z, wz) - y).square().mean(new long[] { 1, 2 });

        var group = new ParamGroup(new[] { At, Bt }, lr: 1.0, weight_decay: 0) { member_lr = runs.Select(x => x.config.learning_rate).ToArray() };
        using var optimizer = new AdamW(new[] { group });
        var results = EnsembleTrainer.Run(null, optimizer, E, Schedules.Constant(),
            _ => MeanSquaredError(z_train, wz_train, y_train),
            new TrainerOptions { MaxSteps = c0.max_steps, LogEvery = c0.log_every, ProgressLabel = null },
            evaluate: () => MeanSquaredError(z_test, wz_test, y_test).to(ScalarType.Float64).cpu().data<double>().ToArray(),
            onStep: (_, metrics) =>
            {
                if (!metrics.Any(m => m?.ContainsKey("train_loss") == true)) return;
                using var noGrad = torch.no_grad();
                var za = z_train.bmm(At);
                var normA = za.norm(-1).mean(new long[] { 1 }).to(ScalarType.Float64).cpu().data<double>().ToArray();
                var normBA = za.bmm(Bt).norm(-1).mean(new long[] { 1 }).to(ScalarType.Float64).cpu().data<double>().ToArray();
                for (int e = 0; e < E; e++)
                    if (metrics[e] is { } mine && mine.ContainsKey("train_loss")) (mine["norm_A"], mine["norm_BA"]) = (normA[e], normBA[e]);
            },
            tokensPerStep: c0.n_train);
        At.Dispose();
        Bt.Dispose();
        return results.Select((result, e) => RunOutcome.From(result, runs[e].context)).ToList();
    }

    /// <summary>One run: its LoRA layer over a ToyMlp that shares the weights of its task's student, and the features that
    /// do not change while A and B train (its task's, shared with the other runs of that task: <see cref="FrozenToyTask"/>).</summary>
    internal sealed class Member : IDisposable
    {
        private readonly FrozenToyTask task;

        public Member(ToyConfig c, int seed, Device device)
        {
            task = FrozenToyTask.Acquire(c, seed, device);
            model = new ToyMlp(task.student);
            task.RestoreGenerators();
            LoraAdapters.Apply(model, new LoraConfig(r: c.r, lora_alpha: c.lora_alpha, target_modules: "hidden", init: c.init));
            lora = LoraAdapters.Layers(model).Single().layer;
            w_out = (Linear)model.w_out;
        }

        public ToyMlp model { get; }
        public LoraLayer lora { get; }
        public Linear w_out { get; }
        public Tensor x_train => task.x_train;
        public Tensor z_train => task.z_train;
        public Tensor z_test => task.z_test;
        public Tensor wz_train => task.wz_train;
        public Tensor wz_test => task.wz_test;
        public Tensor y_train => task.y_train;
        public Tensor y_test => task.y_test;

        // The adapted layer y = W z + s·B A z (LoraLinear.forward) from a cached W z, then ReLU and the frozen output layer.
        // Written as one fused product, W z + (A z)(s·B)ᵀ by addmm, and an in-place ReLU: a toy step is bound by memory
        // traffic on its [n_train, n] features, and this makes two passes over them where the plain formula makes four.
        public Tensor Predict(Tensor z, Tensor wz) =>
            w_out.forward(torch.addmm(wz, F.linear(z, lora.lora_A), (lora.lora_B * lora.scaling).t(), beta: 1, alpha: 1).relu_());

        // The training loss by ToyLossKernel, as a function of A and B that autograd differentiates (CPU, float32 only).
        public Tensor KernelLoss() =>
            ToyLossFunction.apply(lora.lora_A, lora.lora_B, new ToyLossFunction.Inputs(z_train, wz_train, y_train, w_out.weight, lora.scaling));

        // ‖Z_A‖ = mean ‖A z‖ and ‖Z_B‖ = mean ‖B A z‖ over the adapted layer's training inputs: the feature sizes of Hayou et
        // al.; by ToyLossKernel's row loop (no [N, n] tensor written) or by libtorch.
        public (double normA, double normBA) FeatureNorms(bool kernel = false)
        {
            using var scope = torch.NewDisposeScope();
            using var noGrad = torch.no_grad();
            if (kernel)
                return ToyLossKernel.FeatureNorms(ToyLossKernel.Elements(z_train), ToyLossKernel.Elements(lora.lora_A.contiguous()),
                                                  ToyLossKernel.Elements(lora.lora_B.t().contiguous()), (int)z_train.shape[1]);
            var za = F.linear(z_train, lora.lora_A);
            return (za.norm(-1).mean().ToDouble(), F.linear(za, lora.lora_B).norm(-1).mean().ToDouble());
        }

        // The LoRA factors are this run's own; the model's other weights and the features belong to the task.
        public void Dispose()
        {
            lora.A.Dispose();
            lora.B.Dispose();
            task.Release();
        }
    }
}
