using System.Runtime.InteropServices;
using TorchSharp;
using static TorchSharp.torch;

namespace LoraLab.Optim;

/// <summary>
/// Parameters of one dtype and device kept as views into one contiguous buffer, and their gradients as views into
/// another, so that an optimizer updates them all with a handful of operations on two long tensors instead of a loop of
/// them per parameter: the flat-buffer (multi-tensor) technique of apex's optimizers and of DDP's gradient buckets.
///
/// The parameters keep their identity (the modules still hold them): each is re-pointed at its slice of the buffer
/// with set_, and its .grad is set to its slice of the gradient buffer, into which backward then accumulates in place.
/// For bf16/fp16 parameters a float32 master copy is what the optimizer updates; each step rounds it once into the
/// parameters. Build the optimizer after moving the model (to() makes new parameters), and after loading weights into a
/// bf16 model (the master copy is taken when the buffer is built).
/// </summary>
internal sealed class FlatBuffer : IDisposable
{
    private readonly (Tensor parameter, long offset, long numel)[] slices;
    private readonly IntPtr[] gradientAddresses;      // where each parameter's .grad must point

    public FlatBuffer(IReadOnlyList<Tensor> parameters)
    {
        if (parameters.Count == 0) throw new ArgumentException("a flat buffer needs at least one parameter", nameof(parameters));
        var (dtype, device) = (parameters[0].dtype, parameters[0].device);
        long total = 0;
        slices = parameters.Select(p =>
        {
            if (p.dtype != dtype || p.device_type != device.type || p.device_index != device.index) throw new ArgumentException("a flat buffer holds parameters of one dtype and device");
            if (!p.is_leaf) throw new ArgumentException("an optimizer updates leaf tensors only (a parameter, not the result of an operation)");
            var slice = (p, total, p.numel());
            total += p.numel();
            return slice;
        }).ToArray();

        using var noGrad = torch.no_grad();
        data = torch.empty(total, dtype, device).DetachFromDisposeScope();
        grad = torch.zeros(total, dtype, device).DetachFromDisposeScope();
        gradientAddresses = new IntPtr[slices.Length];
        for (int i = 0; i < slices.Length; i++)
        {
            var (p, offset, numel) = slices[i];
            using var view = data.narrow(0, offset, numel).view(p.shape);
            view.copy_(p);
            using (var existing = p.grad)                      // a gradient computed before the optimizer was built is kept
                if (existing is not null) grad.narrow(0, offset, numel).copy_(existing.reshape(-1));
            p.set_(view);
            Attach(i);
        }
        master = dtype is ScalarType.BFloat16 or ScalarType.Float16 ? data.to(ScalarType.Float32).DetachFromDisposeScope() : null;
    }

    public IReadOnlyList<Tensor> parameters => slices.Select(s => s.parameter).ToList();

    /// <summary>Every parameter, end to end (the parameters are views of it).</summary>
    public Tensor data { get; }

    /// <summary>Every gradient, end to end (each parameter's .grad is a view of it).</summary>
    public Tensor grad { get; }

    /// <summary>The float32 copy of bf16/fp16 parameters that the updates go to; null for float32/float64 parameters.</summary>
    public Tensor? master { get; }

    /// <summary>What an update changes: the master copy, or the parameters themselves.</summary>
    public Tensor weights => master ?? data;

    /// <summary>The dtype of the optimizer state and of the update arithmetic.</summary>
    public ScalarType stateDtype => weights.dtype;

    public long numel => data.numel();

    /// <summary>A zero tensor shaped like the buffer in the state dtype: optimizer state (moments, momentum).</summary>
    public Tensor NewState()
    {
        using var noGrad = torch.no_grad();
        return torch.zeros(numel, stateDtype, data.device).DetachFromDisposeScope();
    }

    public void ZeroGrad() => grad.zero_();

    /// <summary>
    /// Makes sure every parameter's gradient is its view of the buffer before a step, and returns the indices of the
    /// parameters that have no gradient (to leave untouched, as PyTorch's optimizers do). A gradient replaced by other
    /// code (p.grad = ..., or TorchSharp's Module.zero_grad(), which sets it to null) is copied in and re-attached.
    /// </summary>
    public List<int> GatherGradients()
    {
        var missing = new List<int>();
        for (int i = 0; i < slices.Length; i++)
        {
            var handle = Native.THSTensor_grad(slices[i].parameter.Handle);
            if (handle == IntPtr.Zero)
            {
                using (torch.no_grad()) grad.narrow(0, slices[i].offset, slices[i].numel).zero_();
                Attach(i);
                missing.Add(i);
                continue;
            }
            bool attached = Native.THSTensor_data(handle) == gradientAddresses[i];
            Native.THSTensor_dispose(handle);
            if (!attached)
            {
                using var foreign = slices[i].parameter.grad!;
                using (torch.no_grad()) grad.narrow(0, slices[i].offset, slices[i].numel).copy_(foreign.reshape(-1));
                Attach(i);
            }
        }
        return missing;
    }

    /// <summary>The gradient in the state dtype (a float32 copy for bf16/fp16 parameters).</summary>
    public Tensor GradientForUpdate() => master is null ? grad : grad.to(ScalarType.Float32);

    /// <summary>Rounds the master copy into the parameters (bf16/fp16); nothing to do otherwise.</summary>
    public void WriteBack()
    {
        if (master is not null) data.copy_(master);
    }

    /// <summary>The slice of a buffer-shaped tensor that belongs to parameter i, in its shape.</summary>
    public Tensor SliceOf(Tensor flat, int i) => flat.narrow(0, slices[i].offset, slices[i].numel).view(slices[i].parameter.shape);

    public (long offset, long numel) Range(int i) => (slices[i].offset, slices[i].numel);

    /// <summary>The index of a parameter in this buffer, or -1.</summary>
    public int IndexOf(Tensor parameter) => Array.FindIndex(slices, s => ReferenceEquals(s.parameter, parameter));

    private void Attach(int i)
    {
        var (p, offset, numel) = slices[i];
        using var view = grad.narrow(0, offset, numel).view(p.shape);
        p.grad = view;
        gradientAddresses[i] = Native.THSTensor_data(view.Handle);
    }

    public void Dispose()
    {
        data.Dispose();
        grad.Dispose();
        master?.Dispose();
    }

    // TorchSharp's own native entry points, for the two questions its managed API cannot answer cheaply: does this
    // parameter have a gradient, and where does it live (without wrapping it in a managed tensor each step).
    private static class Native
    {
        [DllImport("LibTorchSharp")] public static extern IntPtr THSTensor_grad(IntPtr tensor);
        [DllImport("LibTorchSharp")] public static extern IntPtr THSTensor_data(IntPtr tensor);
        [DllImport("LibTorchSharp")] public static extern void THSTensor_dispose(IntPtr tensor);
    }
}
