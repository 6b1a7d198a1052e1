using TorchSharp;
using static TorchSharp.torch;

namespace LoraLab.Optim;

/// <summary>
/// The learning rate and weight decay of every element of a flat buffer that holds the parameters of several groups
/// (LoRA+'s A and B factors, say, at different rates) or the members of an ensemble (E runs stacked along each
/// parameter's first dimension, each at its own rate): an update then stays a few operations on the whole buffer.
/// Element i learns at lr · ratio_i, with lr the first group's (non-zero) rate; the per-element ratios and weight decays
/// are vectors rebuilt only when the groups' rates change relative to one another (or a member stops), not when a
/// schedule scales them all. A buffer of one plain group needs no vectors at all.
/// </summary>
internal sealed class GroupRates : IDisposable
{
    /// <summary>A stretch of the buffer under one group: one parameter of an ensemble group (its members are equal
    /// blocks), or consecutive parameters of a plain group.</summary>
    public sealed record Range(ParamGroup group, long offset, long length);

    private readonly Range[] ranges;
    private readonly ScalarType dtype;
    private readonly Device device;
    private double[] ratios = Array.Empty<double>(), decays = Array.Empty<double>();   // per block, as last filled
    private Tensor? ratio, ratioDecay, decay;     // per element: lr_i / lr, lr_i·wd_i / lr, wd_i

    public GroupRates(IReadOnlyList<Range> ranges, ScalarType dtype, Device device)
    {
        this.ranges = ranges.ToArray();
        (this.dtype, this.device) = (dtype, device);
    }

    /// <summary>The scalar learning rate of this step: the first group's with a non-zero rate (0 when all are 0).</summary>
    public double lr { get; private set; }

    private bool OneGroup => ranges.All(r => ReferenceEquals(r.group, ranges[0].group)) && ranges[0].group.member_lr is null;

    /// <summary>Each block of the buffer, with its group and member multiplier (1 outside ensembles).</summary>
    private IEnumerable<(ParamGroup group, long offset, long length, double member)> Blocks()
    {
        foreach (var r in ranges)
        {
            if (r.group.member_lr is not { } scales) { yield return (r.group, r.offset, r.length, 1); continue; }
            long block = r.length / scales.Length;
            for (int e = 0; e < scales.Length; e++) yield return (r.group, r.offset + e * block, block, scales[e]);
        }
    }

    /// <summary>Reads the groups' current rates; call once per step, before the update.</summary>
    public void Refresh()
    {
        lr = ranges.Select(r => r.group.lr).FirstOrDefault(x => x != 0);
        if (OneGroup || lr == 0) return;
        var blocks = Blocks().ToList();
        var newRatios = blocks.Select(b => b.group.lr / lr * b.member).ToArray();
        var newDecays = blocks.Select(b => b.group.weight_decay).ToArray();
        if (ratio is not null && Same(newRatios, ratios) && Same(newDecays, decays)) return;
        (ratios, decays) = (newRatios, newDecays);
        Fill(ref ratio, blocks, i => ratios[i]);
        Fill(ref ratioDecay, blocks, i => ratios[i] * decays[i]);
        Fill(ref decay, blocks, i => decays[i]);
    }

    // Equal up to rounding: lr·16 / lr is 16 only to within an ulp, step after step.
    private static bool Same(double[] a, double[] b) =>
        a.Length == b.Length && a.Zip(b).All(x => Math.Abs(x.First - x.Second) <= 1e-12 * Math.Max(Math.Abs(x.First), Math.Abs(x.Second)));

    private void Fill(ref Tensor? vector, List<(ParamGroup group, long offset, long length, double member)> blocks, Func<int, double> value)
    {
        using var noGrad = torch.no_grad();
        vector ??= torch.empty(ranges.Sum(r => r.length), dtype, device).DetachFromDisposeScope();
        for (int i = 0; i < blocks.Count; i++)
            using (var slice = vector.narrow(0, blocks[i].offset, blocks[i].length)) slice.fill_(value(i));
    }

    /// <summary>Decoupled weight decay: w ← w · (1 − lr_i · wd_i).</summary>
    public void Decay(Tensor w)
    {
        if (OneGroup)
        {
            double shrink = ranges[0].group.lr * ranges[0].group.weight_decay;
            if (shrink != 0) w.mul_(1 - shrink);
        }
        else if (lr != 0 && ratios.Zip(decays).Any(x => x.First * x.Second != 0)) w.addcmul_(w, ratioDecay!, -lr);
    }

    /// <summary>An update to be multiplied by lr: scaled by each element's ratio lr_i / lr (itself for one group).</summary>
    public Tensor PerElement(Tensor update) => OneGroup || lr == 0 || ratios.All(r => r == 1) ? update : update * ratio!;

    /// <summary>Coupled weight decay (SGD's): g + wd_i · w.</summary>
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
