using LoraLab.Torch;

namespace LoraLab.Optim;

/// <summary>
/// AdamW (Loshchilov &amp; Hutter 2019), as torch.optim.AdamW:
/// p ← p·(1 − lr·wd);  m ← β1 m + (1−β1) g;  v ← β2 v + (1−β2) g²;
/// p ← p − lr/(1−β1ᵗ) · m / (√v / √(1−β2ᵗ) + ε), with t counted per parameter.
/// </summary>
public sealed class AdamW : Optimizer
{
    private readonly double beta1, beta2, eps;
    private readonly List<(Tensor[] m, Tensor[] v, long[] steps)> state = new();

    public AdamW(IEnumerable<ParamGroup> groups, double beta1 = 0.9, double beta2 = 0.999, double eps = 1e-8) : base(groups)
    {
        (this.beta1, this.beta2, this.eps) = (beta1, beta2, eps);
        foreach (var g in param_groups)
            state.Add((g.parameters.Select(State).ToArray(), g.parameters.Select(State).ToArray(), new long[g.parameters.Count]));
    }

    public AdamW(IEnumerable<Tensor> parameters, double lr = 1e-3, double weight_decay = 0.01, double beta1 = 0.9, double beta2 = 0.999, double eps = 1e-8)
        : this(new[] { new ParamGroup(parameters, lr, weight_decay) }, beta1, beta2, eps) { }

    protected override void Step(int index, ParamGroup group)
    {
        var (m, v, steps) = state[index];
        torch.optim_kernels.adamw_(group.parameters, m, v, steps, group.lr, beta1, beta2, eps, group.weight_decay);
    }

    protected override IEnumerable<Tensor> StateTensors() => state.SelectMany(s => s.m.Concat(s.v));
}
