using TorchSharp;
using static TorchSharp.torch;

namespace LoraLab.Optim;

/// <summary>
/// The learning rate and weight decay of every element of a flat buffer that holds the parameters of several groups
/// (LoRA+'s A and B factors, say, at different rates): an update then stays a few operations on the whole buffer
/// instead of a few per group. A group's rate is lr_g = lr · ratio_g, with lr the first group's (non-zero) rate; the
/// per-element ratios and weight decays are vectors rebuilt only when the groups' rates change relative to one another,
/// not when a schedule scales them all. A buffer of one group needs no vectors at all.
/// </summary>
internal sealed class GroupRates : IDisposable
{
    private readonly (ParamGroup group, long offset, long length)[] ranges;
    private readonly ScalarType dtype;
    private readonly Device device;
    private double[] ratios = Array.Empty<double>(), decays = Array.Empty<double>();
    private Tensor? ratio, ratioDecay, decay;     // per element: lr_e / lr, lr_e·wd_e / lr, wd_e

    public GroupRates(IReadOnlyList<(ParamGroup group, long offset, long length)> ranges, ScalarType dtype, Device device)
    {
        this.ranges = ranges.ToArray();
        (this.dtype, this.device) = (dtype, device);
    }

    /// <summary>The scalar learning rate of this step: the first group's with a non-zero rate (0 when all are 0).</summary>
    public double lr { get; private set; }

    private bool OneGroup => ranges.Length == 1;

    /// <summary>Reads the groups' current rates; call once per step, before the update.</summary>
    public void Refresh()
    {
        lr = ranges.Select(r => r.group.lr).FirstOrDefault(x => x != 0);
        if (OneGroup || lr == 0) return;
        var newRatios = ranges.Select(r => r.group.lr / lr).ToArray();
        var newDecays = ranges.Select(r => r.group.weight_decay).ToArray();
        if (ratio is not null && Same(newRatios, ratios) && Same(newDecays, decays)) return;
        (ratios, decays) = (newRatios, newDecays);
        Fill(ref ratio, i => ratios[i]);
        Fill(ref ratioDecay, i => ratios[i] * decays[i]);
        Fill(ref decay, i => decays[i]);
    }

    // Equal up to rounding: lr·16 / lr is 16 only to within an ulp, step after step.
    private static bool Same(double[] a, double[] b) =>
        a.Length == b.Length && a.Zip(b).All(x => Math.Abs(x.First - x.Second) <= 1e-12 * Math.Max(Math.Abs(x.First), Math.Abs(x.Second)));

    private void Fill(ref Tensor? vector, Func<int, double> value)
    {
        using var noGrad = torch.no_grad();
        vector ??= torch.empty(ranges.Sum(r => r.length), dtype, device).DetachFromDisposeScope();
        for (int i = 0; i < ranges.Length; i++)
            using (var slice = vector.narrow(0, ranges[i].offset, ranges[i].length)) slice.fill_(value(i));
    }

    /// <summary>Decoupled weight decay: w ← w · (1 − lr_e · wd_e).</summary>
    public void Decay(Tensor w)
    {
        if (OneGroup)
        {
            double shrink = ranges[0].group.lr * ranges[0].group.weight_decay;
            if (shrink != 0) w.mul_(1 - shrink);
        }
        else if (lr != 0 && decays.Any(d => d != 0)) w.addcmul_(w, ratioDecay!, -lr);
    }

    /// <summary>An update to be multiplied by lr: scaled by each element's ratio lr_e / lr (itself for one group).</summary>
    public Tensor PerElement(Tensor update) => OneGroup || lr == 0 || ratios.All(r => r == 1) ? update : update * ratio!;

    /// <summary>Coupled weight decay (SGD's): g + wd_e · w.</summary>
    public Tensor Coupled(Tensor g, Tensor w)
    {
        if (OneGroup) return ranges[0].group.weight_decay == 0 ? g : g.add(w, ranges[0].group.weight_decay);
        return lr == 0 || decays.All(d => d == 0) ? g : g.addcmul(w, decay!, 1);
    }

    public void Dispose()
    {
        ratio?.Dispose();
        ratioDecay?.Dispose();
        decay?.Dispose();
    }
}
