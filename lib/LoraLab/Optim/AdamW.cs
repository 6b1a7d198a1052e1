using LoraLab.Torch;

namespace LoraLab.Optim;

/// <summary>
/// AdamW (Loshchilov &amp; Hutter 2019), as torch.optim.AdamW:
/// p ← p·(1 − lr·wd);  m ← β1 m + (1−β1) g;  v ← β2 v + (1−β2) g²;
/// p ← p − lr/(1−β1ᵗ) · m / (√v / √(1−β2ᵗ) + ε), with t counted per parameter.
/// m and v are float32 for bf16/fp16 parameters. On a device where libtorch has the fused kernel
/// (CUDA from 2.0, CPU from 2.4) a group whose parameters and state share one dtype is updated
/// by at::_fused_adamw_, which reads t from float32 step tensors kept on the device.
/// </summary>
public sealed class AdamW : Optimizer
{
    private readonly double beta1, beta2, eps;
    private readonly List<(Tensor[] m, Tensor[] v, long[] steps, Tensor[]? deviceSteps)> state = new();

    public AdamW(IEnumerable<ParamGroup> groups, double beta1 = 0.9, double beta2 = 0.999, double eps = 1e-8) : base(groups)
    {
        (this.beta1, this.beta2, this.eps) = (beta1, beta2, eps);
        foreach (var g in param_groups)
            state.Add((g.parameters.Select(State).ToArray(), g.parameters.Select(State).ToArray(), new long[g.parameters.Count], DeviceSteps(g)));
    }

    public AdamW(IEnumerable<Tensor> parameters, double lr = 1e-3, double weight_decay = 0.01, double beta1 = 0.9, double beta2 = 0.999, double eps = 1e-8)
        : this(new[] { new ParamGroup(parameters, lr, weight_decay) }, beta1, beta2, eps) { }

    protected override void Step(int index, ParamGroup group)
    {
        var (m, v, steps, deviceSteps) = state[index];
        LastImpl = torch.optim_kernels.adamw_(group.parameters, m, v, steps, group.lr, beta1, beta2, eps, group.weight_decay, impl, deviceSteps);
    }

    /// <summary>The first and second moments of group `index`'s parameters (read-only use: inspection and tests).</summary>
    public (IReadOnlyList<Tensor> exp_avg, IReadOnlyList<Tensor> exp_avg_sq) StateOf(int index) => (state[index].m, state[index].v);

    // Float32 step counts on the parameters' devices, when the fused kernel can run there.
    private static Tensor[]? DeviceSteps(ParamGroup g)
    {
        if (g.parameters.Count == 0 || !g.parameters.All(p => torch.optim_kernels.has_fused_adamw(p.device))) return null;
        using var _ = torch.no_grad();
        return g.parameters.Select(p => torch.zeros(Array.Empty<long>(), ScalarType.Float32, p.device).DetachFromDisposeScope()).ToArray();
    }

    protected override IEnumerable<Tensor> StateTensors() => state.SelectMany(s => s.m.Concat(s.v).Concat(s.deviceSteps ?? Array.Empty<Tensor>()));
}
