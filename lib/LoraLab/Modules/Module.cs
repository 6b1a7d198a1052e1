using LoraLab.Torch;

namespace LoraLab.Modules;

/// <summary>
/// A network component with named parameters, buffers and child modules, as torch.nn.Module.
/// Names are dotted paths (model.layers.0.self_attn.q_proj.weight), so state dicts line up with
/// Hugging Face checkpoints. Parameters and buffers are detached from dispose scopes: the module
/// owns them and frees them in Dispose. Subclasses read their tensors and children by name
/// (Param("weight"), Child&lt;Linear&gt;("q_proj")) so that to(), LoRA injection and loading can
/// replace them without stale fields.
/// </summary>
public abstract class Module : IDisposable
{
    // Insertion-ordered: names come out in registration order, as in PyTorch.
    private readonly List<string> parameterOrder = new();
    private readonly Dictionary<string, Tensor?> parameterMap = new();
    private readonly List<string> bufferOrder = new();
    private readonly Dictionary<string, (Tensor tensor, bool persistent)> buffers = new();
    private readonly List<string> childOrder = new();
    private readonly Dictionary<string, Module> children = new();

    /// <summary>Training mode (dropout active) or evaluation mode.</summary>
    public bool training { get; private set; } = true;

    // ---- registration -----------------------------------------------------------------------

    /// <summary>Registers (or replaces, disposing the old one) a parameter; null registers an absent one (a Linear without bias).</summary>
    protected Tensor? RegisterParameter(string name, Tensor? tensor, bool requires_grad = true)
    {
        CheckName(name);
        if (tensor is not null)
        {
            tensor.DetachFromDisposeScope();
            if (tensor.dtype.IsFloatingPoint()) tensor.requires_grad = requires_grad;
        }
        if (parameterMap.TryGetValue(name, out var old)) { if (!ReferenceEquals(old, tensor)) old?.Dispose(); }
        else parameterOrder.Add(name);
        parameterMap[name] = tensor;
        return tensor;
    }

    /// <summary>Registers a buffer: state that is not trained. Non-persistent buffers stay out of state_dict.</summary>
    protected Tensor RegisterBuffer(string name, Tensor tensor, bool persistent = true)
    {
        CheckName(name);
        tensor.DetachFromDisposeScope();
        if (buffers.TryGetValue(name, out var old)) { if (!ReferenceEquals(old.tensor, tensor)) old.tensor.Dispose(); }
        else bufferOrder.Add(name);
        buffers[name] = (tensor, persistent);
        return tensor;
    }

    protected T RegisterModule<T>(string name, T module) where T : Module
    {
        CheckName(name);
        if (children.ContainsKey(name)) throw new ArgumentException($"a child module named '{name}' is already registered");
        childOrder.Add(name);
        children[name] = module;
        return module;
    }

    /// <summary>Puts `module` in place of the child `name` (LoRA injection). The old child is not disposed:
    /// the new one may have taken over its tensors.</summary>
    public void ReplaceModule(string name, Module module)
    {
        if (!children.ContainsKey(name)) throw new ArgumentException($"{GetType().Name} has no child module '{name}'", nameof(name));
        children[name] = module;
    }

    /// <summary>Replaces a parameter's tensor (disposing the old one), keeping its requires_grad.</summary>
    public void SetParameter(string name, Tensor tensor)
    {
        var old = parameterMap.TryGetValue(name, out var t) ? t : throw new ArgumentException($"{GetType().Name} has no parameter '{name}'", nameof(name));
        RegisterParameter(name, tensor, old?.requires_grad ?? true);
    }

    private static void CheckName(string name)
    {
        if (string.IsNullOrEmpty(name) || name.Contains('.')) throw new ArgumentException($"'{name}' is not a valid member name (empty, or contains '.')");
    }

    protected Tensor Param(string name) =>
        parameterMap.TryGetValue(name, out var t) && t is not null ? t : throw new InvalidOperationException($"{GetType().Name} has no parameter '{name}'");

    protected Tensor? OptionalParam(string name) => parameterMap.TryGetValue(name, out var t) ? t : null;

    protected Tensor Buffer(string name) => buffers[name].tensor;

    public T Child<T>(string name) where T : Module =>
        children.TryGetValue(name, out var m) ? (T)m : throw new InvalidOperationException($"{GetType().Name} has no child module '{name}'");

    // ---- traversal --------------------------------------------------------------------------

    public IEnumerable<(string name, Module module)> named_children() => childOrder.Select(n => (n, children[n]));

    /// <summary>This module (named "") and every descendant, depth first.</summary>
    public IEnumerable<(string name, Module module)> named_modules(string prefix = "")
    {
        yield return (prefix, this);
        foreach (var (name, child) in named_children())
            foreach (var item in child.named_modules(Join(prefix, name))) yield return item;
    }

    public IEnumerable<(string name, Tensor parameter)> named_parameters(bool recurse = true)
    {
        foreach (var (prefix, module) in recurse ? named_modules() : new[] { ("", this) })
            foreach (var name in module.parameterOrder)
                if (module.parameterMap[name] is { } p) yield return (Join(prefix, name), p);
    }

    private IEnumerable<Tensor> AllParameters() => named_parameters().Select(p => p.parameter);

    /// <summary>Every parameter (PyTorch's parameters()).</summary>
    public List<Tensor> parameters() => AllParameters().ToList();

    public IEnumerable<(string name, Tensor buffer)> named_buffers(bool persistentOnly = false)
    {
        foreach (var (prefix, module) in named_modules())
            foreach (var name in module.bufferOrder)
                if (!persistentOnly || module.buffers[name].persistent) yield return (Join(prefix, name), module.buffers[name].tensor);
    }

    private static string Join(string prefix, string name) => prefix.Length == 0 ? name : prefix + "." + name;

    // ---- state dicts ------------------------------------------------------------------------

    /// <summary>Parameters and persistent buffers by dotted name. The tensors are the module's own
    /// (not copies): read or save them, do not dispose them.</summary>
    public Dictionary<string, Tensor> state_dict()
    {
        var result = new Dictionary<string, Tensor>();
        foreach (var (name, p) in named_parameters()) result[name] = p;
        foreach (var (name, b) in named_buffers(persistentOnly: true)) result[name] = b;
        return result;
    }

    /// <summary>
    /// Copies values into this module's parameters and buffers (converting dtype and device).
    /// strict: every key must match and every shape agree, else an ArgumentException lists the
    /// missing and unexpected keys. Not strict: mismatched keys are skipped and returned.
    /// </summary>
    public (List<string> missing, List<string> unexpected) load_state_dict(IReadOnlyDictionary<string, Tensor> state, bool strict = true)
    {
        var own = state_dict();
        var missing = own.Keys.Where(k => !state.ContainsKey(k)).ToList();
        var unexpected = state.Keys.Where(k => !own.ContainsKey(k)).ToList();
        var wrongShape = own.Keys.Where(state.ContainsKey)
            .Where(k => !own[k].shape.SequenceEqual(state[k].shape))
            .Select(k => $"{k}: checkpoint {Shape(state[k])}, model {Shape(own[k])}").ToList();
        if (wrongShape.Count > 0)
            throw new ArgumentException("load_state_dict: shape mismatch for " + string.Join("; ", wrongShape), nameof(state));
        if (strict && (missing.Count > 0 || unexpected.Count > 0))
            throw new ArgumentException("load_state_dict (strict): " +
                (missing.Count > 0 ? $"missing keys: {string.Join(", ", missing)}. " : "") +
                (unexpected.Count > 0 ? $"unexpected keys: {string.Join(", ", unexpected)}." : ""), nameof(state));
        using (torch.no_grad())
            foreach (var (name, target) in own)
                if (state.TryGetValue(name, out var source))
                {
                    using var converted = source.to(target.device, target.dtype);
                    target.copy_(converted);
                }
        return (missing, unexpected);
    }

    private static string Shape(Tensor t) => "[" + string.Join(", ", t.shape) + "]";

    // ---- modes, devices, freezing -----------------------------------------------------------

    public Module train(bool mode = true)
    {
        foreach (var (_, m) in named_modules()) m.training = mode;
        return this;
    }

    public Module eval() => train(false);

    /// <summary>
    /// Runs an evaluation: in eval mode (no dropout) and without gradients, then puts the module back in the mode it
    /// was in, also when the evaluation throws.
    /// </summary>
    public T Evaluating<T>(Func<T> evaluation)
    {
        bool wasTraining = training;
        eval();
        try
        {
            using var noGrad = torch.no_grad();
            return evaluation();
        }
        finally { train(wasTraining); }
    }

    /// <summary>Moves every parameter and buffer to a device and/or floating dtype (integer buffers keep their dtype).
    /// Build optimizers after this: the parameters are new tensors.</summary>
    public Module to(Device device, ScalarType? dtype = null)
    {
        foreach (var (_, m) in named_modules())
        {
            foreach (var name in m.parameterOrder.ToList())
                if (m.parameterMap[name] is { } p)
                {
                    bool grad = p.requires_grad;
                    Tensor moved;
                    using (torch.no_grad())
                        moved = p.to(device, dtype is { } d && p.dtype.IsFloatingPoint() ? d : p.dtype, copy: true);
                    m.RegisterParameter(name, moved, grad);
                }
            foreach (var name in m.bufferOrder.ToList())
            {
                var (b, persistent) = m.buffers[name];
                using (torch.no_grad())
                    m.RegisterBuffer(name, b.to(device, dtype is { } d && b.dtype.IsFloatingPoint() ? d : b.dtype, copy: true), persistent);
            }
        }
        return this;
    }

    public Module to(ScalarType dtype) => to(AllParameters().FirstOrDefault()?.device ?? Device.CPU, dtype);

    /// <summary>Sets requires_grad on every parameter (false freezes the module).</summary>
    public Module requires_grad_(bool requires_grad = true)
    {
        foreach (var (_, p) in named_parameters()) p.requires_grad = requires_grad;
        return this;
    }

    public Module freeze() => requires_grad_(false);

    public long num_parameters(bool trainableOnly = false) =>
        named_parameters().Where(p => !trainableOnly || p.parameter.requires_grad).Sum(p => p.parameter.numel());

    /// <summary>Frees every parameter and buffer of this module and its descendants.</summary>
    public virtual void Dispose()
    {
        foreach (var (_, m) in named_modules())
        {
            foreach (var p in m.parameterMap.Values) p?.Dispose();
            foreach (var (b, _) in m.buffers.Values) b.Dispose();
        }
        GC.SuppressFinalize(this);
    }
}
