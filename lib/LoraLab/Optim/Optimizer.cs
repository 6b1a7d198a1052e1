using LoraLab.Torch;

namespace LoraLab.Optim;

/// <summary>Parameters updated with one learning rate and weight decay. lr is what the next step
/// uses; base_lr is the peak a schedule scales (Optimizer.SetSchedule sets lr = base_lr · factor).</summary>
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

/// <summary>
/// The optimizer protocol, as torch.optim: zero_grad(), step(). Each group's update is one native
/// call (torch.optim_kernels). State tensors are detached from dispose scopes, so a step inside a
/// training loop's scope never frees them; Dispose releases them.
/// </summary>
public abstract class Optimizer : IDisposable
{
    protected Optimizer(IEnumerable<ParamGroup> groups)
    {
        param_groups = groups.ToList();
        if (param_groups.Count == 0) throw new ArgumentException("an optimizer needs at least one parameter group", nameof(groups));
        var seen = new HashSet<Tensor>(ReferenceEqualityComparer.Instance);
        foreach (var g in param_groups)
            foreach (var p in g.parameters)
                if (!seen.Add(p)) throw new ArgumentException("a parameter appears in more than one group", nameof(groups));
    }

    public IReadOnlyList<ParamGroup> param_groups { get; }

    /// <summary>Steps taken so far.</summary>
    public long step_count { get; private set; }

    /// <summary>Sets every gradient to null (PyTorch's zero_grad(set_to_none=True)): the next backward allocates fresh ones.</summary>
    public void zero_grad()
    {
        foreach (var g in param_groups)
            foreach (var p in g.parameters) p.grad = null;
    }

    public void step()
    {
        for (int i = 0; i < param_groups.Count; i++) Step(i, param_groups[i]);
        step_count++;
    }

    protected abstract void Step(int index, ParamGroup group);

    /// <summary>Sets each group's lr to base_lr · factor (a schedule's value for this step).</summary>
    public void SetLrFactor(double factor)
    {
        foreach (var g in param_groups) g.lr = g.base_lr * factor;
    }

    /// <summary>Clips all gradients of all groups to a global 2-norm of max_norm; returns the norm before clipping.</summary>
    public double clip_grad_norm_(double max_norm) => ClipGradNorm(param_groups.SelectMany(g => g.parameters).ToList(), max_norm);

    public static double ClipGradNorm(IReadOnlyList<Tensor> parameters, double max_norm) => torch.optim_kernels.clip_grad_norm_(parameters, max_norm);

    /// <summary>How each step is computed (see OptimizerImpl): Auto uses libtorch's fused or multi-tensor
    /// kernels where they apply. LastImpl is what the latest step ran.</summary>
    public OptimizerImpl impl { get; set; } = OptimizerImpl.Auto;
    public OptimizerImpl LastImpl { get; protected set; } = OptimizerImpl.Auto;

    /// <summary>A zero tensor shaped like p, owned by the optimizer (outside every dispose scope). The state of a
    /// bf16/fp16 parameter is float32 (as mixed-precision training keeps it): its moments would otherwise
    /// round away small gradients, and the update is then computed in float32 and rounded once into p.</summary>
    protected static Tensor State(Tensor p)
    {
        using var _ = torch.no_grad();
        return torch.zeros(p.shape, StateDtype(p.dtype), p.device).DetachFromDisposeScope();
    }

    public static ScalarType StateDtype(ScalarType parameter) =>
        parameter is ScalarType.BFloat16 or ScalarType.Float16 ? ScalarType.Float32 : parameter;

    protected abstract IEnumerable<Tensor> StateTensors();

    public void Dispose()
    {
        foreach (var t in StateTensors()) t.Dispose();
        GC.SuppressFinalize(this);
    }
}
