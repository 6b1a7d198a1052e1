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

    /// <summary>
    /// For an ensemble (E runs trained as one, each parameter stacking the runs along its first dimension): each member's
    /// multiplier of lr, so member e learns at lr · member_lr[e] (its own rate, under the group's schedule). null: one
    /// run. <see cref="Optimizer.StopMember"/> sets a member's multiplier to 0.
    /// </summary>
    public double[]? member_lr
    {
        get => memberLr;
        init
        {
            if (value is { Length: 0 } || value?.Any(x => !(x >= 0)) == true)
                throw new ArgumentException("member_lr needs one non-negative multiplier per member", nameof(member_lr));
            foreach (var p in parameters)
                if (value is not null && (p.dim() == 0 || p.size(0) != value.Length))
                    throw new ArgumentException($"an ensemble of {value.Length} members needs parameters of that many along their first dimension, got [{string.Join(", ", p.shape)}]", nameof(member_lr));
            memberLr = value?.ToArray();
        }
    }

    private double[]? memberLr;

    public override string ToString() => $"{(name.Length > 0 ? name : "group")}: {parameters.Count} tensors, lr={lr:G4}, weight_decay={weight_decay:G4}";
}
