using TorchSharp;
using static TorchSharp.torch;

namespace LoraLab.Optim;

/// <summary>
/// AdamW (Loshchilov &amp; Hutter 2019), as torch.optim.AdamW:
/// p ← p·(1 − lr·wd);  m ← β1 m + (1−β1) g;  v ← β2 v + (1−β2) g²;
/// p ← p − lr/(1−β1ᵗ) · m / (√v / √(1−β2ᵗ) + ε). Each flat buffer is updated by seven operations.
/// </summary>
public sealed class AdamW : Optimizer
{
    private readonly double beta1, beta2, eps;
    private readonly List<(Tensor m, Tensor v)> moments = new();
    private readonly List<long> steps = new();

    public AdamW(IEnumerable<ParamGroup> groups, double beta1 = 0.9, double beta2 = 0.999, double eps = 1e-8) : base(groups)
    {
        (this.beta1, this.beta2, this.eps) = (beta1, beta2, eps);
        foreach (var (_, buffer) in Buckets)
        {
            moments.Add((buffer.NewState(), buffer.NewState()));
            steps.Add(0);
        }
    }

    public AdamW(IEnumerable<Tensor> parameters, double lr = 1e-3, double weight_decay = 0.01, double beta1 = 0.9, double beta2 = 0.999, double eps = 1e-8)
        : this(new[] { new ParamGroup(parameters, lr, weight_decay) }, beta1, beta2, eps) { }

    internal override void Update(int index, GroupRates rates, FlatBuffer buffer)
    {
        var (m, v) = moments[index];
        long t = ++steps[index];
        var (w, g) = (buffer.weights, buffer.GradientForUpdate());
        rates.Decay(w);
        m.mul_(beta1).add_(g, 1 - beta1);
        v.mul_(beta2).addcmul_(g, g, 1 - beta2);
        double bias1 = 1 - Math.Pow(beta1, t), bias2 = 1 - Math.Pow(beta2, t);
        var denominator = v.sqrt().div_(Math.Sqrt(bias2)).add_(eps);
        w.addcdiv_(rates.PerElement(m), denominator, -rates.lr / bias1);
    }

    internal override IEnumerable<Tensor> StateTensors(int index) => new[] { moments[index].m, moments[index].v };

    /// <summary>The first and second moments of group <paramref name="group"/>'s parameters, one view per parameter, in
    /// the group's order (for inspection and tests).</summary>
    public (IReadOnlyList<Tensor> exp_avg, IReadOnlyList<Tensor> exp_avg_sq) StateOf(int group)
    {
        var m = new List<Tensor>();
        var v = new List<Tensor>();
        foreach (var p in param_groups[group].parameters)
            for (int i = 0; i < Buckets.Count; i++)
            {
                int at = Buckets[i].buffer.IndexOf(p);
                if (at < 0) continue;
                m.Add(Buckets[i].buffer.SliceOf(moments[i].m, at));
                v.Add(Buckets[i].buffer.SliceOf(moments[i].v, at));
            }
        return (m, v);
    }
}
