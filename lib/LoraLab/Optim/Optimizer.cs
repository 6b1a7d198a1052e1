using LoraLab.Lora;
using TorchSharp;
using static TorchSharp.torch;

namespace LoraLab.Optim;

/// <summary>
/// The optimizer protocol, as torch.optim: zero_grad(), step(). The parameters live in flat buffers, one per dtype and
/// device whatever the groups (see <see cref="FlatBuffer"/>; each group's rates apply to its range of the buffer, see
/// <see cref="GroupRates"/>), so a step is a constant number of operations per buffer, however many parameters and groups
/// there are, and zero_grad clears one gradient buffer. State tensors are owned by the optimizer (outside every dispose
/// scope); Dispose releases them. State is float32 for bf16/fp16 parameters, as mixed-precision training keeps it, and so
/// is the master copy of those parameters that the updates go to.
/// </summary>
public abstract class Optimizer : IDisposable
{
    private readonly List<(GroupRates rates, FlatBuffer buffer)> buckets = new();

    protected Optimizer(IEnumerable<ParamGroup> groups)
    {
        param_groups = groups.ToList();
        if (param_groups.Count == 0) throw new ArgumentException("an optimizer needs at least one parameter group", nameof(groups));
        var seen = new HashSet<Tensor>(ReferenceEqualityComparer.Instance);
        foreach (var g in param_groups)
            foreach (var p in g.parameters)
                if (!seen.Add(p)) throw new ArgumentException("a parameter appears in more than one group", nameof(groups));
        // One buffer per dtype and device, holding the groups' parameters group after group.
        var members = param_groups.SelectMany(g => g.parameters.Select(p => (group: g, parameter: p)));
        foreach (var sameKind in members.GroupBy(m => (m.parameter.dtype, m.parameter.device.ToString())))
        {
            var buffer = new FlatBuffer(sameKind.Select(m => m.parameter).ToList());
            var ranges = new List<GroupRates.Range>();
            long offset = 0;
            foreach (var (group, parameter) in sameKind)
            {
                long length = parameter.numel();
                // A plain group's parameters make one range; an ensemble's, one each (its members are blocks of each).
                if (group.member_lr is null && ranges.Count > 0 && ReferenceEquals(ranges[^1].group, group))
                    ranges[^1] = ranges[^1] with { length = ranges[^1].length + length };
                else ranges.Add(new GroupRates.Range(group, offset, length));
                offset += length;
            }
            buckets.Add((new GroupRates(ranges, buffer.stateDtype, buffer.data.device), buffer));
        }
    }

    public IReadOnlyList<ParamGroup> param_groups { get; }

    /// <summary>Steps taken so far.</summary>
    public long step_count { get; private set; }

    /// <summary>The flat buffers with their groups' rates: what a subclass allocates its state for.</summary>
    internal IReadOnlyList<(GroupRates rates, FlatBuffer buffer)> Buckets => buckets;

    /// <summary>Zeroes every gradient in place (one operation per buffer). The gradients stay views of the optimizer's
    /// buffer, which backward accumulates into: unlike PyTorch's default, they are not set to null.</summary>
    public void zero_grad()
    {
        foreach (var (_, buffer) in buckets) buffer.ZeroGrad();
    }

    public void step()
    {
        if (step_count == 0) LoraAdapters.CheckHookedLayersRan(param_groups.SelectMany(g => g.parameters));
        using var scope = torch.NewDisposeScope();
        using var noGrad = torch.no_grad();
        for (int i = 0; i < buckets.Count; i++)
        {
            var (rates, buffer) = buckets[i];
            var missing = buffer.GatherGradients();
            var untouched = Keep(buffer, i, missing);
            rates.Refresh();
            Update(i, rates, buffer);
            Restore(buffer, i, missing, untouched);
            buffer.WriteBack();
        }
        step_count++;
    }

    /// <summary>Updates bucket <paramref name="index"/>: buffer.weights from buffer.GradientForUpdate(), at the groups'
    /// rates, with the state the subclass keeps for that bucket.</summary>
    internal abstract void Update(int index, GroupRates rates, FlatBuffer buffer);

    /// <summary>The state tensors of bucket <paramref name="index"/> (moments, momentum), in the buffer's layout.</summary>
    internal abstract IEnumerable<Tensor> StateTensors(int index);

    // A parameter without a gradient is left as it was, as PyTorch's optimizers skip it: its slices of the weights and
    // of the state are saved before the update and put back after (rare: a parameter the forward pass did not use).
    private List<Tensor> Keep(FlatBuffer buffer, int index, List<int> missing)
    {
        var kept = new List<Tensor>();
        foreach (int p in missing)
            foreach (var flat in StateTensors(index).Prepend(buffer.weights))
            {
                var (offset, numel) = buffer.Range(p);
                kept.Add(flat.narrow(0, offset, numel).clone());
            }
        return kept;
    }

    private void Restore(FlatBuffer buffer, int index, List<int> missing, List<Tensor> kept)
    {
        int k = 0;
        foreach (int p in missing)
            foreach (var flat in StateTensors(index).Prepend(buffer.weights))
            {
                var (offset, numel) = buffer.Range(p);
                flat.narrow(0, offset, numel).copy_(kept[k++]);
            }
    }

    /// <summary>Sets each group's lr to base_lr · factor (a schedule's value for this step).</summary>
    public void SetLrFactor(double factor)
    {
        foreach (var g in param_groups) g.lr = g.base_lr * factor;
    }

    /// <summary>Stops one member of an ensemble (a diverged run, say): its multiplier becomes 0 in every ensemble
    /// group, so its weights stay where they are while the other members train on.</summary>
    public void StopMember(int member)
    {
        foreach (var g in param_groups)
            if (g.member_lr is { } scales)
            {
                if (member < 0 || member >= scales.Length) throw new ArgumentOutOfRangeException(nameof(member), member, $"the ensemble has {scales.Length} members");
                scales[member] = 0;
            }
    }

    /// <summary>Scales all gradients of all groups to a global 2-norm of at most max_norm, as torch.nn.utils.clip_grad_norm_
    /// (coefficient max_norm / (norm + 1e-6), clamped to 1); returns the norm before clipping.</summary>
    public double clip_grad_norm_(double max_norm)
    {
        using var scope = torch.NewDisposeScope();
        using var noGrad = torch.no_grad();
        foreach (var (_, buffer) in buckets) buffer.GatherGradients();
        var squares = buckets.Select(b => b.buffer.grad.to(ScalarType.Float64).square().sum()).ToList();
        var total = torch.stack(squares).sum().sqrt();
        var coefficient = (max_norm / (total + 1e-6)).clamp_max(1.0);
        foreach (var (_, buffer) in buckets) buffer.grad.mul_(coefficient.to(buffer.grad.dtype));
        return total.ToDouble();
    }

    /// <summary>The dtype of optimizer state (and of the master copy) for parameters of a dtype: float32 for bf16/fp16.</summary>
    public static ScalarType StateDtype(ScalarType parameter) =>
        parameter is ScalarType.BFloat16 or ScalarType.Float16 ? ScalarType.Float32 : parameter;

    /// <summary>clip_grad_norm_ over any parameters (not an optimizer's): torch.nn.utils.clip_grad_norm_'s rule.
    /// Parameters without a gradient are skipped. Returns the norm before clipping.</summary>
    public static double ClipGradNorm(IEnumerable<Tensor> parameters, double max_norm)
    {
        using var scope = torch.NewDisposeScope();
        using var noGrad = torch.no_grad();
        var grads = parameters.Select(p => p.grad).OfType<Tensor>().ToList();
        if (grads.Count == 0) return 0;
        var total = torch.stack(grads.Select(g => g.to(ScalarType.Float64).square().sum()).ToList()).sum().sqrt();
        var coefficient = (max_norm / (total + 1e-6)).clamp_max(1.0);
        foreach (var g in grads) g.mul_(coefficient.to(g.dtype));
        return total.ToDouble();
    }

    public void Dispose()
    {
        for (int i = 0; i < buckets.Count; i++)
            foreach (var t in StateTensors(i)) t.Dispose();
        foreach (var (rates, buffer) in buckets)
        {
            rates.Dispose();
            buffer.Dispose();
        }
        GC.SuppressFinalize(this);
    }
}
