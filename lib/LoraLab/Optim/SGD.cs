using TorchSharp;
using static TorchSharp.torch;

namespace LoraLab.Optim;

/// <summary>
/// SGD with momentum, as torch.optim.SGD: g ← g + wd·p (coupled decay); buf ← g on the first step,
/// then buf ← μ buf + (1 − dampening) g; p ← p − lr · (nesterov ? g + μ buf : buf). μ = 0 is plain SGD.
/// </summary>
public sealed class SGD : Optimizer
{
    private readonly double momentum, dampening;
    private readonly bool nesterov;
    private readonly List<Tensor?> buffers = new();
    private readonly List<bool> started = new();

    public SGD(IEnumerable<ParamGroup> groups, double momentum = 0, double dampening = 0, bool nesterov = false) : base(groups)
    {
        if (nesterov && (momentum <= 0 || dampening != 0)) throw new ArgumentException("Nesterov momentum needs momentum > 0 and no dampening", nameof(nesterov));
        (this.momentum, this.dampening, this.nesterov) = (momentum, dampening, nesterov);
        foreach (var (_, buffer) in Buckets)
        {
            buffers.Add(momentum != 0 ? buffer.NewState() : null);
            started.Add(false);
        }
    }

    public SGD(IEnumerable<Tensor> parameters, double lr, double momentum = 0, double weight_decay = 0, bool nesterov = false)
        : this(new[] { new ParamGroup(parameters, lr, weight_decay) }, momentum, 0, nesterov) { }

    internal override void Update(int index, GroupRates rates, FlatBuffer buffer)
    {
        var (w, d) = (buffer.weights, buffer.GradientForUpdate());
        d = rates.Coupled(d, w);
        if (buffers[index] is { } buf)
        {
            if (!started[index]) buf.copy_(d);
            else buf.mul_(momentum).add_(d, 1 - dampening);
            started[index] = true;
            d = nesterov ? d.add(buf, momentum) : buf;
        }
        w.add_(rates.PerElement(d), -rates.lr);
    }

    internal override IEnumerable<Tensor> StateTensors(int index) => buffers[index] is { } b ? new[] { b } : Array.Empty<Tensor>();
}
