using TorchSharp;
using static TorchSharp.torch;

namespace LoraLab.Optim;

/// <summary>Parameters updated with one learning rate and weight decay. lr is what the next step
/// uses; base_lr is the peak a schedule scales (Optimizer.SetLrFactor sets lr = base_lr · factor).</summary>
public sealed class ParamGroup
{
    public ParamGroup(IEnumerable<Tensor> parameters, double lr, double weight_decay = 0, string name = "")
    {
        if (!(lr >= 0)) throw new ArgumentException($"learning rate must be non-negative, got {lr}", nameof(lr));
        if (!(weight_decay >= 0)) throw new ArgumentException($"weight decay must be non-negative, got {weight_decay}", nameof(weight_decay));
        this.parameters = parameters.ToList();
        this.lr = base_lr = lr;
        this.weight_decay = weight_decay;
        this.name = name;
    }

    public IReadOnlyList<Tensor> parameters { get; }
    public double lr { get; set; }
    public double base_lr { get; }
    public double weight_decay { get; set; }
    public string name { get; }

    public override string ToString() => $"{(name.Length > 0 ? name : "group")}: {parameters.Count} tensors, lr={lr:G4}, weight_decay={weight_decay:G4}";
}
