using LoraLab.Torch;

namespace LoraLab.Optim;

/// <summary>
/// SGD with momentum, as torch.optim.SGD: g ← g + wd·p (coupled decay); buf ← g on the first step,
/// then buf ← μ buf + (1 − dampening) g; p ← p − lr · (nesterov ? g + μ buf : buf). μ = 0 is plain SGD.
/// </summary>
public sealed class SGD : Optimizer
{
    private readonly double momentum, dampening;
    private readonly bool nesterov;
    private readonly List<(Tensor?[] buffers, int[] started)> state = new();

    public SGD(IEnumerable<ParamGroup> groups, double momentum = 0, double dampening = 0, bool nesterov = false) : base(groups)
    {
        if (nesterov && (momentum <= 0 || dampening != 0)) throw new ArgumentException("Nesterov momentum needs momentum > 0 and no dampening", nameof(nesterov));
        (this.momentum, this.dampening, this.nesterov) = (momentum, dampening, nesterov);
        foreach (var g in param_groups)
            state.Add((g.parameters.Select(p => momentum != 0 ? State(p) : null).ToArray(), new int[g.parameters.Count]));
    }

    public SGD(IEnumerable<Tensor> parameters, double lr, double momentum = 0, double weight_decay = 0, bool nesterov = false)
        : this(new[] { new ParamGroup(parameters, lr, weight_decay) }, momentum, 0, nesterov) { }

    protected override void Step(int index, ParamGroup group)
    {
        var (buffers, started) = state[index];
        torch.optim_kernels.sgd_(group.parameters, buffers, started, group.lr, momentum, dampening, group.weight_decay, nesterov);
    }

    protected override IEnumerable<Tensor> StateTensors() => state.SelectMany(s => s.buffers).OfType<Tensor>();
}
