using TorchSharp;
using static TorchSharp.torch;

namespace LoraLab.Optim;

/// <summary>
/// Lion (Chen et al. 2023): p ← p·(1 − lr·wd) − lr · sign(β1 m + (1−β1) g);  m ← β2 m + (1−β2) g.
/// Defaults β = (0.9, 0.95), as Biderman et al. 2024 ("LoRA Learns Less and Forgets Less") used.
/// Lion's update has unit size per coordinate, so its lr is typically 3–10× smaller than AdamW's.
/// </summary>
public sealed class Lion : Optimizer
{
    private readonly double beta1, beta2;
    private readonly List<Tensor> momentum = new();

    public Lion(IEnumerable<ParamGroup> groups, double beta1 = 0.9, double beta2 = 0.95) : base(groups)
    {
        (this.beta1, this.beta2) = (beta1, beta2);
        foreach (var (_, buffer) in Buckets) momentum.Add(buffer.NewState());
    }

    public Lion(IEnumerable<Tensor> parameters, double lr = 1e-4, double weight_decay = 0, double beta1 = 0.9, double beta2 = 0.95)
        : this(new[] { new ParamGroup(parameters, lr, weight_decay) }, beta1, beta2) { }

    internal override void Update(int index, GroupRates rates, FlatBuffer buffer)
    {
        var m = momentum[index];
        var (w, g) = (buffer.weights, buffer.GradientForUpdate());
        var direction = m.mul(beta1).add_(g, 1 - beta1).sign_();
        rates.Decay(w);
        w.add_(rates.PerElement(direction), -rates.lr);
        m.mul_(beta2).add_(g, 1 - beta2);
    }

    internal override IEnumerable<Tensor> StateTensors(int index) => new[] { momentum[index] };
}
